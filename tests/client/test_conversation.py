"""The AT conversation over every link: echo, busy, ERR CODE, URCs told apart from
answers, timeouts, a link that goes away, resets and data prompts."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from esp_at_sim.at.engine import Mode
from esp_at_sim.client import (
    AtBusyError,
    AtClient,
    AtCommandError,
    AtConnectionError,
    AtTimeoutError,
    ModuleResetError,
    Urc,
)
from esp_at_sim.device.module import Module

from .conftest import KINDS, WAIT, MakeRig, Rig, scenario

SLOW = scenario(
    """
[[ap]]
ssid = "Slow"
password = "slowpass1"
assoc_delay = 10
"""
)
SLOW_SCALE = 0.04  # the Slow AP then takes 0.4 s of real time to associate


async def until(condition: Callable[[], bool], timeout: float = WAIT) -> None:
    """Wait (bounded) until ``condition`` holds, checking at every loop turn."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, "condition never held"
        await asyncio.sleep(0)


def running(module: Module) -> Callable[[], bool]:
    return lambda: module.engine.mode is Mode.BACKGROUND


async def test_echo_on_and_off(rig: Rig) -> None:
    client = rig.client
    assert client.echo is True  # the module printed ready
    assert (await client.send("AT+CWMODE?")).lines == (b"+CWMODE:1",)
    await client.set_echo(False)
    assert client.echo is False
    assert not rig.module.engine.echo
    response = await client.send("AT+CWMODE?")
    assert (response.lines, response.final) == ((b"+CWMODE:1",), "OK")
    await client.set_echo(True)
    assert (await client.send("AT")).lines == ()


async def test_busy_raises_or_is_retried(make_rig: MakeRig, kind: str) -> None:
    rig = await make_rig(
        kind, SLOW, scale=SLOW_SCALE, busy_retries=0, busy_delay=0.05, busy_max_delay=0.1
    )
    client, module = rig.client, rig.module
    urcs = client.urcs()
    module.feed(b'AT+CWJAP="Slow","slowpass1"\r\n')  # another host's command, still running
    assert running(module)()
    with pytest.raises(AtBusyError):
        await client.send("AT+CWMODE?")
    client.busy_retries = 20
    response = await client.send("AT+CWMODE?")
    assert (response.lines, response.final) == ((b"+CWMODE:1",), "OK")
    seen = [(await urcs.get(WAIT)).line for _ in range(4)]
    # The other command's echo and its final OK are not mistaken for ours.
    assert seen == [b'AT+CWJAP="Slow","slowpass1"', b"WIFI CONNECTED", b"WIFI GOT IP", b"OK"]


async def test_err_code_is_kept_on_the_error(rig: Rig) -> None:
    client = rig.client
    with pytest.raises(AtCommandError) as plain:
        await client.send("AT+CWMODE", 9)
    assert (plain.value.code, plain.value.final) == (None, "ERROR")
    await client.send("AT+SYSLOG", 1)
    with pytest.raises(AtCommandError) as coded:
        await client.send("AT+CWMODE", 9)
    assert coded.value.code == 0x01070000
    assert coded.value.sub_code == 0x07
    assert coded.value.command == b"AT+CWMODE=9"
    response = await client.send("AT+CWMODE", 9, check=False)
    assert (response.ok, response.code) == (False, 0x01070000)


async def test_phone_joining_during_a_command(rig: Rig) -> None:
    client, module = rig.client, rig.module
    await client.set_cwmode(3)
    stream = client.urcs()
    scan = asyncio.ensure_future(client.cwlap())
    await until(running(module))
    assert module.radio.join_phone() is not None
    aps = await asyncio.wait_for(scan, WAIT)
    assert [ap.ssid for ap in aps][:2] == [b"HomeNet", b"Pixel-Hotspot"]
    first = await stream.get(WAIT)
    assert first.line == b'+STA_CONNECTED:"f2:11:22:33:44:55"'
    second = await client.wait_urc("+DIST_STA_IP:", WAIT)
    assert second.line == b'+DIST_STA_IP:"f2:11:22:33:44:55","192.168.4.2"'
    assert (await stream.get(WAIT)) == second
    stream.close()


