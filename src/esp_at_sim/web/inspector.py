"""The inspector: a live page of one module served by the control API (``run --control``,
and for each module of ``fleet --control`` under ``/modules/<i>/``, whose ``/`` is the
fleet's list, see :mod:`.control`).

``GET /`` (a fleet's module: ``GET /modules/<i>/``) is the page and ``GET /inspector/<file>``
its scripts and style (``static_inspector`` next to this module); they carry nothing
secret, so they are served without the token, which the page reads from its URL fragment
(``#token=…``, never sent to any server) and sends as a bearer token with every call below
(a fleet's module: each under ``/modules/<i>``, where the page takes its API base from):

- ``GET /state`` — the module as the page shows it (:func:`snapshot`).
- ``GET /flash?secrets=0|1`` — the flash map (:mod:`.inspector_flash`), ``null`` without
  flash.
- ``GET /stream?after=N`` — server-sent events: ``state`` (the snapshot, again whenever
  something happened), ``events`` (the module's events numbered after ``N``, at most
  ``STREAM_BATCH`` per message, one message per ``STREAM_INTERVAL`` at most) and
  ``skipped`` (``{"count": K}``: K older events of a flood that were not sent).
- ``POST /at`` with ``{"line": "AT+GMR"}`` — the line goes into the AT port as if the
  host had typed it; its answer comes back through the stream (and to the host).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from ..core.events import Event
from ..radio.sim import SimRadio
from .control_checks import Refused, json_response
from .inspector_flash import FlashWatch

if TYPE_CHECKING:
    from ..device.module import Module

STATIC_DIR = Path(__file__).resolve().parent / "static_inspector"
PAGE_FILES = ("inspector.js", "inspector.css", "i18n.js", "page.js", "fleet.js")
# The pages: the module's (at / or a fleet's /modules/<i>/) and the fleet's list (at /).
PAGE_PATHS = re.compile(r"/(modules/[0-9]{1,9}/)?")
LINE_LIMIT = 2048  # characters in a line typed on the page
STREAM_BATCH = 500  # events sent at most per message (older ones are counted, not sent)
STREAM_INTERVAL = 0.05  # seconds between two messages of a stream, at least
# The page allows itself nothing from elsewhere.
PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


def is_public(request: web.Request) -> bool:
    """The page and its files: served to anyone (they hold no state and no token)."""
    if request.method not in ("GET", "HEAD"):
        return False
    path = request.path
    return PAGE_PATHS.fullmatch(path) is not None or path.removeprefix("/inspector/") in PAGE_FILES


def snapshot(module: Module) -> dict[str, Any]:
    """What the page's module panel shows, all read from the module."""
    m = module
    firmware = m.firmware
    running = firmware.running if firmware is not None else None
    following = firmware.pending() if firmware is not None else None
    sta = m.wifi.sta
    link = sta.assoc.ap if sta.assoc is not None else None
    ip = m.wifi.station_ip()
    ap = m.wifi.ap
    web_service = m.web
    web_config = getattr(web_service, "config", None)
    return {
        "chip": m.identity.chip,
        "name": m.identity.name,
        "at_version": m.identity.at_version,
        "layout": firmware.flash.layout.name if firmware is not None else None,
        "booted": m.booted.is_set(),
        "boot_count": m.boot_count,
        "time": round(m.clock.now(), 3),
        "time_scale": m.clock.scale,
        "firmware": (
            {"slot": running.slot, "version": running.version, "ota_state": running.ota_state}
            if running is not None
            else None
        ),
        "next_boot": (
            {"slot": following.slot, "version": following.version}
            if following is not None
            else None
        ),
        "wifi_mode": m.wifi.mode,
        "station": {
            "state": sta.state.name,
            "ssid": link.ssid.decode("utf-8", "replace") if link is not None else None,
            "bssid": link.bssid if link is not None else None,
            "channel": link.channel if link is not None else None,
            "rssi": link.rssi if link is not None else None,
            "ip": ip.ip if ip is not None else None,
            "gateway": ip.gateway if ip is not None else None,
            "mac": m.wifi.sta_mac,
        },
        "softap": {
            "running": ap.running,
            "ssid": ap.settings.ssid.decode("utf-8", "replace"),
            "channel": ap.settings.channel,
            "ip": ap.address.ip,
            "mac": m.wifi.ap_mac,
            "stations": [{"mac": s.mac, "ip": s.ip} for s in m.wifi.softap_stations()],
        },
        "web": {
            "running": web_service is not None and web_service.url is not None,
            "url": web_service.url if web_service is not None else None,
            "captive_portal": bool(getattr(web_config, "captive_portal", False)),
        },
        "radio": m.radio_name,
        "faults": list(m.faults.available),
        "world": world(m),
        "connections": connections(m),
        "tcp_server": tcp_server(m),
        "passthrough": passthrough(m),
    }


