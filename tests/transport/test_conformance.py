"""The same AT-port behaviour over every transport (see conftest.py for the four)."""

from __future__ import annotations

import asyncio

import pytest

from .helpers import RECONNECTABLE, Port, PySerialClient, close_port, open_port

OK = b"\r\nOK\r\n"
ERROR = b"\r\nERROR\r\n"


async def test_at_answers_ok_with_echo(port: Port) -> None:
    await port.send(b"AT\r\n")
    assert await port.read_until(OK) == b"AT\r\n" + OK
    assert await port.settle() == b""


@pytest.mark.parametrize("kind", ["memory", "pty", "tcp", "serial"])
async def test_ready_is_the_first_thing_after_boot(kind: str) -> None:
    port, extra = await open_port(kind)
    arrived = asyncio.Event()  # the module has the bytes (and drops them: it is booting)
    port.module.bus.subscribe(lambda e: arrived.set() if e.kind == "at.lost" else None)
    try:
        await port.send(b"AT\r\n")  # the UART is not up yet: lost
        await asyncio.wait_for(arrived.wait(), 5)
        await port.module.start()
        await port.send(b"AT\r\n")
        assert await port.read_until(OK) == b"\r\nready\r\nAT\r\n" + OK
        # AT+RST: OK, then ready again after the reboot
        await port.send(b"AT+RST\r\n")
        assert await port.read_until(b"ready\r\n") == b"AT+RST\r\n" + OK + b"\r\nready\r\n"
    finally:
        await close_port(port, extra)


async def test_line_split_at_every_position(port: Port) -> None:
    line = b"AT+GMR\r\n"
    for cut in range(1, len(line)):
        await port.send(line[:cut])
        await asyncio.sleep(0.002)  # give the first part time to arrive on its own
        await port.send(line[cut:])
        out = await port.read_until(OK)
        assert out.startswith(line) and b"AT version:" in out, (cut, out)


async def test_one_byte_at_a_time(port: Port) -> None:
    for byte in b"AT+GMR\r\nAT\r\n":
        await port.send(bytes([byte]))
    out = await port.read_until(b"AT\r\n" + OK)
    assert out.startswith(b"AT+GMR\r\nAT version:")
    assert out.count(OK) == 2


async def test_cr_lf_split_across_reads(port: Port) -> None:
    await port.send(b"AT\r")
    await asyncio.sleep(0.02)
    assert await port.settle(0.0) == b""  # no answer before the LF
    await port.send(b"\n")
    assert await port.read_until(OK) == b"AT\r\n" + OK


async def test_lone_cr_is_part_of_the_line(port: Port) -> None:
    # Every byte passes unchanged (no CR→LF translation on the way): the echo proves it.
    await port.send(b"AT\rX\r\n")
    assert await port.read_until(ERROR) == b"AT\rX\r\n" + ERROR
    assert await port.command(b"AT") == b"AT\r\n" + OK


async def test_binary_garbage_then_a_good_line(port: Port) -> None:
    garbage = bytes(range(256))  # includes a bare LF at 0x0a: a line without CR
    await port.send(garbage + b"\r\n")
    out = await port.read_until(ERROR)
    out += await port.read_until(ERROR)
    assert out == garbage[:11] + ERROR + garbage[11:] + b"\r\n" + ERROR
    assert await port.command(b"AT") == b"AT\r\n" + OK


async def test_300_byte_line_is_an_error(port: Port) -> None:
    line = b"AT+" + b"A" * 295 + b"\r\n"
    assert len(line) == 300
    await port.send(line)
    assert await port.read_until(ERROR) == ERROR  # discarded unechoed
    assert await port.command(b"AT") == b"AT\r\n" + OK


async def test_flood_of_100_lines_all_answered(port: Port) -> None:
    await port.send(b"AT\r\n" * 100)
    out = b""
    for _ in range(100):
        out += await port.read_until(OK)
    assert out == (b"AT\r\n" + OK) * 100
    assert await port.settle() == b""


async def test_unknown_command_is_an_error(port: Port) -> None:
    assert await port.command(b"AT+NOSUCH") == b"AT+NOSUCH\r\n" + ERROR
    assert await port.command(b"AT+NOSUCH?") == b"AT+NOSUCH?\r\n" + ERROR


@pytest.mark.parametrize("port", RECONNECTABLE, indirect=True)
async def test_output_is_lost_while_nobody_listens(port: Port) -> None:
    if isinstance(port.client, PySerialClient):
        port.client.plain = True  # pyserial would flush stale input on open and hide it
    await port.client.disconnect()
    await port.wait_connected(False)
    port.module.urc("LOST-WHILE-AWAY")
    port.module.urc("STILL-AWAY")
    await asyncio.sleep(0.02)
    await port.reconnect()
    await port.send(b"AT\r\n")
    assert await port.read_until(OK) == b"AT\r\n" + OK
    # and the client can leave and come back again
    await port.client.disconnect()
    await port.wait_connected(False)
    await port.reconnect()
    assert await port.command(b"AT") == b"AT\r\n" + OK
