"""The web server of an ESP-AT module (``AT+WEBSERVER``), real or simulated, as the stock
page and the WeChat applet speak to it: provisioning (``/getstainfo``, ``/setstainfo``,
``/getresult``) and OTA (``/getotainfo``, ``/setotadata``). Methods are named after the
endpoints::

    async with WebApi("http://192.168.4.1") as web:
        await web.setstainfo("HomeNet", "sunflower42")
        print((await web.getstainfo())["message"])
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterable
from typing import Any

from .http import REQUEST_TIMEOUT, HttpApiError, HttpSession, base_url

MAX_SSID, MAX_PASSWORD, MAX_BODY = 32, 64, 320  # bytes, as the firmware takes them


class WebApiError(HttpApiError):
    """The module's web server could not be reached, or does not answer like one."""


def stainfo_body(ssid: str, password: str, udp_port: int | None = None) -> bytes:
    """The ``/setstainfo`` body: the stock page's JSON, then the applet's
    ``&udp_port=N``. :class:`ValueError` when the module would not take it."""
    ssid_raw, password_raw = ssid.encode(), password.encode()
    if len(ssid_raw) > MAX_SSID:
        raise ValueError(f"the SSID is {len(ssid_raw)} bytes long; at most {MAX_SSID}")
    if len(password_raw) > MAX_PASSWORD:
        raise ValueError(f"the password is over {MAX_PASSWORD} bytes long")
    if udp_port is not None and not 0 <= udp_port <= 65535:
        raise ValueError(f"UDP port {udp_port}: not a port number")
    fields = {
        "ssid": ssid,
        "password": password,
        "ssid_len": len(ssid_raw),
        "password_len": len(password_raw),
    }
    body = json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode()
    if udp_port is not None:
        body += b"&udp_port=%d" % udp_port
    if len(body) >= MAX_BODY:
        raise ValueError(f"the request would be {len(body)} bytes; the module takes < {MAX_BODY}")
    return body


class WebApi(HttpSession):
    """A client of one module's web server at ``url`` (``http://`` may be left out).

    Every method raises :class:`WebApiError` when the server cannot be reached; the
    ``get…`` methods also when the answer is not what an ESP-AT web server sends.
    """

    def __init__(self, url: str, *, read_timeout: float = REQUEST_TIMEOUT) -> None:
        try:
            base = base_url(url)
        except ValueError as exc:
            raise WebApiError(str(exc)) from None
        super().__init__(base, read_timeout=read_timeout)

    def unreachable(self, reason: str) -> WebApiError:
        return WebApiError(f"no answer from the module at {self.base} ({reason})")

    async def getstainfo(self) -> dict[str, Any]:
        """``GET /getstainfo``: ``state``, ``message`` and what goes with them."""
        status, data = await self.request("GET", "/getstainfo")
        if status != 200 or data is None or not isinstance(data.get("state"), int):
            raise WebApiError(f"{self.base} does not answer like an ESP-AT web server")
        return data

    async def setstainfo(self, ssid: str, password: str, udp_port: int | None = None) -> int:
        """``POST /setstainfo`` with :func:`stainfo_body`; the HTTP status (200: the
        module connects; 400: it refused, e.g. not in mode 3 or busy)."""
        body = stainfo_body(ssid, password, udp_port)
        headers = {"Content-Type": "application/json"}
        status, _ = await self.request("POST", "/setstainfo", data=body, headers=headers)
        return status

    async def getresult(self) -> int:
        """``POST /getresult`` with ``received=1`` (the page has seen the result); the
        HTTP status."""
        status, _ = await self.request("POST", "/getresult", data={"received": "1"})
        return status

    async def getotainfo(self) -> dict[str, Any]:
        """``GET /getotainfo``: versions and the partitions an upload may name."""
        status, data = await self.request("GET", "/getotainfo")
        if status != 200 or data is None:
            raise WebApiError(f"{self.base} does not answer /getotainfo like an ESP-AT web server")
        return data

    async def setotadata(self, partition: str, data: AsyncIterable[bytes], size: int) -> int:
        """``POST /setotadata`` of ``size`` bytes to ``partition`` (``ota``: the next
        app slot; or a user partition's label); the HTTP status (200 accepted, 500
        rejected, 409 another upload runs)."""
        status, _ = await self.setotadata_answer(partition, data, size)
        return status

    async def setotadata_answer(
        self, partition: str, data: AsyncIterable[bytes], size: int
    ) -> tuple[int, dict[str, Any]]:
        """:meth:`setotadata`, with the answer's JSON object as well (``{}`` when there
        is none). esp-at-sim's refusals say why: ``reason``, ``error``, ``erased``."""
        headers = {
            "Object": partition,
            "Content-Type": "application/octet-stream",
            "Content-Length": str(size),
        }
        status, answer = await self.request("POST", "/setotadata", data=data, headers=headers)
        return status, answer or {}
