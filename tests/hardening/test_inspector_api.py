"""The inspector's side of the control API: the page and its files are the only things
served without the token (and carry no state); ``/state``, ``/stream`` and ``/at`` need
it; a bad line for ``/at`` is refused with a JSON error and never reaches the AT port."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import aiohttp
import pytest

from esp_at_sim.web.inspector import LINE_LIMIT, STREAM_BATCH, snapshot

from .test_control_api import AUTH, JSON, TOKEN, Control, control

__all__ = ["control"]  # the fixture, shared with the control API's tests


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
        name = ""
        control.module.feed(b"AT+GMR\r\n")
        while "events" not in seen or "GMR" not in json.dumps(seen["events"]):
            line = await asyncio.wait_for(response.content.readline(), 5)
            text = line.decode()
            if text.startswith("event: "):
                name = text[7:].strip()
            elif text.startswith("data: "):
                seen[name] = json.loads(text[6:])
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
        messages: list[tuple[str, object]] = []
        name = ""

        async def until(kind: str, test: Callable[[object], bool] | None = None) -> object:
            nonlocal name
            while True:
                text = (await asyncio.wait_for(response.content.readline(), 5)).decode()
                if text.startswith("event: "):
                    name = text[7:].strip()
                elif text.startswith("data: "):
                    data = json.loads(text[6:])
                    messages.append((name, data))
                    if name == kind and (test is None or test(data)):
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