def connections(module: Module) -> list[dict[str, Any]]:
    """The data plane's links as the link table holds them now: ID, type, remote, state
    (``open``, or ``closing`` while unread data holds back a remote's close), whether a
    server accepted it or passthrough mode owns it, and the bytes each way."""
    links = module.links
    owner = module.passthrough.link if module.passthrough.active else None
    return [
        {
            "id": link.id,
            "type": link.kind,
            "remote_ip": link.remote_ip,
            "remote_port": link.remote_port,
            "local_port": link.local_port,
            "server": link.server,
            "state": "closing" if link.remote_closed else "open",
            "passthrough": link is owner,
            "sent": link.sent,
            "received": link.received,
            "unread": len(link.buffer) + len(link.backlog),
        }
        for link in links.open_links()
    ]


def tcp_server(module: Module) -> dict[str, Any] | None:
    """The AT+CIPSERVER listener, ``None`` when none listens."""
    servers = module.servers
    config = servers.config
    if config is None:
        return None
    clients = sum(1 for link in module.links.open_links() if link.server)
    return {
        "port": config.port,
        "type": config.kind,
        "clients": clients,
        "max_conn": servers.max_conn,
        "timeout": servers.timeout,
    }


def passthrough(module: Module) -> dict[str, Any] | None:
    """Passthrough mode while it is on: its link, ``None`` while it connects again."""
    mode = module.passthrough
    if not mode.active:
        return None
    link = mode.link
    held = link is not None and module.links.get(link.id) is link
    return {"link": link.id if held and link is not None else None}


def world(module: Module) -> dict[str, Any] | None:
    """The simulated air and network (``None`` on another radio backend)."""
    radio = module.radio
    if not isinstance(radio, SimRadio):
        return None
    link = radio.link
    joined = link.ap.bssid if link is not None else None
    scenario = radio.scenario
    return {
        "aps": [
            {
                "ssid": ap.ssid,
                "bssid": ap.bssid,
                "channel": ap.channel,
                "rssi": ap.rssi,
                "auth": ap.auth.name,
                "hidden": ap.hidden,
                "present": radio.is_visible(ap.bssid),
                "joined": ap.bssid == joined,
            }
            for ap in radio.access_points
        ],
        "phones": [{"mac": phone.mac, "hostname": phone.hostname} for phone in scenario.phones],
        "routes": [
            {"device": str(device), "host": str(host)} for device, host in scenario.net.routes
        ],
    }


def event_items(numbered: Iterable[tuple[int, Event]], after: int) -> list[dict[str, Any]]:
    return [{"n": n, "t": e.t, "kind": e.kind, **e.data} for n, e in numbered if n > after]


def whole_number(text: str, what: str) -> int:
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        raise Refused(400, f"{what} must be a whole number")
    return int(text)


def send_file(name: str) -> web.Response:
    """One of the page files, with the page's policy."""
    kind = {".css": "text/css", ".js": "text/javascript"}.get(Path(name).suffix, "text/html")
    return web.Response(
        body=(STATIC_DIR / name).read_bytes(),
        content_type=kind,
        charset="utf-8",
        headers={
            "Cache-Control": "no-cache",
            "Content-Security-Policy": PAGE_POLICY,
            "Referrer-Policy": "no-referrer",
            "X-Content-Type-Options": "nosniff",
        },
    )


def add_page_routes(app: web.Application, pages: Mapping[str, str]) -> None:
    """The pages (route → file of ``static_inspector``) and the files they load."""

    def page(name: str) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def handler(request: web.Request) -> web.StreamResponse:
            return send_file(name)

        return handler

    async def page_file(request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if name not in PAGE_FILES:
            raise web.HTTPNotFound()
        return send_file(name)

    for route, name in pages.items():
        app.router.add_get(route, page(name))
    app.router.add_get("/inspector/{name}", page_file)


async def open_stream(request: web.Request) -> web.StreamResponse:
    """A response of server-sent events, its head sent."""
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no",
        }
    )
    await response.prepare(request)
    return response


