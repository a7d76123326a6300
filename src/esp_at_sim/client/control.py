"""Control of a simulated module from another process (``esp-at-sim run --control``).

Unlike the AT client this is for simulated modules only: a real ESP32 has no such API.
It injects the faults of :mod:`esp_at_sim.device.faults` over HTTP and reads the
module's status and events. Give it the URL ``run`` prints (its ``#token=`` carries the
access token), or the URL and the token::

    async with SimControl("http://127.0.0.1:9000/#token=3f9c…") as sim:
        await sim.fault("vanish", ap="HomeNet")
        print((await sim.status())["station_ip"])

For a fleet (``esp-at-sim fleet --control``), ``module=i`` aims every call at module
``i``; :meth:`SimControl.modules` lists the fleet.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .http import REQUEST_TIMEOUT, HttpApiError, HttpSession, base_url

TOKEN_ENV = "ESP_AT_SIM_CONTROL_TOKEN"


class SimControlError(HttpApiError):
    """The control API refused a request or could not be reached."""


def split_control_url(url: str) -> tuple[str, str | None]:
    """``http://HOST:PORT/#token=T`` → (``http://HOST:PORT``, ``T``); the token is
    ``None`` when the URL has none."""
    try:
        base = base_url(url)
    except ValueError as exc:
        raise SimControlError(str(exc)) from None
    tokens = parse_qs(urlsplit(url).fragment).get("token")
    return base, tokens[0] if tokens else None


class SimControl(HttpSession):
    """A client of one simulator's control API.

    ``token`` is the access token; without it, the one in the URL's ``#token=``, else
    the environment's ``ESP_AT_SIM_CONTROL_TOKEN``. ``module``: module ``i`` of a fleet.
    """

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        timeout: float = REQUEST_TIMEOUT,
        module: int | None = None,
    ) -> None:
        base, in_url = split_control_url(url)
        token = token or in_url or os.environ.get(TOKEN_ENV)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        super().__init__(base, read_timeout=timeout, total=timeout, headers=headers)
        self.url = base + "/"
        self._prefix = f"modules/{module}/" if module is not None else ""

    def unreachable(self, reason: str) -> SimControlError:
        return SimControlError(f"control API at {self.url} failed: {reason}")

    async def _call(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        status, data = await self.request(method, "/" + path, json=body)
        if status != 200 or data is None or data.get("ok") is False:
            error = data.get("error") if data is not None else None
            raise SimControlError(str(error or f"HTTP {status}"))
        return data

    async def status(self) -> dict[str, Any]:
        """Boots, running firmware, Wi-Fi mode, station address, SoftAP stations."""
        return await self._call("GET", self._prefix + "status")

    async def fault(self, name: str, **args: Any) -> Any:
        """Inject a fault: ``vanish``/``appear`` (``ap``), ``change_password`` (``ap``,
        ``password``), ``refuse_joins`` (``ap``, ``count``), ``drop_link`` (``reason``),
        ``stall_dhcp`` (``ap``, ``on``), ``stall_upload`` (``on``), ``phone_join``
        (``mac``), ``phone_leave`` (``mac``), ``smartconfig`` (``ssid``, ``password``,
        ``protocol``, ``key``, ``data``), ``wps_button`` (``ap``), and those of the data
        path. Returns the fault's result."""
        return (await self._call("POST", f"{self._prefix}faults/{name}", args))["result"]

    async def events(self, after: int = 0) -> list[dict[str, Any]]:
        """The module's events numbered after ``after`` (each has ``n``, ``t``, ``kind``)."""
        data = await self._call("GET", f"{self._prefix}events?after={after}")
        events: list[dict[str, Any]] = data["events"]
        return events

    async def modules(self) -> list[dict[str, Any]]:
        """A fleet's modules: each with ``index`` and ``state`` (``running``,
        ``starting`` or ``failed`` with its ``error``) and, unless failed, its status."""
        modules: list[dict[str, Any]] = (await self._call("GET", "modules"))["modules"]
        return modules
