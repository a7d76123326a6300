"""TCP/IP commands that host drivers send at start-up, on a module with no connections."""

from __future__ import annotations

from esp_at_sim.testing import AtHarness


async def test_cipmux(at: AtHarness) -> None:
    assert await at.cmd("AT+CIPMUX?") == b"AT+CIPMUX?\r\n+CIPMUX:0\r\n\r\nOK\r\n"
    assert await at.cmd("AT+CIPMUX=1") == b"AT+CIPMUX=1\r\n\r\nOK\r\n"
    assert await at.cmd("AT+CIPMUX?") == b"AT+CIPMUX?\r\n+CIPMUX:1\r\n\r\nOK\r\n"
    assert (await at.cmd("AT+CIPMUX=2")).endswith(b"\r\nERROR\r\n")
    assert b"+CIPMUX:1" in await at.cmd("AT+CIPMUX?")


async def test_cipstate_without_connections(at: AtHarness) -> None:
    assert await at.cmd("AT+CIPSTATE?") == b"AT+CIPSTATE?\r\n\r\nOK\r\n"


async def test_cipstatus_follows_station(at: AtHarness) -> None:
    out = await at.cmd("AT+CIPSTATUS")
    assert out in (
        b"AT+CIPSTATUS\r\nSTATUS:1\r\n\r\nOK\r\n",
        b"AT+CIPSTATUS\r\nSTATUS:5\r\n\r\nOK\r\n",
    )
    await at.cmd("AT+CWMODE=2")
    assert await at.cmd("AT+CIPSTATUS") == b"AT+CIPSTATUS\r\nSTATUS:0\r\n\r\nOK\r\n"


async def test_ciprecvmode_and_dinfo(at: AtHarness) -> None:
    assert b"+CIPRECVMODE:0\r\n" in await at.cmd("AT+CIPRECVMODE?")
    assert (await at.cmd("AT+CIPRECVMODE=1")).endswith(b"\r\nOK\r\n")
    assert b"+CIPRECVMODE:1\r\n" in await at.cmd("AT+CIPRECVMODE?")
    assert b"+CIPDINFO:false\r\n" in await at.cmd("AT+CIPDINFO?")
    await at.cmd("AT+CIPDINFO=1")
    assert b"+CIPDINFO:true\r\n" in await at.cmd("AT+CIPDINFO?")


async def test_cipsslcconf(at: AtHarness) -> None:
    assert (
        await at.cmd("AT+CIPSSLCCONF?") == b"AT+CIPSSLCCONF?\r\n+CIPSSLCCONF:0,0,0,0\r\n\r\nOK\r\n"
    )
    assert (await at.cmd("AT+CIPSSLCCONF=2,,0")).endswith(b"\r\nOK\r\n")
    assert b"+CIPSSLCCONF:0,2,0,0\r\n" in await at.cmd("AT+CIPSSLCCONF?")
    await at.cmd("AT+CIPMUX=1")
    assert (await at.cmd("AT+CIPSSLCCONF=5,3,1,1")).endswith(b"\r\nOK\r\n")
    out = await at.cmd("AT+CIPSSLCCONF?")
    assert out.count(b",3,1,1\r\n") == 5
    assert (await at.cmd("AT+CIPSSLCCONF=6,0")).endswith(b"\r\nERROR\r\n")
    assert (await at.cmd("AT+CIPSSLCCONF=0,4")).endswith(b"\r\nERROR\r\n")


async def test_esp8266_only_command_is_an_error(at: AtHarness) -> None:
    assert await at.cmd("AT+CIPSSLSIZE=4096") == b"AT+CIPSSLSIZE=4096\r\n\r\nERROR\r\n"
