"""Faults injected at run time, directly and through the control API."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest

from esp_at_sim.client import SimControl, SimControlError
from esp_at_sim.device.faults import FAULT_NAMES, FaultError
from esp_at_sim.flash.image import build_app_image
from esp_at_sim.testing import AtHarness, start_module
from esp_at_sim.web.control import ControlServer

from .conftest import MakeWeb

TOKEN = "test-token-1234"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
async def at() -> AsyncIterator[AtHarness]:
    module, harness = await start_module()
    await harness.cmd("ATE0")
    yield harness
    await module.close()


async def join(at: AtHarness) -> None:
    assert await at.cmd('AT+CWJAP="HomeNet","sunflower42"') == (
        b"WIFI CONNECTED\r\nWIFI GOT IP\r\n\r\nOK\r\n"
    )


async def test_vanish_drops_the_station_and_appear_brings_it_back(at: AtHarness) -> None:
    await join(at)
    at.module.faults.vanish("HomeNet")
    assert await at.wait_for(b"WIFI DISCONNECT\r\n") == b"WIFI DISCONNECT\r\n"
    assert b"+CWJAP:3" in await at.cmd('AT+CWJAP="HomeNet","sunflower42"')
    at.module.faults.appear("HomeNet")
    await join(at)


async def test_change_password_makes_the_stored_one_wrong(at: AtHarness) -> None:
    at.module.faults.change_password("HomeNet", "another-pass")
    assert await at.cmd('AT+CWJAP="HomeNet","sunflower42"') == b"+CWJAP:2\r\n\r\nERROR\r\n"
    assert await at.cmd('AT+CWJAP="HomeNet","another-pass"') == (
        b"WIFI CONNECTED\r\nWIFI GOT IP\r\n\r\nOK\r\n"
    )


async def test_refuse_joins_counts_down(at: AtHarness) -> None:
    at.module.faults.refuse_joins("HomeNet", 2)
    for _ in range(2):
        assert await at.cmd('AT+CWJAP="HomeNet","sunflower42"') == b"+CWJAP:4\r\n\r\nERROR\r\n"
    await join(at)


async def test_drop_link(at: AtHarness) -> None:
    assert at.module.faults.drop_link() is False  # nothing to drop yet
    await join(at)
    assert at.module.faults.drop_link(reason=8) is True
    assert await at.wait_for(b"WIFI DISCONNECT\r\n") == b"WIFI DISCONNECT\r\n"


async def test_stall_dhcp_times_out_the_join(at: AtHarness) -> None:
    at.module.faults.stall_dhcp("HomeNet")
    out = await at.cmd('AT+CWJAP="HomeNet","sunflower42"')
    assert out.startswith(b"WIFI CONNECTED\r\n") and out.endswith(b"+CWJAP:1\r\n\r\nERROR\r\n")


async def test_phones_join_and_leave(at: AtHarness) -> None:
    await at.cmd("AT+CWMODE=2")
    station = at.module.faults.phone_join()
    assert station is not None and station.mac == "f2:11:22:33:44:55"
    assert (
        await at.wait_for(b"+DIST_STA_IP:")
        == b'+STA_CONNECTED:"f2:11:22:33:44:55"\r\n+DIST_STA_IP:'
    )
    assert await at.wait_for(b"\r\n") == b'"f2:11:22:33:44:55","192.168.4.2"\r\n'
    assert at.module.faults.phone_leave(station.mac)
    assert await at.wait_for(b"\r\n") == b'+STA_DISCONNECTED:"f2:11:22:33:44:55"\r\n'


async def test_unknown_ap_and_unknown_fault(at: AtHarness) -> None:
    with pytest.raises(FaultError, match="no access point"):
        at.module.faults.vanish("NoSuchNet")
    with pytest.raises(FaultError, match="unknown fault"):
        at.module.faults.apply("explode")
    with pytest.raises(FaultError, match="bad arguments"):
        at.module.faults.apply("vanish", nope=1)


async def test_stall_upload_holds_the_body_until_released(make_web: MakeWeb) -> None:
    web = await make_web(flash=True)
    web.module.faults.stall_upload(True)
    image = build_app_image("v4.9.0.0", size=200_000)
    post = asyncio.ensure_future(web.post("/setotadata", image, headers={"Object": "ota"}))
    for _ in range(50):
        await asyncio.sleep(0.01)
    assert not post.done()
    assert b"+WEBSERVERRSP:3" in web.at.received and b"+WEBSERVERRSP:4" not in web.at.received
    web.module.faults.stall_upload(False)
    assert await asyncio.wait_for(post, 10) == (200, b'{"state": 0}')
    assert await web.at.wait_for(b"+WEBSERVERRSP:4\r\n")


async def test_control_api(at: AtHarness) -> None:
    control = ControlServer(at.module, TOKEN)
    await control.start("127.0.0.1", 0)
    url = control.base + "/"
    try:
        async with aiohttp.ClientSession(headers=AUTH) as session:
            async with session.get(url + "status") as r:
                status = await r.json()
            assert status["booted"] is True and status["faults"] == list(FAULT_NAMES)
            assert status["station_ip"] is None
            await join(at)
            async with session.get(url + "status") as r:
                assert (await r.json())["station_ip"] == "192.168.1.23"
            async with session.post(url + "faults/vanish", json={"ap": "HomeNet"}) as r:
                assert r.status == 200 and (await r.json())["ok"] is True
            await at.wait_for(b"WIFI DISCONNECT\r\n")
            async with session.post(url + "faults/vanish", json={"ap": "Nope"}) as r:
                assert r.status == 400 and "no access point" in (await r.json())["error"]
            json_type = {"Content-Type": "application/json"}
            async with session.post(url + "faults/vanish", data=b"{", headers=json_type) as r:
                assert r.status == 400 and (await r.json())["error"] == "the body is not JSON"
            async with session.get(url + "events?after=0") as r:
                events = (await r.json())["events"]
            assert any(e["kind"] == "fault" and e["name"] == "vanish" for e in events)
            last = events[-1]["n"]
            async with session.get(url + f"events?after={last}") as r:
                assert (await r.json())["events"] == []
    finally:
        await control.close()


async def test_sim_control_client(at: AtHarness) -> None:
    control = ControlServer(at.module, TOKEN)
    url = await control.start("127.0.0.1", 0)
    assert url == f"{control.base}/#token={TOKEN}"
    try:
        async with SimControl(url) as sim:  # the token from the URL
            assert (await sim.status())["boot_count"] == 1
            await at.cmd("AT+CWMODE=3")
            station = await sim.fault("phone_join")
            assert station["mac"] == "f2:11:22:33:44:55"
            await at.wait_for(b'+DIST_STA_IP:"f2:11:22:33:44:55","192.168.4.2"\r\n')
            await sim.fault("refuse_joins", ap="HomeNet", count=1)
            assert await at.cmd('AT+CWJAP="HomeNet","sunflower42"') == b"+CWJAP:4\r\n\r\nERROR\r\n"
            with pytest.raises(SimControlError, match="unknown fault"):
                await sim.fault("explode")
            names = [e.get("name") for e in await sim.events() if e["kind"] == "fault"]
            assert names == ["phone_join", "refuse_joins"]
    finally:
        await control.close()


async def test_sim_control_unreachable() -> None:
    async with SimControl("http://127.0.0.1:9/", timeout=2) as sim:
        with pytest.raises(SimControlError, match="failed"):
            await sim.status()
