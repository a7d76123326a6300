"""Basic and system commands, byte for byte as the firmware answers them."""

from __future__ import annotations

import re

import pytest

from esp_at_sim.core.settings import MemorySettingsStore
from esp_at_sim.testing import AtHarness, start_module


async def test_at(at: AtHarness) -> None:
    assert await at.cmd("AT") == b"AT\r\n\r\nOK\r\n"


async def test_echo_off_and_on(at: AtHarness) -> None:
    assert await at.cmd("ATE0") == b"ATE0\r\n\r\nOK\r\n"
    assert await at.cmd("AT") == b"\r\nOK\r\n"
    assert await at.cmd("ATE1") == b"\r\nOK\r\n"
    assert await at.cmd("AT") == b"AT\r\n\r\nOK\r\n"


@pytest.mark.parametrize("line", ["ATE2", "ATE", "ATE01", "ate0", "AT E0"])
async def test_bad_echo_forms(at: AtHarness, line: str) -> None:
    assert (await at.cmd(line)).endswith(b"\r\nERROR\r\n")
    assert await at.cmd("AT") == b"AT\r\n\r\nOK\r\n"  # echo still on


async def test_gmr_four_lines(at: AtHarness) -> None:
    out = await at.cmd("AT+GMR")
    lines = out.split(b"\r\n")
    assert lines[0] == b"AT+GMR"
    assert re.fullmatch(rb"AT version:4\.1\.1\.0\(s-[0-9a-f]{7} - ESP32 - .+\)", lines[1])
    assert lines[2] == b"SDK version:v5.4.1"
    assert re.fullmatch(rb"compile time\([0-9a-f]{8}\):\w{3} \d\d \d{4} \d\d:\d\d:\d\d", lines[3])
    assert lines[4] == b"Bin version:v4.1.1.0(WROOM-32)"
    assert lines[5:] == [b"", b"OK", b""]


async def test_cmd_lists_every_command_with_forms(at: AtHarness) -> None:
    out = await at.cmd("AT+CMD?")
    rows = re.findall(rb'\+CMD:(\d+),"([^"]+)",([01]),([01]),([01]),([01])\r\n', out)
    assert [int(r[0]) for r in rows] == list(range(len(rows)))
    forms = {r[1].decode(): tuple(int(x) for x in r[2:]) for r in rows}
    assert forms["AT"] == (0, 0, 0, 1)
    assert forms["AT+GMR"] == (0, 0, 0, 1)
    assert forms["AT+SYSLOG"] == (0, 1, 1, 0)
    assert forms["AT+CMD"] == (0, 1, 0, 0)
    assert len(rows) == len(at.module.table)
    assert out.endswith(b"\r\n\r\nOK\r\n")


async def test_error_codes_with_syslog(at: AtHarness) -> None:
    assert await at.cmd("AT+SYSLOG?") == b"AT+SYSLOG?\r\n+SYSLOG:0\r\n\r\nOK\r\n"
    assert (await at.cmd("AT+FAKE")) == b"AT+FAKE\r\n\r\nERROR\r\n"  # no code while off
    await at.cmd("AT+SYSLOG=1")
    cases = {
        "AT+FAKE": "0x01090000",
        "at": "0x01030000",
        "AT+SYSLOG=1,2": "0x01060102",
        "AT+SYSLOG=2": "0x01070000",
        'AT+SYSLOG="1"': "0x01050000",
        "AT+SYSLOG=": "0x01080000",
        "AT+GMR?": "0x010c0000",
        'AT+SYSLOG="1': "0x01080000",
    }
    for line, code in cases.items():
        out = await at.cmd(line)
        assert out == line.encode() + b"\r\nERR CODE:" + code.encode() + b"\r\n\r\nERROR\r\n", line
    assert await at.cmd("AT+SYSLOG?") == b"AT+SYSLOG?\r\n+SYSLOG:1\r\n\r\nOK\r\n"


async def test_restart_prints_ok_then_ready_and_resets_echo(at: AtHarness) -> None:
    await at.cmd("ATE0")
    await at.cmd("AT+SYSLOG=1")
    assert await at.cmd("AT+RST") == b"\r\nOK\r\n"
    assert await at.wait_for(b"ready\r\n") == b"\r\nready\r\n"
    assert await at.cmd("AT") == b"AT\r\n\r\nOK\r\n"
    assert await at.cmd("AT+SYSLOG?") == b"AT+SYSLOG?\r\n+SYSLOG:0\r\n\r\nOK\r\n"
    assert at.module.boot_count == 2


async def test_input_during_reboot_is_lost(at: AtHarness) -> None:
    await at.cmd("ATE0")
    at.module.feed(b"AT+RST\r\n")
    await at.wait_for(b"\r\nOK\r\n")
    at.module.feed(b"AT\r\n")  # the chip is resetting: nobody reads this
    assert await at.wait_for(b"ready\r\n") == b"\r\nready\r\n"
    assert await at.settle() == b""


async def test_sysstore_controls_persistence() -> None:
    store = MemorySettingsStore()
    module, at = await start_module(store=store)
    try:
        await at.cmd("AT+SYSSTORE=0")
        assert await at.cmd("AT+SYSSTORE?") == b"AT+SYSSTORE?\r\n+SYSSTORE:0\r\n\r\nOK\r\n"
        await at.cmd("AT+SYSMSG=3")
        assert b"+SYSMSG:3" in await at.cmd("AT+SYSMSG?")
        await at.cmd("AT+RST")
        await at.wait_for(b"ready\r\n")
        assert b"+SYSMSG:0" in await at.cmd("AT+SYSMSG?")  # was not stored
        assert b"+SYSSTORE:1" in await at.cmd("AT+SYSSTORE?")  # back to the default
        await at.cmd("AT+SYSMSG=5")
        await at.cmd("AT+RST")
        await at.wait_for(b"ready\r\n")
        assert b"+SYSMSG:5" in await at.cmd("AT+SYSMSG?")
        assert store.load()["sysmsg"] == 5
    finally:
        await module.close()


