"""Radio settings: AT+CWBANDWIDTH, AT+CWSTAPROTO, AT+CWAPPROTO, AT+CWCONFIG, with
ESP-IDF's rules between them, their interfaces, and storing per AT+SYSSTORE."""

from __future__ import annotations

import pytest

from esp_at_sim.core.settings import MemorySettingsStore

from .conftest import Boot
from .harness import At


async def test_bandwidth_per_interface(at: At) -> None:
    assert await at.ok("AT+CWBANDWIDTH?") == b"+CWBANDWIDTH:0,2,0\r\n"  # 40 MHz on ESP32
    await at.ok("AT+CWBANDWIDTH=0,1")
    await at.error("AT+CWBANDWIDTH=1,1")  # no SoftAP in mode 1
    await at.ok("AT+CWMODE=3")
    assert await at.ok("AT+CWBANDWIDTH?") == b"+CWBANDWIDTH:0,1,0\r\n+CWBANDWIDTH:1,2,0\r\n"
    await at.ok("AT+CWBANDWIDTH=1,0,2")  # 0 keeps the 2.4 GHz bandwidth
    await at.ok("AT+CWBANDWIDTH=1,1")
    assert await at.ok("AT+CWBANDWIDTH?") == b"+CWBANDWIDTH:0,1,0\r\n+CWBANDWIDTH:1,1,0\r\n"
    await at.ok("AT+CWMODE=0")
    await at.error("AT+CWBANDWIDTH?")


async def test_protocols_and_their_bandwidth_rule(at: At) -> None:
    assert await at.ok("AT+CWSTAPROTO?") == b"+CWSTAPROTO:7\r\n"
    await at.error("AT+CWAPPROTO?")  # no SoftAP in mode 1
    for bad in (0, 2, 4, 5, 6, 12, 16):
        await at.error(f"AT+CWSTAPROTO={bad}")
    await at.error("AT+CWSTAPROTO=128")
    await at.ok("AT+CWSTAPROTO=3")  # b/g: 40 MHz needs 802.11n, so 20 MHz
    assert await at.ok("AT+CWBANDWIDTH?") == b"+CWBANDWIDTH:0,1,0\r\n"
    await at.error("AT+CWBANDWIDTH=0,2")
    await at.ok("AT+CWSTAPROTO=15")
    await at.ok("AT+CWBANDWIDTH=0,2")
    await at.ok("AT+CWMODE=2")
    assert await at.ok("AT+CWAPPROTO?") == b"+CWAPPROTO:7\r\n"
    await at.ok("AT+CWAPPROTO=1")
    assert await at.ok("AT+CWAPPROTO?") == b"+CWAPPROTO:1\r\n"
    await at.error("AT+CWSTAPROTO?")


async def test_an_lr_only_station_finds_no_ordinary_ap(at: At) -> None:
    await at.ok("AT+CWSTAPROTO=8")
    assert await at.cmd('AT+CWJAP="Lab","pass1234"') == (
        b'AT+CWJAP="Lab","pass1234"\r\n+CWJAP:3\r\n\r\nERROR\r\n'
    )
    await at.ok("AT+CWSTAPROTO=7")
    await at.ok('AT+CWJAP="Lab","pass1234"')


async def test_config_times_and_the_global_listen_interval(at: At) -> None:
    assert await at.ok("AT+CWCONFIG?") == b"+CWCONFIG:300,6,3\r\n"
    await at.ok("AT+CWCONFIG=60")
    await at.ok("AT+CWCONFIG=,10")
    await at.ok("AT+CWCONFIG=,,7")
    assert await at.ok("AT+CWCONFIG?") == b"+CWCONFIG:60,10,7\r\n"
    await at.ok('AT+CWJAP="Lab","pass1234",,,,9')  # CWJAP's listen interval is the same one
    assert await at.ok("AT+CWCONFIG?") == b"+CWCONFIG:60,10,9\r\n"
    assert (await at.ok("AT+CWJAP?")).endswith(b",9,0,1\r\n")
    await at.ok("AT+CWCONFIG=3600,600,100")
    assert await at.ok("AT+CWCONFIG?") == b"+CWCONFIG:3600,600,100\r\n"


@pytest.mark.parametrize(
    "line",
    [
        "AT+CWCONFIG=",
        "AT+CWCONFIG=9",
        "AT+CWCONFIG=3601",
        "AT+CWCONFIG=,2",
        "AT+CWCONFIG=,601",
        "AT+CWCONFIG=,,0",
        "AT+CWCONFIG=,,101",
        'AT+CWCONFIG="60"',
        "AT+CWCONFIG=60,10,7,1",
        "AT+CWBANDWIDTH=2,1",
        "AT+CWBANDWIDTH=0,3",
        "AT+CWBANDWIDTH=0",
        "AT+CWBANDWIDTH=0,1,3",
    ],
)
async def test_bad_lines_change_nothing(at: At, line: str) -> None:
    await at.ok("AT+CWMODE=3")
    before = [await at.cmd(q) for q in ("AT+CWCONFIG?", "AT+CWBANDWIDTH?")]
    await at.error(line)
    assert [await at.cmd(q) for q in ("AT+CWCONFIG?", "AT+CWBANDWIDTH?")] == before


async def test_stored_as_sysstore_says(make_at: Boot, store: MemorySettingsStore) -> None:
    at = await make_at(store=store)
    await at.ok("AT+CWMODE=3")
    for line in ("AT+CWSTAPROTO=11", "AT+CWAPPROTO=15", "AT+CWBANDWIDTH=1,1", "AT+CWCONFIG=30,9,4"):
        await at.ok(line)
    queries = ("AT+CWSTAPROTO?", "AT+CWAPPROTO?", "AT+CWBANDWIDTH?", "AT+CWCONFIG?")
    before = [await at.cmd(q) for q in queries]
    await at.reboot()
    assert [await at.cmd(q) for q in queries] == before
    await at.ok("AT+SYSSTORE=0")
    await at.ok("AT+CWAPPROTO=1")
    await at.ok("AT+CWCONFIG=40")
    await at.reboot()
    assert [await at.cmd(q) for q in queries] == before