async def test_cwjap_answer_holds_its_urcs(rig: Rig) -> None:
    stream = rig.client.urcs()
    result = await rig.client.set_cwjap("HomeNet", "sunflower42")
    assert result.lines == (b"WIFI CONNECTED", b"WIFI GOT IP")
    assert result.got_ip
    got = [await stream.get(WAIT), await stream.get(WAIT)]
    assert [(u.line, u.in_answer) for u in got] == [
        (b"WIFI CONNECTED", True),
        (b"WIFI GOT IP", True),
    ]
    # Outside AT+CWJAP the same report is a URC only.
    await rig.client.cwqap()
    assert (await stream.get(WAIT)) == Urc(b"WIFI DISCONNECT")


async def test_wait_urc_mailbox(make_rig: MakeRig) -> None:
    rig = await make_rig()
    client = rig.client
    await client.set_cwmode(2)
    rig.module.radio.join_phone()
    stream = client.urcs()
    rig.module.radio.join_phone("f2:00:00:00:00:02")
    await stream.get(WAIT)
    # Earlier URCs wait in the mailbox; each satisfies one wait.
    first = await client.wait_urc("+STA_CONNECTED", 0)
    assert first.line == b'+STA_CONNECTED:"f2:11:22:33:44:55"'
    second = await client.wait_urc(lambda u: u.line.endswith(b'02"'), 0)
    assert second.line == b'+STA_CONNECTED:"f2:00:00:00:00:02"'
    with pytest.raises(AtTimeoutError, match="STA_CONNECTED"):
        await client.wait_urc("+STA_CONNECTED", 0.05)
    assert (await client.wait_urc(b"+DIST_STA_IP", WAIT)).line.endswith(b'"192.168.4.2"')
    client.clear_urcs()
    with pytest.raises(AtTimeoutError):
        await client.wait_urc("+DIST_STA_IP", 0.05)
    stream.close()
    fresh = client.urcs()
    rig.module.radio.join_phone("f2:00:00:00:00:03")
    assert (await fresh.get(WAIT)).line == b'+STA_CONNECTED:"f2:00:00:00:00:03"'
    with pytest.raises(AtTimeoutError):
        await client.wait_urc("+STA_CONNECTED", 0.05, backlog=False)  # it came before


async def test_restart_waits_for_ready(rig: Rig) -> None:
    await rig.client.set_echo(False)
    await rig.client.rst()
    assert rig.module.boot_count == 2
    assert rig.client.echo is True
    assert (await rig.client.gmr()).bin_version == "v4.1.1.0"


async def test_reset_during_a_command(make_rig: MakeRig) -> None:
    rig = await make_rig("inproc", SLOW, scale=SLOW_SCALE)
    join = asyncio.ensure_future(rig.client.set_cwjap("Slow", "slowpass1"))
    await until(running(rig.module))
    reset = asyncio.ensure_future(rig.module.restart())
    with pytest.raises(ModuleResetError):
        await asyncio.wait_for(join, WAIT)
    await reset
    assert (await rig.client.send("AT")).ok


@pytest.mark.parametrize("kind", [k for k in KINDS if k != "inproc"])
async def test_link_closed_mid_command(make_rig: MakeRig, kind: str) -> None:
    rig = await make_rig(kind, SLOW, scale=SLOW_SCALE)
    stream = rig.client.urcs()
    join = asyncio.ensure_future(rig.client.set_cwjap("Slow", "slowpass1"))
    await until(running(rig.module))
    assert rig.transport is not None
    await rig.transport.close()
    with pytest.raises(AtConnectionError):
        await asyncio.wait_for(join, WAIT)
    assert rig.client.closed
    with pytest.raises(AtConnectionError):
        await rig.client.send("AT")
    assert [u async for u in stream] == []