class Inspector:
    """The page's API for one module: ``events`` gives the numbered events kept;
    ``flash_since`` says from when the flash map counts the sectors written (``start``:
    the server's; ``opened``: a fleet's module, whose inspector is made when first asked)."""

    def __init__(
        self,
        module: Module,
        events: Callable[[], Iterable[tuple[int, Event]]],
        *,
        flash_since: str = "start",
    ) -> None:
        self.module = module
        self._events = events
        self._flash = FlashWatch(module.firmware)
        self._flash_since = flash_since
        self._wakes: set[asyncio.Event] = set()  # one for each open stream
        self._closing = False

    @staticmethod
    def add_routes(
        app: web.Application, prefix: str, find: Callable[[web.Request], Inspector]
    ) -> None:
        """The API under ``prefix``; ``find`` gives the inspector a request is about."""

        def via(
            action: Callable[[Inspector, web.Request], Awaitable[web.StreamResponse]],
        ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
            async def handler(request: web.Request) -> web.StreamResponse:
                return await action(find(request), request)

            return handler

        app.router.add_get(f"{prefix}/state", via(Inspector.state))
        app.router.add_get(f"{prefix}/flash", via(Inspector.flash_map))
        app.router.add_get(f"{prefix}/stream", via(Inspector.stream))
        app.router.add_post(f"{prefix}/at", via(Inspector.at))

    def happened(self) -> None:
        """Something happened on the module: wake the streams."""
        for wake in self._wakes:
            wake.set()

    def close(self) -> None:
        """End every stream (before the server shuts down)."""
        self._closing = True
        self.happened()

    async def state(self, request: web.Request) -> web.StreamResponse:
        return json_response(snapshot(self.module))

    async def flash_map(self, request: web.Request) -> web.StreamResponse:
        show = request.query.get("secrets", "0")
        if show not in ("0", "1"):
            raise Refused(400, "secrets must be 0 or 1")
        drawn = self._flash.map(show_secrets=show == "1")
        if drawn is not None:
            drawn["since"] = self._flash_since
        return json_response(drawn)

    async def at(self, request: web.Request) -> web.StreamResponse:
        if request.content_type != "application/json":
            raise Refused(415, "the body must be JSON (Content-Type: application/json)")
        try:
            body = json.loads(await request.read())
        except ValueError:
            raise Refused(400, "the body is not JSON") from None
        line = body.get("line") if isinstance(body, dict) else None
        if not isinstance(line, str) or not line.strip():
            raise Refused(400, 'the body must be {"line": "AT…"}')
        if len(line) > LINE_LIMIT or any(c in line for c in "\r\n\0"):
            raise Refused(400, f"one line of at most {LINE_LIMIT} characters, without CR or LF")
        try:
            data = line.encode("latin-1")
        except UnicodeEncodeError:
            raise Refused(400, "the line must be Latin-1 text") from None
        if not self.module.booted.is_set():
            raise Refused(409, "the module is booting: its AT port takes nothing yet")
        self.module.feed(data + b"\r\n")
        return json_response({"ok": True})

    async def stream(self, request: web.Request) -> web.StreamResponse:
        after = whole_number(request.query.get("after", "0"), "after")
        response = await open_stream(request)
        wake = asyncio.Event()
        self._wakes.add(wake)
        try:
            await self._feed(response, wake, after)
            await response.write_eof()
        except ConnectionError:
            pass  # the page went away
        finally:
            self._wakes.discard(wake)
        return response

    async def _feed(self, response: web.StreamResponse, wake: asyncio.Event, after: int) -> None:
        while not self._closing:
            wake.clear()
            items = event_items(self._events(), after)
            if len(items) > STREAM_BATCH:
                # More than the page can show: it gets the newest and a count of the rest,
                # so that a flood (a reconnect loop at time scale 0) never buries it.
                skipped = len(items) - STREAM_BATCH
                items = items[skipped:]
                await response.write(sse_message("skipped", {"count": skipped}))
            if items:
                after = items[-1]["n"]
                await response.write(sse_message("events", items))
            await response.write(sse_message("state", snapshot(self.module)))
            await next_turn(wake, STREAM_INTERVAL)


async def next_turn(wake: asyncio.Event, interval: float) -> None:
    """Until ``wake`` is set, or for 10 s (a beat that keeps the connection and what it
    shows fresh), then ``interval`` more: at most one message per interval, a burst of
    changes goes out as one."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(wake.wait(), 10)
    await asyncio.sleep(interval)


def sse_message(name: str, data: object) -> bytes:
    """One message of a stream of server-sent events."""
    return f"event: {name}\ndata: {json.dumps(data, default=str)}\n\n".encode()
