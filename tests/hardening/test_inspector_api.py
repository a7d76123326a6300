"""The inspector's side of the control API: the page and its files are the only things
served without the token (and carry no state); ``/state``, ``/stream`` and ``/at`` need
it; a bad line for ``/at`` is refused with a JSON error and never reaches the AT port.
``/state`` holds the data plane's connections as the link table has them. A fleet's
control server lists its modules (one stream for all) and serves each module's inspector
under ``/modules/<i>/``, 404 for an index that is not a running module."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from esp_at_sim.device.module import Module
from esp_at_sim.radio.network import RouteControl, network_of
from esp_at_sim.testing import AtHarness, start_module
from esp_at_sim.web.control import GLANCE, FleetControlServer
from esp_at_sim.web.inspector import LINE_LIMIT, STREAM_BATCH, snapshot
from fleet.test_fleet_cli import FleetProc, fleets
from tls.conftest import API, Pki, TlsServer, pki, server, ssl_module

from .conftest import no_tasks_left
from .test_control_api import AUTH, JSON, TOKEN, Control, control

# the fixtures, shared with the control API's and the TLS tests
__all__ = ["control", "fleets", "pki", "server"]


class Messages:
    """The messages of a stream of server-sent events, one by one."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self.response = response
        self.name = ""

    async def next(self) -> tuple[str, Any]:
        while True:
            text = (await asyncio.wait_for(self.response.content.readline(), 5)).decode()
            if text.startswith("event: "):
                self.name = text[7:].strip()
            elif text.startswith("data: "):
                return self.name, json.loads(text[6:])


async def test_the_page_is_served_without_the_token_and_nothing_else_is(control: Control) -> None:
    async with aiohttp.ClientSession() as session:
        for path, kind in (
            ("/", "text/html"),
            ("/inspector/inspector.js", "text/javascript"),
            ("/inspector/i18n.js", "text/javascript"),
            ("/inspector/inspector.css", "text/css"),
        ):
            async with session.get(control.server.base + path) as response:
                body = await response.text()
                assert response.status == 200 and response.content_type == kind
                assert TOKEN not in body
                assert "default-src 'none'" in response.headers["Content-Security-Policy"]
                # Nothing from elsewhere: every reference is to the module itself.
                assert "http://" not in body and "https://" not in body
    for method, path in (("GET", "/state"), ("GET", "/stream"), ("POST", "/at")):
        status, answer = await control.call(method, path, json={"line": "AT"})
        assert status == 401 and answer["ok"] is False
    assert (await control.call("GET", "/inspector/other.js", headers=AUTH))[0] == 404
    assert (await control.call("GET", "/inspector/other.js"))[0] == 401


async def test_state_is_the_module_read_now(control: Control) -> None:
    status, state = await control.call("GET", "/state", headers=AUTH)
    assert status == 200 and state == json.loads(json.dumps(snapshot(control.module)))
    assert state["wifi_mode"] == 3 and state["softap"]["running"] is True
    assert state["station"]["state"] == "IDLE" and state["station"]["ip"] is None
    assert [ap["ssid"] for ap in state["world"]["aps"]][:1] == ["HomeNet"]
    await control.at.cmd('AT+CWJAP="HomeNet","sunflower42"')
    state = (await control.call("GET", "/state", headers=AUTH))[1]
    assert state["station"]["ip"] == "192.168.1.23" and state["station"]["ssid"] == "HomeNet"
    assert [ap["joined"] for ap in state["world"]["aps"]][:1] == [True]