class Scripted:
    """An in-process port that answers each line with the next scripted bytes."""

    def __init__(self, *replies: bytes) -> None:
        self.replies = list(replies)
        self.sink: Callable[[bytes], None] | None = None
        self.fed: list[bytes] = []

    def set_output(self, sink: Callable[[bytes], None] | None) -> None:
        self.sink = sink

    def feed(self, data: bytes) -> None:
        self.fed.append(data)
        reply = self.replies.pop(0) if self.replies else b""
        if reply and self.sink is not None:
            self.sink(reply)


async def test_silent_link_times_out() -> None:
    port = Scripted()
    async with await AtClient.open(port, default_timeout=0.05) as client:
        with pytest.raises(AtTimeoutError) as info:
            await client.send("AT")
        assert isinstance(info.value, TimeoutError)
        with pytest.raises(TimeoutError):
            await client.send("AT+CWJAP", "a", "b", timeout=0.05)
    assert port.fed == [b"AT\r\n", b'AT+CWJAP="a","b"\r\n']
    assert port.sink is None  # closing detached the client


async def test_late_answer_is_not_taken_for_the_next() -> None:
    late = b"AT+GMR\r\nAT version:1.0(x)\r\n\r\nOK\r\n"
    port = Scripted(b"", late + b"AT+CWMODE?\r\n+CWMODE:2\r\n\r\nOK\r\n")
    async with await AtClient.open(port) as client:
        stream = client.urcs()
        assert port.sink is not None
        port.sink(b"\r\nready\r\n")  # echo is on after boot
        await client.wait_urc("ready", WAIT)
        with pytest.raises(AtTimeoutError):
            await client.send("AT+GMR", timeout=0.05)
        response = await client.send("AT+CWMODE?")
        assert response.lines == (b"+CWMODE:2",)
        lines = [(await stream.get(WAIT)) for _ in range(4)]
        assert [(u.line, u.known) for u in lines] == [
            (b"ready", True),
            (b"AT+GMR", False),
            (b"AT version:1.0(x)", False),
            (b"OK", False),
        ]


async def test_echo_that_never_comes_heals() -> None:
    port = Scripted(b"", b"+CWMODE:2\r\n\r\nOK\r\n", b"\r\nOK\r\n")
    async with await AtClient.open(port, default_timeout=0.05) as client:
        assert port.sink is not None
        port.sink(b"\r\nready\r\n")  # echo believed on, but someone turned it off
        await client.wait_urc("ready", WAIT)
        with pytest.raises(AtTimeoutError):
            await client.send("AT+GMR")
        with pytest.raises(AtTimeoutError):
            await client.send("AT+CWMODE?")  # its OK was taken for the GMR's late one
        assert client.echo is None
        assert (await client.send("AT")).final == "OK"


async def test_data_prompt_after_ok() -> None:
    port = Scripted(b"\r\nOK\r\n\r\n>", b"\r\nRecv 6 bytes\r\n\r\nSEND OK\r\n")
    async with await AtClient.open(port) as client:
        response = await client.send_data("AT+CIPSEND", b'a,"\r\n\\', 6)
        assert (response.lines, response.final) == ((b"Recv 6 bytes",), "SEND OK")
    assert port.fed == [b"AT+CIPSEND=6\r\n", b'a,"\r\n\\']


async def test_data_prompt(make_rig: MakeRig) -> None:
    rig = await make_rig("inproc", with_flash=True)
    client = rig.client
    await client.send("AT+SYSFLASH", 0, "mfg_nvs", 0, 4096)
    done = await client.send_data("AT+SYSFLASH", b'a,"\\', 1, "mfg_nvs", 0, 4)
    assert done.final == "OK"
    read = await client.send("AT+SYSFLASH", 2, "mfg_nvs", 0, 4)
    assert read.lines == (b'+SYSFLASH:4,a,"\\',)
    with pytest.raises(AtCommandError):
        await client.send_data("AT+SYSFLASH", b"x", 1, "no_such_partition", 0, 1)
