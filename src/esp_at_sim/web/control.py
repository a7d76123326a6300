"""The control API of a simulated module (``run --control``): inject faults and look at
the module from a test that drives it from outside the process.

- ``GET /status`` — boots, running firmware, Wi-Fi mode, station address, SoftAP
  stations, the radio backend and the faults it takes.
- ``POST /faults/<name>`` with a JSON object of arguments — inject a fault
  (:mod:`esp_at_sim.device.faults`); 200 ``{"ok": true, "result": …}``.
- ``GET /events?after=N`` — the module's events numbered from 1, those after ``N``
  (the last 10,000 are kept).

A fleet (``esp-at-sim fleet --control``) has ``GET /modules``, the state of each module,
``GET /modules/stream``, what the list page shows of each module (``GLANCE``) as
server-sent events (``modules``: the whole list, then ``changed``: the modules that
changed since the last message, at most one message per ``LIST_INTERVAL``), and each
module's endpoints and inspector under ``/modules/<i>/`` (:class:`FleetControlServer`).

Every request needs ``Authorization: Bearer TOKEN`` (401 otherwise); one that carries
an ``Origin`` other than the server's own is refused (403), so that no web page can
use it; arguments are checked against the fault's signature. Every refusal is a JSON
``{"ok": false, "error": "…"}`` (:mod:`.control_checks`).

``GET /`` is the inspector, a live page of the module (:mod:`.inspector`); a fleet's is
the list of its modules, each opening its inspector at ``/modules/<i>/``. The pages and
their files are the only things served without the token.
"""

from __future__ import annotations

import asyncio
import secrets
from collections import deque
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from aiohttp import web

from ..core.events import Event
from ..device.faults import FaultError
from ..radio.base import SoftApStation
from .control_checks import (
    BODY_LIMIT,
    Guard,
    Refused,
    fault_arguments,
    json_response,
    url_host,
)
from .inspector import (
    Inspector,
    add_page_routes,
    is_public,
    next_turn,
    open_stream,
    sse_message,
)

if TYPE_CHECKING:
    from ..device.module import Module

EVENTS_KEPT = 10_000
LIST_INTERVAL = 0.25  # seconds between two messages of the fleet's list stream, at least
# What the fleet's list stream says of each module.
GLANCE = frozenset(
    ("index", "state", "error", "firmware", "wifi_mode", "station_ip", "softap_stations", "web_url")
)


def new_token() -> str:
    """A fresh random access token (URL-safe)."""
    return secrets.token_urlsafe(24)