async def test_restore_erases_settings_and_reboots() -> None:
    store = MemorySettingsStore()
    module, at = await start_module(store=store)
    try:
        await at.cmd("AT+SYSMSG=5")
        await at.cmd("AT+UART_DEF=9600,8,1,0,0")
        assert await at.cmd("AT+RESTORE") == b"AT+RESTORE\r\n\r\nOK\r\n"
        await at.wait_for(b"ready\r\n")
        assert b"+SYSMSG:0" in await at.cmd("AT+SYSMSG?")
        assert b"+UART_DEF:115200,8,1,0,0" in await at.cmd("AT+UART_DEF?")
        assert store.load() == {}
    finally:
        await module.close()


async def test_state_unchanged_after_error(at: AtHarness) -> None:
    await at.cmd("AT+SYSMSG=2")
    for line in ("AT+SYSMSG=8", "AT+SYSMSG=-1", "AT+SYSMSG=1,1", 'AT+SYSMSG="1"', "AT+SYSMSG=1a"):
        assert (await at.cmd(line)).endswith(b"ERROR\r\n")
    assert b"+SYSMSG:2\r\n" in await at.cmd("AT+SYSMSG?")


async def test_uart_cur_reports_the_divider_rate(at: AtHarness) -> None:
    assert await at.cmd("AT+UART_CUR?") == b"AT+UART_CUR?\r\n+UART_CUR:115201,8,1,0,0\r\n\r\nOK\r\n"
    assert await at.cmd("AT+UART_CUR=921600,8,1,0,3") == b"AT+UART_CUR=921600,8,1,0,3\r\n\r\nOK\r\n"
    await at.settle(5)
    assert b"+UART_CUR:922190,8,1,0,3" in await at.cmd("AT+UART_CUR?")
    assert b"+UART_DEF:115200,8,1,0,0" in await at.cmd("AT+UART_DEF?")
    for bad in (
        "AT+UART_CUR=79,8,1,0,0",
        "AT+UART_CUR=115200,9,1,0,0",
        "AT+UART_CUR=115200,8,4,0,0",
        "AT+UART_CUR=115200,8,1,3,0",
        "AT+UART_CUR=115200,8,1,0,4",
        "AT+UART_CUR=115200,8,1,0",
    ):
        assert (await at.cmd(bad)).endswith(b"\r\nERROR\r\n"), bad


async def test_uart_def_is_always_saved(at: AtHarness) -> None:
    await at.cmd("AT+SYSSTORE=0")
    await at.cmd("AT+UART_DEF=57600,8,1,2,0")
    await at.cmd("AT+RST")
    await at.wait_for(b"ready\r\n")
    assert b"+UART_DEF:57600,8,1,2,0" in await at.cmd("AT+UART_DEF?")
    assert b"+UART_CUR:57600,8,1,2,0" in await at.cmd("AT+UART_CUR?")


async def test_sysram(at: AtHarness) -> None:
    out = await at.cmd("AT+SYSRAM?")
    match = re.fullmatch(rb"AT\+SYSRAM\?\r\n\+SYSRAM:(\d+),(\d+)\r\n\r\nOK\r\n", out)
    assert match and int(match[2]) <= int(match[1])
    out = await at.cmd("AT+SYSRAM=0x1800")
    assert re.fullmatch(rb"AT\+SYSRAM=0x1800\r\n\+SYSRAM:\d+,\d+,\d+,\d+\r\n\r\nOK\r\n", out)


async def test_systimestamp_runs_on_the_module_clock(at: AtHarness) -> None:
    assert await at.cmd("AT+SYSTIMESTAMP=1565853509") == (
        b"AT+SYSTIMESTAMP=1565853509\r\n\r\nOK\r\n"
    )
    await at.module.clock.sleep(10)
    assert b"+SYSTIMESTAMP:1565853519\r\n" in await at.cmd("AT+SYSTIMESTAMP?")


async def test_deep_sleep_prints_time_then_boots(at: AtHarness) -> None:
    assert await at.cmd("AT+GSLP=1500") == b"AT+GSLP=1500\r\n1500\r\n\r\nOK\r\n"
    start = at.module.clock.now()
    await at.wait_for(b"ready\r\n")
    assert at.module.clock.now() - start >= 1.5


async def test_sleep_modes(at: AtHarness) -> None:
    assert b"+SLEEP:1" in await at.cmd("AT+SLEEP?")
    assert (await at.cmd("AT+SLEEP=0")).endswith(b"\r\nOK\r\n")
    assert b"+SLEEP:0" in await at.cmd("AT+SLEEP?")
    assert (await at.cmd("AT+SLEEP=4")).endswith(b"\r\nERROR\r\n")
    await at.cmd("AT+CWMODE=3")
    assert (await at.cmd("AT+SLEEP=1")).endswith(b"\r\nERROR\r\n")
    assert (await at.cmd("AT+SLEEP=2")).endswith(b"\r\nERROR\r\n")
    assert b"+SLEEP:0" in await at.cmd("AT+SLEEP?")