async def test_a_line_from_the_page_goes_into_the_at_port(control: Control) -> None:
    status, answer = await control.call("POST", "/at", headers=AUTH, json={"line": "AT+CWMODE?"})
    assert status == 200 and answer == {"ok": True}
    await control.at.wait_for(b"+CWMODE:3\r\n\r\nOK\r\n")


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"line": ""},
        {"line": 5},
        {"line": "AT\r\nAT+RST"},
        {"line": "AT+" + "X" * LINE_LIMIT},
        {"line": 'AT+CWJAP="网"'},
        ["AT"],
    ],
    ids=["none", "empty", "number", "two-lines", "long", "not-latin1", "list"],
)
async def test_a_bad_line_is_refused(control: Control, body: object) -> None:
    before = len(control.at.received)
    status, answer = await control.call("POST", "/at", headers=AUTH, json=body)
    assert status == 400 and answer["ok"] is False
    assert not [e for e in control.events if e.kind == "at.cmd"]
    await asyncio.sleep(0)
    assert len(control.at.received) == before


async def test_a_body_that_is_not_json_is_refused(control: Control) -> None:
    for data, headers in ((b"{", {**AUTH, **JSON}), (b"AT", AUTH)):
        status, answer = await control.call("POST", "/at", headers=headers, data=data)
        assert status in (400, 415) and answer["ok"] is False


async def test_the_stream_sends_events_and_state_and_ends_with_the_server(
    control: Control,
) -> None:
    url = control.server.base + "/stream?after=0"
    async with aiohttp.ClientSession(headers=AUTH) as session, session.get(url) as response:
        assert response.content_type == "text/event-stream"
        seen: dict[str, object] = {}
        messages = Messages(response)
        control.module.feed(b"AT+GMR\r\n")
        while "events" not in seen or "GMR" not in json.dumps(seen["events"]):
            name, data = await messages.next()
            seen[name] = data
        assert isinstance(seen["state"], dict) and seen["state"]["booted"] is True
        await control.server.close()
        rest = await asyncio.wait_for(response.content.read(), 5)
        assert rest.endswith(b"\n\n") or rest == b""


async def test_a_flood_reaches_the_page_as_its_newest_events_and_a_count(
    control: Control,
) -> None:
    """A reconnect loop at time scale 0 emits tens of thousands of events a second: the
    stream sends the newest ``STREAM_BATCH`` and says how many it left out, so the page
    stays live instead of drowning."""
    url = control.server.base + "/stream?after=0"
    async with aiohttp.ClientSession(headers=AUTH) as session, session.get(url) as response:
        messages = Messages(response)

        async def until(kind: str) -> object:
            while True:
                name, data = await messages.next()
                if name == kind:
                    return data

        await until("state")  # the stream has caught up with what happened before
        flood = STREAM_BATCH * 3 + 7
        for i in range(flood):
            control.module.emit("test.flood", i=i)
        skipped = await until("skipped")
        assert skipped == {"count": flood - STREAM_BATCH}
        events = await until("events")
        assert isinstance(events, list) and len(events) == STREAM_BATCH
        assert [e["i"] for e in events] == list(range(flood - STREAM_BATCH, flood))


async def test_after_must_be_a_whole_number(control: Control) -> None:
    status, answer = await control.call("GET", "/stream?after=-1", headers=AUTH)
    assert status == 400 and "whole number" in answer["error"]


async def test_the_flash_map_needs_secrets_0_or_1(control: Control) -> None:
    status, answer = await control.call("GET", "/flash?secrets=1", headers=AUTH)
    assert status == 200 and any(p["name"] == "nvs" for p in answer["partitions"])
    status, answer = await control.call("GET", "/flash?secrets=yes", headers=AUTH)
    assert status == 400 and "secrets" in answer["error"]


# ---------------------------------------------------------------------- connections
@contextlib.asynccontextmanager
async def echo_server(answer: bytes) -> AsyncIterator[tuple[int, bytearray]]:
    """A loopback TCP server that answers each chunk with ``answer``; what it got."""
    got = bytearray()
    writers: list[asyncio.StreamWriter] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(4096):
                got.extend(data)
                writer.write(answer)
                await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1], got
    finally:
        for writer in writers:
            writer.close()
        server.close()
        await server.wait_closed()


