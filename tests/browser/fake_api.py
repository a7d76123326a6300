"""A small stand-in for the module's web server, following web-server.md for the
provisioning endpoints, and serving the real page from ``esp_at_sim/web/static``.

The page is tested against the real server wherever it can be; this fake is kept for
what a module at time scale 0 cannot show: a provisioning that lasts (``hold``), and the
original firmware's answers (no ``reason``, ``sta_password`` echoed).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

STATIC = Path(__file__).resolve().parents[2] / "src" / "esp_at_sim" / "web" / "static"

NOT_START, CONFIG_DONE, CONNECTING, CONNECT_FAIL, CONNECT_OK = range(5)
_WIRE = {
    NOT_START: (0, "waiting config"),
    CONFIG_DONE: (0, "config done"),
    CONNECTING: (0, "connecting"),
    CONNECT_FAIL: (2, "connect fail"),
    CONNECT_OK: (1, "connect OK"),
}
GRACE = 0.3  # seconds between the answer to /setstainfo and the connection


@dataclass
class FakeAp:
    ssid: str
    password: str = ""
    auth: int = 3  # WPA2_PSK; 0 for an open network
    rssi: int = -50
    hidden: bool = False
    ip: str = "192.168.1.23"


def default_aps() -> list[FakeAp]:
    """The home scenario's air, as the fake sees it."""
    return [
        FakeAp("HomeNet", "sunflower42", 3, -42),
        FakeAp("Neighbour-WPA3", "correct horse battery", 6, -67),
        FakeAp("Cafe-Free-WiFi", "", 0, -78),
        FakeAp("LabHidden", "lab-secret-7", 4, -58, hidden=True),
        FakeAp("Pixel-Hotspot", "hotspot-1234", 3, -45, ip="192.168.43.120"),
    ]


@dataclass
class FakeModule:
    aps: list[FakeAp] = field(default_factory=default_aps)
    hold: asyncio.Event = field(default_factory=asyncio.Event)  # clear: stay CONNECTING
    send_reason: bool = True  # False: answer like the original, without ``reason``
    echo_password: bool = False  # True: the original's ``sta_password`` echo
    state: int = NOT_START
    sta_ssid: str = ""
    sta_password: str = ""
    sta_ip: str = ""
    reason: str = ""
    urcs: list[str] = field(default_factory=list)
    requests: list[tuple[str, str, bytes]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.hold.set()

    async def connect(self, ssid: str, password: str) -> None:
        await asyncio.sleep(GRACE)
        self.state = CONNECTING
        self.urcs.append("+WEBSERVERRSP:1")
        await self.hold.wait()
        ap = next((a for a in self.aps if a.ssid == ssid), None)
        if ap is None:
            self.state, self.reason = CONNECT_FAIL, "not_found"
        elif ap.password != password:
            self.state, self.reason = CONNECT_FAIL, "wrong_password"
        else:
            self.state, self.sta_ip = CONNECT_OK, ap.ip


def _json(data: object, status: int = 200) -> web.Response:
    return web.json_response(data, status=status)


def make_app(fake: FakeModule) -> web.Application:
    tasks: set[asyncio.Task[None]] = set()

    @web.middleware
    async def record(request: web.Request, handler):  # type: ignore[no-untyped-def]
        fake.requests.append((request.method, request.path, await request.read()))
        return await handler(request)

    async def index(request: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC / "index.html")

    async def getstainfo(request: web.Request) -> web.Response:
        state, message = _WIRE[fake.state]
        answer: dict[str, object] = {
            "state": state,
            "sta_ssid": fake.sta_ssid,
            "sta_password": fake.sta_password if fake.echo_password else "",
            "message": message,
        }
        if fake.state == CONNECT_OK:
            answer["sta_ip"] = fake.sta_ip
        if fake.state == CONNECT_FAIL and fake.send_reason:
            answer["reason"] = fake.reason
        return _json(answer)

    async def setstainfo(request: web.Request) -> web.Response:
        raw = await request.read()
        if len(raw) >= 320:
            return _json({"state": 1}, 500)
        if fake.state in (CONFIG_DONE, CONNECTING):
            return _json({"state": 1}, 400)
        try:
            data = json.loads(raw.decode())
            ssid, password = str(data.get("ssid", "")), str(data.get("password", ""))
        except (ValueError, AttributeError):
            return _json({"state": 1}, 400)
        if len(ssid.encode()) > 32 or len(password.encode()) > 64 or not (ssid or password):
            return _json({"state": 1}, 400)
        fake.state, fake.reason, fake.sta_ip = CONFIG_DONE, "", ""
        fake.sta_ssid, fake.sta_password = ssid, password
        task = asyncio.get_running_loop().create_task(fake.connect(ssid, password))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        return _json({"state": 0})

    async def getresult(request: web.Request) -> web.Response:
        form = await request.post()
        if fake.state == NOT_START:
            return _json({"state": 0})
        if fake.state in (CONFIG_DONE, CONNECTING):
            fake.urcs.append("+WEBSERVERRSP:2")
            return _json({"state": 0})
        if form.get("received") is None:
            return _json({"state": 1}, 400)
        fake.state, fake.sta_ssid, fake.sta_password = NOT_START, "", ""
        fake.urcs.append("+WEBSERVERRSP:2")
        return _json({"state": 0})

    async def getaprecord(request: web.Request) -> web.Response:
        found = sorted((a for a in fake.aps if not a.hidden), key=lambda a: -a.rssi)[:10]
        if not found:
            return _json({"state": 1}, 500)
        aplist = [{"ssid": a.ssid, "auth_mode": a.auth} for a in found]
        return _json({"state": 0, "message": "scan done", "aplist": aplist})

    app = web.Application(middlewares=[record])
    app.router.add_get("/", index)
    app.router.add_get("/getstainfo", getstainfo)
    app.router.add_post("/setstainfo", setstainfo)
    app.router.add_post("/getresult", getresult)
    app.router.add_get("/getaprecord", getaprecord)
    app.router.add_static("/", STATIC, show_index=False)

    async def stop_tasks(app: web.Application) -> None:
        for task in list(tasks):
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    app.on_cleanup.append(stop_tasks)
    return app


async def start_fake(fake: FakeModule) -> tuple[web.AppRunner, str]:
    """Serve ``fake`` on a free loopback port; returns the runner and the base URL."""
    runner = web.AppRunner(make_app(fake), handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}"
