"""The control API of a simulated module (``run --control``): inject faults and look at
the module from a test that drives it from outside the process.

- ``GET /status`` — boots, running firmware, Wi-Fi mode, station address, SoftAP
  stations, the radio backend and the faults it takes.
- ``POST /faults/<name>`` with a JSON object of arguments — inject a fault
  (:mod:`esp_at_sim.device.faults`); 200 ``{"ok": true, "result": …}``.
- ``GET /events?after=N`` — the module's events numbered from 1, those after ``N``
  (the last 10,000 are kept).

Every request needs ``Authorization: Bearer TOKEN`` (401 otherwise); one that carries
an ``Origin`` other than the server's own is refused (403), so that no web page can
use it; arguments are checked against the fault's signature. Every refusal is a JSON
``{"ok": false, "error": "…"}`` (:mod:`.control_checks`).

``GET /`` is the inspector, a live page of the module (:mod:`.inspector`): the page and
its files are the only things served without the token.
"""

from __future__ import annotations

import secrets
from collections import deque
from typing import TYPE_CHECKING

from aiohttp import web

from ..core.events import Event
from ..device.faults import FaultError
from ..radio.base import SoftApStation
from .control_checks import BODY_LIMIT, Guard, fault_arguments, json_response, url_host
from .inspector import Inspector, is_public

if TYPE_CHECKING:
    from ..device.module import Module

EVENTS_KEPT = 10_000


def new_token() -> str:
    """A fresh random access token (URL-safe)."""
    return secrets.token_urlsafe(24)


class ControlServer:
    """An aiohttp server on the side of one module, for the holder of ``token``."""

    def __init__(self, module: Module, token: str) -> None:
        self.module = module
        self.token = token
        self._events: deque[tuple[int, Event]] = deque(maxlen=EVENTS_KEPT)
        self._count = 0
        self._unsubscribe = module.bus.subscribe(self._keep)
        self._runner: web.AppRunner | None = None
        self._guard = Guard(token, public=is_public)
        self.inspector = Inspector(module, lambda: self._events)
        self.port = 0
        self.base = ""

    @property
    def url(self) -> str:
        """Where it listens, with the token: ``http://HOST:PORT/#token=TOKEN``."""
        return f"{self.base}/#token={self.token}"

    def _keep(self, event: Event) -> None:
        self._count += 1
        self._events.append((self._count, event))
        self.inspector.happened()

    def app(self) -> web.Application:
        app = web.Application(middlewares=self._guard.middlewares(), client_max_size=BODY_LIMIT)
        app.router.add_get("/status", self._status)
        app.router.add_post("/faults/{name}", self._fault)
        app.router.add_get("/events", self._list_events)
        self.inspector.add_routes(app)
        return app

    async def start(self, host: str, port: int) -> str:
        """Listen on ``host``:``port`` (0: a free port); the :attr:`url`."""
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        addresses = self._runner.addresses  # the real port when 0 was asked for
        self.port = int(addresses[0][1]) if addresses else port
        self.base = f"http://{url_host(host)}:{self.port}"
        self._guard.allow_origins(host, self.port)
        return self.url

    async def close(self) -> None:
        self._unsubscribe()
        self.inspector.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _status(self, request: web.Request) -> web.Response:
        m = self.module
        running = m.firmware.running if m.firmware is not None else None
        ip = m.wifi.station_ip()
        return json_response(
            {
                "booted": m.booted.is_set(),
                "boot_count": m.boot_count,
                "time": round(m.clock.now(), 6),
                "firmware": {"slot": running.slot, "version": running.version} if running else None,
                "wifi_mode": m.wifi.mode,
                "station_ip": ip.ip if ip else None,
                "softap_stations": [{"mac": s.mac, "ip": s.ip} for s in m.wifi.softap_stations()],
                "web_url": m.web.url if m.web is not None else None,
                "radio": m.radio_name,
                "faults": list(m.faults.available),
            }
        )

    async def _fault(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        args = await fault_arguments(request, self.module.faults, name)
        try:
            result = self.module.faults.apply(name, **args)
        except (FaultError, ValueError) as exc:
            return json_response({"ok": False, "error": str(exc)}, 400)
        if isinstance(result, SoftApStation):
            result = {"mac": result.mac, "ip": result.ip}
        return json_response({"ok": True, "result": result})

    async def _list_events(self, request: web.Request) -> web.Response:
        text = request.query.get("after", "0")
        if not (text.isascii() and text.isdigit()) or len(text) > 18:
            return json_response({"ok": False, "error": "after must be a whole number"}, 400)
        after = int(text)
        items = [{"n": n, "t": e.t, "kind": e.kind, **e.data} for n, e in self._events if n > after]
        return json_response({"ok": True, "events": items, "last": self._count})