async def send(at: AtHarness, command: str, data: bytes) -> None:
    at.port.feed(command.encode() + b"\r\n")
    await at.wait_for(b">")
    at.port.feed(data)
    await at.wait_for(b"SEND OK\r\n")


async def test_connections_are_the_link_table_with_bytes_each_way(control: Control) -> None:
    module, at = control.module, control.at
    async with echo_server(b"pong!!") as (port, got):
        network = network_of(module.radio)
        assert isinstance(network, RouteControl)
        address = network.add_route("api.example.com", 8080, ("127.0.0.1", port))
        await at.cmd('AT+CWJAP="HomeNet","sunflower42"')
        state = (await control.call("GET", "/state", headers=AUTH))[1]
        assert state["connections"] == [] and state["tcp_server"] is None
        start = 'AT+CIPSTART="TCP","api.example.com",8080'
        assert (await at.cmd(start)).endswith(b"CONNECT\r\n\r\nOK\r\n")
        await send(at, "AT+CIPSEND=4", b"ping")
        await at.wait_for(b"+IPD,6:pong!!")
        status, state = await control.call("GET", "/state", headers=AUTH)
        assert status == 200 and bytes(got) == b"ping"
        (link,) = state["connections"]
        local = link.pop("local_port")
        assert isinstance(local, int) and local > 0
        assert link == {
            "id": 0,
            "type": "TCP",
            "remote_ip": address,
            "remote_port": 8080,
            "server": False,
            "state": "open",
            "passthrough": False,
            "sent": 4,
            "received": 6,
            "unread": 0,
        }
        # Passive receive: what waits unread shows, and the link is held by it.
        await at.cmd("AT+CIPRECVMODE=1")
        await send(at, "AT+CIPSEND=2", b"hi")
        await at.wait_for(b"+IPD,6\r\n")
        (link,) = snapshot(module)["connections"]
        assert (link["sent"], link["received"], link["unread"]) == (6, 12, 6)
        assert (await at.cmd("AT+CIPCLOSE")).endswith(b"CLOSED\r\n\r\nOK\r\n")
        assert snapshot(module)["connections"] == []


async def test_server_clients_and_passthrough_show_as_such(control: Control) -> None:
    module, at = control.module, control.at
    module.servers.expose("127.0.0.1", lambda port: 0, None)
    await at.cmd('AT+CWJAP="HomeNet","sunflower42"')
    await at.cmd("AT+CIPMUX=1")
    # A server limited to one client: in passthrough mode that client is passthrough's.
    assert (await at.cmd("AT+CIPSERVERMAXCONN=1")).endswith(b"OK\r\n")
    assert (await at.cmd("AT+CIPSERVER=1,3333")).endswith(b"OK\r\n")
    assert snapshot(module)["tcp_server"] == {
        "port": 3333,
        "type": "TCP",
        "clients": 0,
        "max_conn": 1,
        "timeout": 180,
    }
    address = module.servers.address
    assert address is not None
    reader, writer = await asyncio.open_connection(*address)
    try:
        await at.wait_for(b"0,CONNECT\r\n")
        writer.write(b"abc")
        await writer.drain()
        await at.wait_for(b"+IPD,0,3:abc")
        (link,) = snapshot(module)["connections"]
        assert link["server"] is True and link["received"] == 3 and link["type"] == "TCP"
        assert link["remote_ip"] == "127.0.0.1"
        assert snapshot(module)["tcp_server"]["clients"] == 1
        assert (await at.cmd("AT+CIPMODE=1")).endswith(b"OK\r\n")
        at.port.feed(b"AT+CIPSEND\r\n")
        await at.wait_for(b">")
        state = snapshot(module)
        assert state["connections"][0]["passthrough"] is True
        assert state["passthrough"] == {"link": 0}
        sent = asyncio.Event()
        module.bus.subscribe(lambda event: sent.set(), kinds=("net.tx",))
        at.port.feed(b"raw")
        assert await reader.readexactly(3) == b"raw"
        await asyncio.wait_for(sent.wait(), 5)
        assert snapshot(module)["connections"][0]["sent"] == 3
    finally:
        writer.close()


