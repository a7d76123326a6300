"""A host driver's start-up sequence, byte for byte, over a PTY opened with pyserial.

The sequence is the one firmware-facts.md lists: each command must succeed or fail
exactly as on a real ESP32 running ESP-AT.
"""

from __future__ import annotations

import re

from .helpers import Port, close_port, open_port

OK = b"\r\nOK\r\n"
ERROR = b"\r\nERROR\r\n"


async def _booted_pty() -> tuple[Port, list[int]]:
    port, extra = await open_port("pty")
    await port.module.start()
    assert await port.read_until(b"ready\r\n") == b"\r\nready\r\n"
    return port, extra


async def test_driver_start_up_sequence() -> None:
    port, extra = await _booted_pty()
    try:
        assert await port.command(b"AT") == b"AT\r\n" + OK
        assert await port.command(b"ATE0") == b"ATE0\r\n" + OK  # echoed before it applies
        # Drivers often send AT+UART_CUR and carry on without reading its answer.
        await port.send(b"AT+UART_CUR=115200,8,1,0,0\r\n")
        await port.send(b"AT+GMR\r\n")
        assert await port.read_until(OK) == OK
        gmr = await port.read_until(OK)
        lines = gmr.split(b"\r\n")
        assert re.fullmatch(rb"AT version:4\.1\.1\.0\(.*\)", lines[0]), gmr
        assert lines[1] == b"SDK version:v5.4.1", gmr
        assert lines[2].startswith(b"compile time("), gmr
        assert lines[3] == b"Bin version:v4.1.1.0(WROOM-32)", gmr
        assert lines[4:] == [b"", b"OK", b""], gmr
        assert await port.command(b"AT+CIPMUX?") == b"+CIPMUX:0\r\n" + OK
        assert await port.command(b"AT+CIPMUX=1") == OK
        assert await port.command(b"AT+CIPSSLSIZE=4096") == ERROR  # ESP8266 only
        assert await port.command(b"AT+CWSTATE?") == b'+CWSTATE:0,""\r\n' + OK
        assert await port.command(b"AT+SYSSTORE=0") == OK
        assert await port.command(b"AT+CWMODE?") == b"+CWMODE:1\r\n" + OK
        await port.send(b"AT+RST\r\n")
        assert await port.read_until(b"ready\r\n") == OK + b"\r\nready\r\n"
        # after the reset: echo is back on, AT+CIPMUX and AT+SYSSTORE are back to default
        assert await port.command(b"AT") == b"AT\r\n" + OK
        assert await port.command(b"AT+CIPMUX?") == b"AT+CIPMUX?\r\n+CIPMUX:0\r\n" + OK
        assert await port.command(b"AT+SYSSTORE?") == b"AT+SYSSTORE?\r\n+SYSSTORE:1\r\n" + OK
        assert await port.settle() == b""
    finally:
        await close_port(port, extra)


async def test_start_up_sequence_sent_in_one_burst() -> None:
    """A driver that writes everything at once still gets every answer, in order."""
    port, extra = await _booted_pty()
    try:
        await port.send(
            b"AT\r\nATE0\r\nAT+UART_CUR=115200,8,1,0,0\r\nAT+CIPMUX=1\r\n"
            b"AT+CIPSSLSIZE=4096\r\nAT+SYSSTORE=0\r\nAT\r\n"
        )
        expected = b"AT\r\n" + OK + b"ATE0\r\n" + OK + OK + OK + ERROR + OK + OK
        assert await port.read_until(expected) == expected
        assert await port.settle() == b""
    finally:
        await close_port(port, extra)
