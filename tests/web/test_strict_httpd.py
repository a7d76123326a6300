"""``--strict-httpd``: the firmware's web server is one task, so while an upload or the
applet's phone-hotspot search runs, every other request waits. By default esp-at-sim
answers concurrently; with ``strict_httpd`` it serialises as the firmware does."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from esp_at_sim.flash.image import build_app_image
from esp_at_sim.web.provisioning import Provisioning

from .conftest import MakeWeb
from .helpers import Web

APPLET_HOTSPOT = b'{"ssid":"","password":"hotspot-1234"}&udp_port=37325'


async def until(condition: Callable[[], bool]) -> None:
    for _ in range(500):  # bounded: a few real seconds at most
        if condition():
            return
        await asyncio.sleep(0.01)
    pytest.fail("condition not reached")


def busy_requests(web: Web) -> int:
    """Connections whose request head has arrived and is not answered yet."""
    return sum(not connection.idle for connection in web.server._pool._open)


def http_paths(web: Web, events: list[Any]) -> list[str]:
    return [e.data["path"] for e in events if e.kind == "http"]


@pytest.mark.parametrize("strict", [False, True])
async def test_a_request_during_an_upload(make_web: MakeWeb, strict: bool) -> None:
    web = await make_web(flash=True, strict_httpd=strict)
    events: list[Any] = []
    web.module.bus.subscribe(events.append)
    web.module.faults.stall_upload(True)
    image = build_app_image("v4.9.0.0", size=200_000)
    upload = asyncio.ensure_future(web.post("/setotadata", image, headers={"Object": "ota"}))
    await web.at.wait_for(b"+WEBSERVERRSP:3\r\n")
    version = asyncio.ensure_future(web.get("/getversion"))
    await until(lambda: busy_requests(web) == 2 or version.done())
    if strict:  # the upload holds the one task: the version waits for it
        assert not version.done()
    else:
        assert await version == (200, b'{"version":"1.0"}')
    web.module.faults.stall_upload(False)
    assert await upload == (200, b'{"state": 0}')
    assert await version == (200, b'{"version":"1.0"}')
    expected = ["/setotadata", "/getversion"] if strict else ["/getversion", "/setotadata"]
    assert http_paths(web, events) == expected


@pytest.mark.parametrize("strict", [False, True])
async def test_a_request_during_the_phone_hotspot_search(
    make_web: MakeWeb, monkeypatch: pytest.MonkeyPatch, strict: bool
) -> None:
    searching, release = asyncio.Event(), asyncio.Event()

    async def search(self: Provisioning, mac: str | None, password: bytes, budget: float) -> None:
        searching.set()
        await release.wait()  # the search finds nothing, when the test says so

    monkeypatch.setattr(Provisioning, "search_phone_hotspot", search)
    web = await make_web(strict_httpd=strict)
    assert await web.post("/setstainfo", APPLET_HOTSPOT) == (200, b'{"state": 0}')
    await asyncio.wait_for(searching.wait(), 5)
    status = asyncio.ensure_future(web.get("/getstainfo"))
    await until(lambda: busy_requests(web) == 1 or status.done())
    if strict:  # answered only after the search: with its outcome
        assert not status.done()
        release.set()
        code, body = await status
        assert code == 200 and json.loads(body)["message"] == "connect fail"
    else:  # answered at once: still connecting
        code, body = await status
        assert code == 200 and json.loads(body)["message"] == "connecting"
        release.set()
        assert (await web.outcome())["message"] == "connect fail"


def test_run_takes_strict_httpd(tmp_path: Path) -> None:
    from hardening.simproc import SimProcess

    proc = SimProcess(tmp_path, "--strict-httpd")
    try:
        with urllib.request.urlopen(proc.url + "/getversion", timeout=10) as answer:
            assert answer.read() == b'{"version":"1.0"}'
    finally:
        assert proc.stop() == 0, proc.stderr()