class _Watched:
    """One module seen through the control API: the module and its numbered events."""

    def __init__(self, module: Module) -> None:
        self.module = module
        self.events: deque[tuple[int, Event]] = deque(maxlen=EVENTS_KEPT)
        self.count = 0
        self.on_event: Callable[[], None] | None = None  # told after each event is kept
        self.inspector: Inspector | None = None  # the page's API, once it is asked for
        self.unsubscribe = module.bus.subscribe(self._keep)

    def _keep(self, event: Event) -> None:
        self.count += 1
        self.events.append((self.count, event))
        if self.on_event is not None:
            self.on_event()

    def status(self) -> dict[str, object]:
        m = self.module
        running = m.firmware.running if m.firmware is not None else None
        ip = m.wifi.station_ip()
        return {
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


class ControlServer:
    """An aiohttp server on the side of one module, for the holder of ``token``."""

    def __init__(self, module: Module, token: str) -> None:
        self.module = module
        self._setup(token, [module])
        watched = self._watched[0]
        assert watched is not None
        inspector = Inspector(module, lambda: watched.events)
        watched.inspector = inspector
        watched.on_event = inspector.happened
        self.inspector = inspector

    def _setup(self, token: str, modules: Sequence[Module | None]) -> None:
        self.token = token
        self._runner: web.AppRunner | None = None
        self._guard = Guard(token, public=is_public)
        self.port = 0
        self.base = ""
        self._watched: list[_Watched | None] = [
            _Watched(m) if m is not None else None for m in modules
        ]

    @property
    def url(self) -> str:
        """Where it listens, with the token: ``http://HOST:PORT/#token=TOKEN``."""
        return f"{self.base}/#token={self.token}"

    def app(self) -> web.Application:
        app = web.Application(middlewares=self._guard.middlewares(), client_max_size=BODY_LIMIT)
        self._add_routes(app, "")
        Inspector.add_routes(app, "", lambda request: self.inspector)
        add_page_routes(app, {"/": "index.html"})
        return app

    def _add_routes(self, app: web.Application, prefix: str) -> None:
        """The endpoints of one module, under ``prefix``."""
        app.router.add_get(f"{prefix}/status", self._status)
        app.router.add_post(f"{prefix}/faults/{{name}}", self._fault)
        app.router.add_get(f"{prefix}/events", self._list_events)

    def _target(self, request: web.Request) -> _Watched:
        """The module a request is about."""
        watched = self._watched[0]
        assert watched is not None
        return watched

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
        for watched in self._watched:
            if watched is not None:
                watched.unsubscribe()
                if watched.inspector is not None:
                    watched.inspector.close()
        self._watched = [None] * len(self._watched)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _status(self, request: web.Request) -> web.Response:
        return json_response(self._target(request).status())

    async def _fault(self, request: web.Request) -> web.Response:
        module = self._target(request).module
        name = request.match_info["name"]
        args = await fault_arguments(request, module.faults, name)
        try:
            result = module.faults.apply(name, **args)
        except (FaultError, ValueError) as exc:
            return json_response({"ok": False, "error": str(exc)}, 400)
        if isinstance(result, SoftApStation):
            result = {"mac": result.mac, "ip": result.ip}
        return json_response({"ok": True, "result": result})

    async def _list_events(self, request: web.Request) -> web.Response:
        watched = self._target(request)
        text = request.query.get("after", "0")
        if not (text.isascii() and text.isdigit()) or len(text) > 18:
            return json_response({"ok": False, "error": "after must be a whole number"}, 400)
        after = int(text)
        items = [
            {"n": n, "t": e.t, "kind": e.kind, **e.data} for n, e in watched.events if n > after
        ]
        return json_response({"ok": True, "events": items, "last": watched.count})


class _ListWatch:
    """One open stream of the fleet's list: the modules changed since its last message."""

    def __init__(self) -> None:
        self.changed: set[int] = set()
        self.wake = asyncio.Event()


class FleetControlServer(ControlServer):
    """The control API of a fleet: ``GET /modules`` lists the modules, and each has the
    endpoints of :class:`ControlServer` and the inspector under ``/modules/<i>``. A module
    that could not be made (``None`` in ``modules``) or failed later (:meth:`failed`) is
    listed with its error; its endpoints answer 404 with it.

    Nothing is done for a module nobody looks at: its inspector is made when first asked
    for, and an event only marks it changed for the list streams open (one for a page)."""

    def __init__(self, modules: Sequence[Module | None], token: str) -> None:
        self._setup(token, modules)
        self._errors: dict[int, str] = {
            i: "the module could not be made" for i, m in enumerate(modules) if m is None
        }
        self._lists: set[_ListWatch] = set()
        self._closing = False
        for index, watched in enumerate(self._watched):
            if watched is not None:
                watched.on_event = self._happened(index, watched)

    def _happened(self, index: int, watched: _Watched) -> Callable[[], None]:
        def told() -> None:
            if watched.inspector is not None:
                watched.inspector.happened()
            self._changed(index)

        return told

    def _changed(self, index: int) -> None:
        for watch in self._lists:
            watch.changed.add(index)
            watch.wake.set()

    def failed(self, index: int, error: str) -> None:
        """Module ``index`` failed (its flash file, a script line): list it so."""
        self._errors[index] = error
        self._changed(index)

    def app(self) -> web.Application:
        app = web.Application(middlewares=self._guard.middlewares(), client_max_size=BODY_LIMIT)
        app.router.add_get("/modules", self._list_modules)
        app.router.add_get("/modules/stream", self._stream_modules)
        self._add_routes(app, "/modules/{index}")
        Inspector.add_routes(app, "/modules/{index}", self._inspector)
        add_page_routes(app, {"/": "fleet.html", "/modules/{index:[0-9]+}/": "index.html"})
        return app

    def _target(self, request: web.Request) -> _Watched:
        text = request.match_info["index"]
        count = len(self._watched)
        if not (text.isascii() and text.isdigit()) or len(text) > 9 or int(text) >= count:
            raise Refused(404, f"no module {text!r}: the fleet has modules 0..{count - 1}")
        index = int(text)
        watched = self._watched[index]
        if index in self._errors or watched is None:
            raise Refused(404, f"module {index} failed: {self._errors.get(index, 'closed')}")
        return watched

    def _inspector(self, request: web.Request) -> Inspector:
        watched = self._target(request)
        if watched.inspector is None:
            watched.inspector = Inspector(
                watched.module, lambda: watched.events, flash_since="opened"
            )
        return watched.inspector

    def _entry(self, index: int) -> dict[str, object]:
        """What the list says of module ``index``."""
        watched = self._watched[index]
        if index in self._errors or watched is None:
            error = self._errors.get(index, "closed")
            return {"index": index, "state": "failed", "error": error}
        status = watched.status()
        state = "running" if status["booted"] else "starting"
        return {"index": index, "state": state, **status}

    def _glance(self, index: int) -> dict[str, object]:
        """What the list page shows of module ``index`` (the entry without what it does
        not show, such as the faults, which make up most of an entry)."""
        entry = self._entry(index)
        return {key: value for key, value in entry.items() if key in GLANCE}

    async def _list_modules(self, request: web.Request) -> web.Response:
        listing = [self._entry(index) for index in range(len(self._watched))]
        return json_response({"ok": True, "modules": listing})

    async def _stream_modules(self, request: web.Request) -> web.StreamResponse:
        response = await open_stream(request)
        watch = _ListWatch()
        self._lists.add(watch)
        try:
            everything = [self._glance(index) for index in range(len(self._watched))]
            await response.write(sse_message("modules", everything))
            while True:
                await next_turn(watch.wake, LIST_INTERVAL)
                if self._closing:
                    break
                watch.wake.clear()
                changed, watch.changed = sorted(watch.changed), set()
                await response.write(sse_message("changed", [self._glance(i) for i in changed]))
            await response.write_eof()
        except ConnectionError:
            pass  # the page went away
        finally:
            self._lists.discard(watch)
        return response

    async def close(self) -> None:
        self._closing = True
        for watch in self._lists:
            watch.wake.set()
        await super().close()
