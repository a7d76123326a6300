"""The control API of a simulated module (``run --control``): inject faults and look at
the module from a test that drives it from outside the process.

- ``GET /status`` — boots, running firmware, Wi-Fi mode, station address, SoftAP
  stations, the radio backend and the faults it takes.
- ``POST /faults/<name>`` with a JSON object of arguments — inject a fault
  (:mod:`esp_at_sim.device.faults`); 200 ``{"ok": true, "result": …}`` or 400 with
  ``{"ok": false, "error": "…"}``.
- ``GET /events?after=N`` — the module's events numbered from 1, those after ``N``
  (the last 10,000 are kept).

It listens on loopback by default and has no authentication: it controls a simulator.
"""

from __future__ import annotations

import json
from collections import deque
from typing import TYPE_CHECKING, Any

from aiohttp import web

from ..core.events import Event
from ..device.faults import FaultError
from ..radio.base import SoftApStation

if TYPE_CHECKING:
    from ..device.module import Module

EVENTS_KEPT = 10_000


def _json(data: object, status: int = 200) -> web.Response:
    return web.Response(
        text=json.dumps(data, default=str), status=status, content_type="application/json"
    )


class ControlServer:
    """An aiohttp server on the side of one module."""

    def __init__(self, module: Module) -> None:
        self.module = module
        self._events: deque[tuple[int, Event]] = deque(maxlen=EVENTS_KEPT)
        self._count = 0
        self._unsubscribe = module.bus.subscribe(self._keep)
        self._runner: web.AppRunner | None = None
        self.port = 0

    def _keep(self, event: Event) -> None:
        self._count += 1
        self._events.append((self._count, event))

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/status", self._status)
        app.router.add_post("/faults/{name}", self._fault)
        app.router.add_get("/events", self._list_events)
        return app

    async def start(self, host: str, port: int) -> str:
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        addresses = self._runner.addresses  # the real port when 0 was asked for
        self.port = int(addresses[0][1]) if addresses else port
        return f"http://{host}:{self.port}/"

    async def close(self) -> None:
        self._unsubscribe()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _status(self, request: web.Request) -> web.Response:
        m = self.module
        running = m.firmware.running if m.firmware is not None else None
        ip = m.wifi.station_ip()
        web_server = m.services.get("web")
        return _json(
            {
                "booted": m.booted.is_set(),
                "boot_count": m.boot_count,
                "time": m.clock.now(),
                "firmware": {"slot": running.slot, "version": running.version} if running else None,
                "wifi_mode": m.wifi.mode,
                "station_ip": ip.ip if ip else None,
                "softap_stations": [{"mac": s.mac, "ip": s.ip} for s in m.wifi.softap_stations()],
                "web_url": getattr(web_server, "url", None),
                "radio": m.radio_name,
                "faults": list(m.faults.available),
            }
        )

    async def _fault(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        try:
            args: Any = await request.json() if request.can_read_body else {}
        except ValueError:
            return _json({"ok": False, "error": "the body is not JSON"}, 400)
        if not isinstance(args, dict):
            return _json({"ok": False, "error": "the body must be a JSON object"}, 400)
        try:
            result = self.module.faults.apply(name, **args)
        except FaultError as exc:
            return _json({"ok": False, "error": str(exc)}, 400)
        if isinstance(result, SoftApStation):
            result = {"mac": result.mac, "ip": result.ip}
        return _json({"ok": True, "result": result})

    async def _list_events(self, request: web.Request) -> web.Response:
        try:
            after = int(request.query.get("after", "0"))
        except ValueError:
            return _json({"ok": False, "error": "after must be a number"}, 400)
        items = [{"n": n, "t": e.t, "kind": e.kind, **e.data} for n, e in self._events if n > after]
        return _json({"ok": True, "events": items, "last": self._count})
