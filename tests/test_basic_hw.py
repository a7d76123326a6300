"""AT+RFPOWER, AT+RFCAL, AT+SLEEPWKCFG, AT+SYSREG, and deep sleep (AT+GSLP) on the
module's clock."""

from __future__ import annotations

import pytest

from esp_at_sim.core.events import Event
from esp_at_sim.radio.world import ModuleConfig, Scenario
from esp_at_sim.testing import AtHarness, start_module


async def test_rfpower_in_the_esp32_steps(at: AtHarness) -> None:
    assert await at.cmd("AT+RFPOWER?") == b"AT+RFPOWER?\r\n+RFPOWER:78,0,0,0\r\n\r\nOK\r\n"
    for wanted, step in ((84, 78), (78, 78), (77, 72), (66, 66), (52, 52), (51, 44), (40, 34)):
        assert (await at.cmd(f"AT+RFPOWER={wanted}")).endswith(b"\r\nOK\r\n")
        assert f"+RFPOWER:{step},0,0,0\r\n".encode() in await at.cmd("AT+RFPOWER?")


async def test_rfpower_on_esp32c3_reports_the_set_value() -> None:
    module, at = await start_module(Scenario(module=ModuleConfig(chip="esp32c3")))
    try:
        assert b"+RFPOWER:80,0,0,0\r\n" in await at.cmd("AT+RFPOWER?")
        await at.cmd("AT+RFPOWER=83")
        assert b"+RFPOWER:83,0,0,0\r\n" in await at.cmd("AT+RFPOWER?")
        assert (await at.cmd("AT+RFPOWER=60,15,15,15")).endswith(b"\r\nERROR\r\n")
    finally:
        await module.close()


@pytest.mark.parametrize(
    "line",
    [
        "AT+RFPOWER=39",
        "AT+RFPOWER=85",
        "AT+RFPOWER=78,0,0,0",  # Bluetooth LE is not initialized
        "AT+RFPOWER=,5,5,5",
        "AT+RFPOWER=78,8,8,8",
        "AT+RFPOWER=",
        'AT+RFPOWER="78"',
    ],
)
async def test_bad_rfpower_changes_nothing(at: AtHarness, line: str) -> None:
    await at.cmd("AT+RFPOWER=60")
    assert (await at.cmd(line)).endswith(b"\r\nERROR\r\n")
    assert b"+RFPOWER:60,0,0,0\r\n" in await at.cmd("AT+RFPOWER?")


async def test_rfpower_needs_wifi(at: AtHarness) -> None:
    await at.cmd("AT+CWMODE=0")
    assert (await at.cmd("AT+RFPOWER?")).endswith(b"\r\nERROR\r\n")
    assert (await at.cmd("AT+RFPOWER=60")).endswith(b"\r\nERROR\r\n")
    await at.cmd("AT+CWMODE=1")
    await at.cmd("AT+CWINIT=0")
    assert (await at.cmd("AT+RFPOWER?")).endswith(b"\r\nERROR\r\n")


async def test_rfpower_is_not_stored(at: AtHarness) -> None:
    await at.cmd("AT+RFPOWER=44")
    await at.cmd("AT+RST")
    await at.wait_for(b"ready\r\n")
    assert b"+RFPOWER:78,0,0,0\r\n" in await at.cmd("AT+RFPOWER?")


async def test_rfcal_takes_its_time_and_is_busy(at: AtHarness) -> None:
    at.port.feed(b"AT+RFCAL\r\nAT\r\n")
    assert await at.wait_for(b"\r\nOK\r\n") == b"AT+RFCAL\r\n\r\nbusy p...\r\n\r\nOK\r\n"


async def test_sleepwkcfg_takes_a_wake_pin(at: AtHarness) -> None:
    seen: list[Event] = []
    at.module.bus.subscribe(seen.append)
    assert await at.cmd("AT+SLEEPWKCFG=2,12,0") == b"AT+SLEEPWKCFG=2,12,0\r\n\r\nOK\r\n"
    await at.cmd("AT+SLEEP=2")
    sleep = [e for e in seen if e.kind == "sleep.mode"]
    assert sleep[-1].data == {"mode": 2, "wakeup_gpio": [12, 0]}
    for bad in (
        "AT+SLEEPWKCFG=0,12,0",
        "AT+SLEEPWKCFG=1,12",
        "AT+SLEEPWKCFG=2,20,0",
        "AT+SLEEPWKCFG=2,40,1",
        "AT+SLEEPWKCFG=2,12",
        "AT+SLEEPWKCFG=2,12,2",
        "AT+SLEEPWKCFG=3,12,0",
        "AT+SLEEPWKCFG?",
    ):
        assert (await at.cmd(bad)).endswith(b"\r\nERROR\r\n"), bad
    assert at.module.system.wakeup_gpio == (12, 0)


async def test_sysreg_reads_what_was_written(at: AtHarness) -> None:
    assert await at.cmd("AT+SYSREG=0,0x3FF44004") == (
        b"AT+SYSREG=0,0x3FF44004\r\n+SYSREG:0x0\r\n\r\nOK\r\n"
    )
    assert await at.cmd("AT+SYSREG=1,0x3FF44004,0xdeadbeef") == (
        b"AT+SYSREG=1,0x3FF44004,0xdeadbeef\r\n\r\nOK\r\n"
    )
    assert b"+SYSREG:0xdeadbeef\r\n" in await at.cmd("AT+SYSREG=0,1072971780")
    for bad in (
        "AT+SYSREG=0",
        "AT+SYSREG=1,0x3FF44004",
        "AT+SYSREG=0,0x3FF44004,1",
        "AT+SYSREG=2,0x3FF44004",
        "AT+SYSREG=0,0x100000000",
        "AT+SYSREG?",
    ):
        assert (await at.cmd(bad)).endswith(b"\r\nERROR\r\n"), bad


@pytest.mark.parametrize("address", ["0x0", "0x3FF44005", "0x40080000"])
async def test_sysreg_at_a_bad_address_crashes_the_chip(at: AtHarness, address: str) -> None:
    await at.cmd("AT+SYSREG=1,0x3FF44004,7")
    at.port.feed(f"AT+SYSREG=0,{address}\r\n".encode())
    assert await at.wait_for(b"ready\r\n") == f"AT+SYSREG=0,{address}\r\n\r\nready\r\n".encode()
    assert b"+SYSREG:0x0\r\n" in await at.cmd("AT+SYSREG=0,0x3FF44004")  # a fresh chip


async def test_deep_sleep_loses_input_and_wakes_on_the_module_clock(at: AtHarness) -> None:
    start = at.module.clock.now()
    assert await at.cmd("AT+GSLP=5000") == b"AT+GSLP=5000\r\n5000\r\n\r\nOK\r\n"
    at.port.feed(b"AT\r\n")  # asleep: nobody reads the UART
    assert await at.wait_for(b"ready\r\n") == b"\r\nready\r\n"
    assert at.module.clock.now() - start >= 5.0
    assert await at.cmd("AT") == b"AT\r\n\r\nOK\r\n"
