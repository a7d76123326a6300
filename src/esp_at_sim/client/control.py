"""Control of a simulated module from another process (``esp-at-sim run --control``).

Unlike the AT client this is for simulated modules only: a real ESP32 has no such API.
It injects the faults of :mod:`esp_at_sim.device.faults` over HTTP and reads the
module's status and events::

    async with SimControl("http://127.0.0.1:9000/") as sim:
        await sim.fault("vanish", ap="HomeNet")
        print((await sim.status())["station_ip"])
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

import aiohttp

from .errors import AtClientError


class SimControlError(AtClientError):
    """The control API refused a request or could not be reached."""


class SimControl:
    """A client of one simulator's control API."""

    def __init__(self, url: str, *, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/") + "/"
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout))

    async def __aenter__(self) -> SimControl:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        await self._session.close()

    async def _call(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        try:
            async with self._session.request(method, self.url + path, json=body) as response:
                data: dict[str, Any] = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise SimControlError(f"control API at {self.url} failed: {exc}") from exc
        if response.status != 200 or data.get("ok") is False:
            raise SimControlError(str(data.get("error", f"HTTP {response.status}")))
        return data

    async def status(self) -> dict[str, Any]:
        """Boots, running firmware, Wi-Fi mode, station address, SoftAP stations."""
        return await self._call("GET", "status")

    async def fault(self, name: str, **args: Any) -> Any:
        """Inject a fault: ``vanish``/``appear`` (``ap``), ``change_password`` (``ap``,
        ``password``), ``refuse_joins`` (``ap``, ``count``), ``drop_link`` (``reason``),
        ``stall_dhcp`` (``ap``, ``on``), ``stall_upload`` (``on``), ``phone_join``
        (``mac``), ``phone_leave`` (``mac``). Returns the fault's result."""
        return (await self._call("POST", f"faults/{name}", args))["result"]

    async def events(self, after: int = 0) -> list[dict[str, Any]]:
        """The module's events numbered after ``after`` (each has ``n``, ``t``, ``kind``)."""
        data = await self._call("GET", f"events?after={after}")
        events: list[dict[str, Any]] = data["events"]
        return events