async def test_an_ssl_link_shows_as_ssl(pki: Pki, server: TlsServer) -> None:
    module, at = await ssl_module(server.port)
    try:
        start = 'AT+CIPSTART="SSL","api.example.com",443'
        assert (await at.cmd(start)).endswith(b"CONNECT\r\n\r\nOK\r\n")
        (link,) = snapshot(module)["connections"]
        assert (link["type"], link["remote_ip"], link["remote_port"]) == ("SSL", API, 443)
    finally:
        await module.close()


# ---------------------------------------------------------------------- a fleet's inspector
class Fleet:
    """Two modules at time scale 0 (0 and 2) and a failed one (1), with the fleet's
    control server on loopback."""

    def __init__(self, modules: list[Module], ats: list[AtHarness], server: FleetControlServer):
        self.modules, self.ats, self.server = modules, ats, server
        self.session = aiohttp.ClientSession()

    async def call(
        self, method: str, path: str, *, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> tuple[int, Any]:
        async with self.session.request(
            method, self.server.base + path, headers=headers, **kwargs
        ) as response:
            if response.content_type == "application/json":
                return response.status, await response.json()
            return response.status, await response.text()


@pytest.fixture
async def fleet() -> AsyncIterator[Fleet]:
    first, first_at = await start_module()
    third, third_at = await start_module()
    server = FleetControlServer([first, None, third], TOKEN)
    server.failed(1, "a script line failed: AT+NOSUCH")
    await server.start("127.0.0.1", 0)
    made = Fleet([first, third], [first_at, third_at], server)
    try:
        yield made
    finally:
        await made.session.close()
        await server.close()
        for module in (first, third):
            await module.close()
        await no_tasks_left()


async def test_the_fleets_pages_are_served_without_the_token(fleet: Fleet) -> None:
    for path, title in (("/", "esp-at-sim fleet"), ("/modules/2/", "esp-at-sim inspector")):
        status, body = await fleet.call("GET", path)
        assert status == 200 and f"<title>{title}</title>" in body and TOKEN not in body
    for name in ("page.js", "fleet.js"):
        status, body = await fleet.call("GET", f"/inspector/{name}")
        assert status == 200 and "http://" not in body and "https://" not in body
    for method, path in (
        ("GET", "/modules/stream"),
        ("GET", "/modules/0/state"),
        ("GET", "/modules/0/flash"),
        ("GET", "/modules/0/stream"),
        ("POST", "/modules/0/at"),
        ("GET", "/modules/x/"),
    ):
        status, answer = await fleet.call(method, path, json={"line": "AT"})
        assert status == 401 and answer["ok"] is False, path


async def test_each_modules_inspector_is_under_its_index(fleet: Fleet) -> None:
    # Nothing is made for a module before its page asks.
    assert all(w is None or w.inspector is None for w in fleet.server._watched)
    await fleet.ats[1].cmd('AT+CWJAP="HomeNet","sunflower42"')
    status, state = await fleet.call("GET", "/modules/2/state", headers=AUTH)
    assert status == 200 and state == json.loads(json.dumps(snapshot(fleet.modules[1])))
    assert state["station"]["ip"] == "192.168.1.23"
    status, state = await fleet.call("GET", "/modules/0/state", headers=AUTH)
    assert status == 200 and state["station"]["ip"] is None
    status, answer = await fleet.call(
        "POST", "/modules/0/at", headers=AUTH, json={"line": "AT+CWMODE?"}
    )
    assert status == 200 and answer == {"ok": True}
    await fleet.ats[0].wait_for(b"+CWMODE:1\r\n\r\nOK\r\n")
    assert b"CWMODE" not in fleet.ats[1].received
    status, answer = await fleet.call("GET", "/modules/0/flash", headers=AUTH)
    assert status == 200 and answer is None  # this module runs without a flash
    assert fleet.server._watched[2] is not None and fleet.server._watched[2].inspector is not None


@pytest.mark.parametrize(
    ("path", "error"),
    [
        ("/modules/3/state", "no module '3': the fleet has modules 0..2"),
        ("/modules/x/stream", "no module 'x'"),
        ("/modules/1/state", "module 1 failed: a script line failed: AT+NOSUCH"),
        ("/modules/1/flash", "module 1 failed"),
    ],
)
async def test_a_bad_index_is_404(fleet: Fleet, path: str, error: str) -> None:
    status, answer = await fleet.call("GET", path, headers=AUTH)
    assert status == 404 and answer["ok"] is False and error in answer["error"]
    status, answer = await fleet.call("POST", "/modules/1/at", headers=AUTH, json={"line": "AT"})
    assert status == 404 and "module 1 failed" in answer["error"]


async def test_the_list_streams_the_whole_fleet_then_what_changed(fleet: Fleet) -> None:
    url = fleet.server.base + "/modules/stream"
    async with aiohttp.ClientSession(headers=AUTH) as session, session.get(url) as response:
        assert response.content_type == "text/event-stream"
        message = Messages(response).next
        kind, listing = await message()
        assert kind == "modules" and [m["index"] for m in listing] == [0, 1, 2]
        assert [m["state"] for m in listing] == ["running", "failed", "running"]
        assert listing[1]["error"] == "a script line failed: AT+NOSUCH"
        assert listing[0]["station_ip"] is None and listing[0]["firmware"] is None
        assert set(listing[0]) <= GLANCE and "faults" not in listing[0]
        await fleet.ats[1].cmd('AT+CWJAP="HomeNet","sunflower42"')
        changed: dict[int, Any] = {}
        while changed.get(2, {}).get("station_ip") != "192.168.1.23":
            kind, entries = await message()
            assert kind == "changed"
            changed.update((m["index"], m) for m in entries)
        assert set(changed) == {2}  # module 0 did nothing
        fleet.server.failed(0, "lost")
        while changed.get(0, {}).get("state") != "failed":
            kind, entries = await message()
            changed.update((m["index"], m) for m in entries)
        assert changed[0] == {"index": 0, "state": "failed", "error": "lost"}
        await fleet.server.close()
        rest = await asyncio.wait_for(response.content.read(), 5)  # the stream ends
        assert rest.endswith(b"\n\n") or rest in (b"", b"\n")


async def test_the_fleet_command_serves_its_list_at_its_control_url(
    fleets: list[FleetProc], tmp_path: Path
) -> None:
    flash_dir = tmp_path / "flashes"
    flash_dir.mkdir()
    (flash_dir / "module-1.flash").write_bytes(b"\xff" * 100)
    fleet = FleetProc(
        "--count", "2", "--time-scale", "0", "--control", "0", "--flash-dir", flash_dir
    )  # fmt: skip
    fleets.append(fleet)
    url = fleet.read_until(re.compile(r"Control: (\S+)"))[0][1]
    fleet.at_ports(1)  # module 0 answers
    base, _, token = url.partition("/#token=")
    auth = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession() as session:
        async with session.get(base + "/") as response:
            assert "<title>esp-at-sim fleet</title>" in await response.text()
        async with session.get(base + "/modules/0/") as response:
            assert "<title>esp-at-sim inspector</title>" in await response.text()
        async with session.get(base + "/modules/0/state", headers=auth) as response:
            assert response.status == 200 and (await response.json())["booted"] is True
        async with session.get(base + "/modules/stream", headers=auth) as response:
            kind, listing = await Messages(response).next()
    assert kind == "modules" and [m["state"] for m in listing] == ["running", "failed"]
    assert "cannot use the flash file" in listing[1]["error"]
    assert fleet.stop()[0] == 1
