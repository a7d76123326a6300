"""One codec per stored setting: a corrupt stored value never stops a boot, takes its
default, and is reported (event ``flash.bad_setting``, ``flash info``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from esp_at_sim.cli.main import main
from esp_at_sim.core.events import Event
from esp_at_sim.core.settings import I8, U8, MemorySettingsStore, SettingValue
from esp_at_sim.device import settings_schema as S
from esp_at_sim.factory import create_module
from esp_at_sim.flash import FlashImage
from esp_at_sim.flash.flashfile import load_layout
from esp_at_sim.testing import AtHarness, assert_no_tasks_left

# (stored settings, with one corrupt value first; a query; what it answers by default)
W = "nvs.net80211:"
# AT+UART_DEF=9600,7,2,1,3 as ESP-AT stores it (parity 1, odd, is ESP-IDF's 3)
UART_OK: dict[str, SettingValue] = {
    "UART:rate": 9600,
    "UART:databits": I8(2),
    "UART:stopbits": I8(2),
    "UART:parity": I8(3),
    "UART:flow_ctrl": I8(3),
}


def _uart(key: str, value: SettingValue) -> dict[str, SettingValue]:
    """The stored UART configuration with ``key`` (first) holding ``value``."""
    return {key: value, **{k: v for k, v in UART_OK.items() if k != key}}


SSID = b"\x03\0\0\0lab" + bytes(29)  # the driver's form: u32 length, 32 bytes

CASES: list[tuple[dict[str, SettingValue], str, bytes]] = [
    ({"sysmsg": 9}, "AT+SYSMSG?", b"+SYSMSG:0\r\n"),
    ({"sysmsg": "3"}, "AT+SYSMSG?", b"+SYSMSG:0\r\n"),
    ({"uart_def": "115200,8,1"}, "AT+UART_DEF?", b"+UART_DEF:115200,8,1,0,0\r\n"),
    ({"uart_def": "9600,9,1,0,0"}, "AT+UART_DEF?", b"+UART_DEF:115200,8,1,0,0\r\n"),
    ({"uart_def": b"9600,8,1,0,0"}, "AT+UART_DEF?", b"+UART_DEF:115200,8,1,0,0\r\n"),
    # ESP-AT's UART namespace: a value out of range keeps its own default, the rest counts
    (_uart("UART:rate", 50), "AT+UART_DEF?", b"+UART_DEF:115200,7,2,1,3\r\n"),
    (_uart("UART:databits", I8(4)), "AT+UART_DEF?", b"+UART_DEF:9600,8,2,1,3\r\n"),
    (_uart("UART:stopbits", I8(0)), "AT+UART_DEF?", b"+UART_DEF:9600,7,1,1,3\r\n"),
    (_uart("UART:parity", I8(1)), "AT+UART_DEF?", b"+UART_DEF:9600,7,2,0,3\r\n"),
    (_uart("UART:flow_ctrl", I8(4)), "AT+UART_DEF?", b"+UART_DEF:9600,7,2,1,0\r\n"),
    ({"reconnintv": 0}, "AT+CIPRECONNINTV?", b"+CIPRECONNINTV:1\r\n"),
    ({"sntpcfg": "1;99;time.example.com"}, "AT+CIPSNTPCFG?", b'+CIPSNTPCFG:0,8,"cn.ntp'),
    ({"sntpcfg": "2;8;"}, "AT+CIPSNTPCFG?", b'+CIPSNTPCFG:0,8,"cn.ntp'),
    ({"sntpcfg": "1;8;a,,b"}, "AT+CIPSNTPCFG?", b'+CIPSNTPCFG:0,8,"cn.ntp'),
    ({"cipdns": "1;8.8.8.300"}, "AT+CIPDNS?", b'+CIPDNS:0,"208.67.222.222",'),
    ({"cipdns": "2;"}, "AT+CIPDNS?", b'+CIPDNS:0,"208.67.222.222",'),
    ({"tcpopt": "-1,0,0,0;x"}, "AT+CIPTCPOPT?", b"+CIPTCPOPT:0,-1,0,0,0\r\n"),
    ({"tcpopt": "-1,0,0,9000"}, "AT+CIPTCPOPT?", b"+CIPTCPOPT:0,-1,0,0,0\r\n"),
    ({"sslcconf": "1,2"}, "AT+CIPSSLCCONF?", b"+CIPSSLCCONF:0,0,0,0\r\n"),  # raised at boot
    ({"savetranslink": "1,TCP,0,0,0,x"}, "AT+CIPMODE?", b"+CIPMODE:0\r\n"),  # no passthrough
    ({"sslcconf": "1,2,3;" * 6}, "AT+CIPSSLCCONF?", b"+CIPSSLCCONF:0,0,0,0\r\n"),
    ({W + "opmode": U8(9)}, "AT+CWMODE?", b"+CWMODE:1\r\n"),
    ({"autoconn": 2}, "AT+CWAUTOCONN?", b"+CWAUTOCONN:1\r\n"),
    ({W + "sta.ssid": b"Home"}, "AT+CWSTATE?", b'+CWSTATE:0,""\r\n'),  # no length word
    ({W + "sta.ssid": b"\x21\0\0\0" + bytes(32)}, "AT+CWSTATE?", b'+CWSTATE:0,""\r\n'),
    ({W + "sta.pswd": "secret99", W + "sta.ssid": SSID}, "AT+CWSTATE?", b'+CWSTATE:'),
    ({W + "bssid.set": U8(2)}, "AT+CWSTATE?", b'+CWSTATE:0,""\r\n'),
    ({W + "sta.bssid": b"\x01\x02"}, "AT+CWSTATE?", b'+CWSTATE:0,""\r\n'),
    ({W + "sta.lis_intval": 101}, "AT+CWSTATE?", b'+CWSTATE:0,""\r\n'),
    ({W + "sta.apinfo": b"\xff" * 139}, "AT+CWSTATE?", b'+CWSTATE:0,""\r\n'),
    ({W + "sta.pmk": 0}, "AT+CWSTATE?", b'+CWSTATE:0,""\r\n'),
    ({W + "sta.apsw": b""}, "AT+CWSTATE?", b'+CWSTATE:0,""\r\n'),
    ({W + "ap.pmk_info": b"\0" * 133}, "AT+CWSTATE?", b'+CWSTATE:0,""\r\n'),
    ({W + "sta.minauth": 17}, "AT+CWSTATE?", b'+CWSTATE:0,""\r\n'),
    ({W + "sta.pmf_r": 3}, "AT+CWSTATE?", b'+CWSTATE:0,""\r\n'),
    ({"sta_opts": "0,2,1"}, "AT+CWSTATE?", b'+CWSTATE:0,""\r\n'),  # jap_timeout < 3
    ({"jap_timeout": 601}, "AT+CWSTATE?", b'+CWSTATE:0,""\r\n'),
    ({W + "sta.scan_method": U8(2)}, "AT+CWSTATE?", b'+CWSTATE:0,""\r\n'),
    ({W + "sta.pmf_e": U8(2)}, "AT+CWSTATE?", b'+CWSTATE:0,""\r\n'),
    ({"reconncfg": "a,b"}, "AT+CWRECONNCFG?", b"+CWRECONNCFG:0,0\r\n"),
    ({"dhcp": 4}, "AT+CWDHCP?", b"+CWDHCP:3\r\n"),
    ({"sta_ip": "192.168.1.9,192.168.1.1"}, "AT+CWDHCP?", b"+CWDHCP:3\r\n"),
    ({"ap_ip": 5, W + "opmode": U8(3)}, "AT+CIPAP?", b'+CIPAP:ip:"192.168.4.1"\r\n'),
    ({"dhcps": "x,y", W + "opmode": U8(3)}, "AT+CWDHCPS?", b"+CWDHCPS:120,"),
    ({"dhcps": "0,192.168.4.2,192.168.4.9", W + "opmode": U8(3)}, "AT+CWDHCPS?",
     b"+CWDHCPS:120,"),
    ({"sta_mac": "zz"}, "AT+CIPSTAMAC?", b'+CIPSTAMAC:"24:0a:c4:00:00:01"\r\n'),
    ({"ap_mac": "24:0a:c4:12:34", W + "opmode": U8(3)}, "AT+CIPAPMAC?",
     b'+CIPAPMAC:"24:0a:c4:00:00:02"'),
    ({W + "ap.ssid": b"lab", W + "opmode": U8(2)}, "AT+CWSAP?", b'+CWSAP:"ESP_'),
    ({W + "ap.passwd": b"p" * 65, W + "ap.ssid": SSID, W + "opmode": U8(2)}, "AT+CWSAP?",
     b'+CWSAP:"lab","",1,0,4,0'),
    ({W + "ap.chan": U8(15), W + "ap.ssid": SSID, W + "opmode": U8(2)}, "AT+CWSAP?",
     b'+CWSAP:"lab","",1,0,4,0'),
    ({W + "ap.authmode": U8(5), W + "ap.ssid": SSID, W + "opmode": U8(2)}, "AT+CWSAP?",
     b'+CWSAP:"lab","",1,0,4,0'),
    ({W + "ap.hidden": U8(7), W + "ap.ssid": SSID, W + "opmode": U8(2)}, "AT+CWSAP?",
     b'+CWSAP:"lab","",1,0,4,0'),
    ({W + "ap.max.conn": U8(0), W + "ap.ssid": SSID, W + "opmode": U8(2)}, "AT+CWSAP?",
     b'+CWSAP:"lab","",1,0,4,0'),
    # our earlier form: a bad value is reported, and dropped by the rewrite
    ({"cwmode": 9}, "AT+CWMODE?", b"+CWMODE:1\r\n"),
    ({"sta_ssid": "Home", "sta_pwd": b"secret99"}, "AT+CWSTATE?", b'+CWSTATE:0,""\r\n'),
    ({"sta_pwd": 12, "sta_ssid": b"Home"}, "AT+CWSTATE?", b'+CWSTATE:0,""\r\n'),
    ({"sta_bssid": "zz"}, "AT+CWSTATE?", b'+CWSTATE:0,""\r\n'),
    ({"sta_cfg": "0,3,0,2,1"}, "AT+CWSTATE?", b'+CWSTATE:0,""\r\n'),
    ({"sap_ssid": "lab", "sap_pwd": b"", "sap_cfg": "1,0,4,0", "cwmode": 2}, "AT+CWSAP?",
     b'+CWSAP:"ESP_'),
    ({"sap_pwd": b"p" * 65, "sap_ssid": b"lab", "sap_cfg": "1,3,4,0", "cwmode": 2}, "AT+CWSAP?",
     b'+CWSAP:"ESP_'),
    ({"sap_cfg": "1,1,4", "sap_ssid": b"lab", "sap_pwd": b"", "cwmode": 2}, "AT+CWSAP?",
     b'+CWSAP:"ESP_'),
    ({"cwbandwidth": "2,3"}, "AT+CWBANDWIDTH?", b"+CWBANDWIDTH:0,2,0\r\n"),
    ({"cwproto": "5,7"}, "AT+CWSTAPROTO?", b"+CWSTAPROTO:7\r\n"),  # no such protocol set
    ({"cwconfig": "5,6"}, "AT+CWCONFIG?", b"+CWCONFIG:300,6,3\r\n"),
    ({W + "sta.phybw": U8(3)}, "AT+CWBANDWIDTH?", b"+CWBANDWIDTH:0,2,0\r\n"),
    ({W + "ap.phybw": U8(0), W + "opmode": U8(2)}, "AT+CWBANDWIDTH?", b"+CWBANDWIDTH:1,2,0\r\n"),
    ({W + "sta.phym": U8(7)}, "AT+CWSTAPROTO?", b"+CWSTAPROTO:7\r\n"),  # a bitmap, not a mode
    ({W + "ap.phym": U8(0), W + "opmode": U8(2)}, "AT+CWAPPROTO?", b"+CWAPPROTO:7\r\n"),
    ({"cwproto_lr": "7,0"}, "AT+CWSTAPROTO?", b"+CWSTAPROTO:7\r\n"),  # a set without LR
]  # fmt: skip


async def boot_with(stored: dict[str, SettingValue]) -> tuple[AtHarness, list[Event]]:
    module = create_module(time_scale=0, store=MemorySettingsStore(stored), with_flash=False)
    events: list[Event] = []
    module.bus.subscribe(events.append)
    harness = AtHarness(module)
    await module.start()
    assert harness.take() == b"\r\nready\r\n"
    return harness, events


@pytest.mark.parametrize(
    ("stored", "query", "default"), CASES, ids=[next(iter(c[0])) for c in CASES]
)
async def test_corrupt_value_boots_with_the_default_and_is_reported(
    stored: dict[str, SettingValue], query: str, default: bytes
) -> None:
    key = next(iter(stored))
    harness, events = await boot_with(stored)
    try:
        assert default in await harness.cmd(query)
        bad = [e.data for e in events if e.kind == "flash.bad_setting"]
        assert [b["key"] for b in bad] == [key], bad
        shown = "***" if key in S.SECRET_KEYS else repr(stored[key])
        assert bad[0]["stored"] == shown and "expected" in bad[0]["problem"]
    finally:
        await harness.module.close()
    await assert_no_tasks_left()


def test_every_setting_has_a_corruption_case() -> None:
    assert {next(iter(stored)) for stored, _, _ in CASES} == set(S.SCHEMA) | set(S.OLD_SCHEMA)


@pytest.mark.parametrize("setting", list(S.SCHEMA.values()), ids=list(S.SCHEMA))
def test_defaults_round_trip_and_missing_values_read_as_default(setting: S.Setting[object]) -> None:
    assert setting.read({}) == setting.default
    if setting.default is not None:
        key, raw = setting.entry(setting.default)
        assert key == setting.key and raw is not None
        assert setting.decode(raw) == setting.default


def test_entry_refuses_a_value_that_could_not_be_read_back() -> None:
    with pytest.raises(S.BadSetting):
        S.OPMODE.entry(4)
    with pytest.raises(S.BadSetting):
        S.UART_DATABITS.entry(9)
    with pytest.raises(S.BadSetting):
        S.STA_SSID.entry(b"x" * 33)
    assert S.DHCPS.cleared() == ("dhcps", None)


async def test_good_values_load_and_no_report() -> None:
    stored: dict[str, SettingValue] = {
        "sslcconf": "3,1,1;0,0,0",
        "uart_def": "9600,8,1,0,0",
        "cipdns": "1;8.8.4.4",
        "sta_bssid": "",
    }
    harness, events = await boot_with(stored)
    try:
        assert b"+CIPSSLCCONF:0,3,1,1\r\n" in await harness.cmd("AT+CIPSSLCCONF?")
        assert b"+UART_DEF:9600,8,1,0,0\r\n" in await harness.cmd("AT+UART_DEF?")
        assert b'+CIPDNS:1,"8.8.4.4"\r\n' in await harness.cmd("AT+CIPDNS?")
        assert not [e for e in events if e.kind == "flash.bad_setting"]
    finally:
        await harness.module.close()
    await assert_no_tasks_left()


def test_flash_info_lists_bad_settings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "m.flash"
    with FlashImage.open(path, load_layout("esp32")) as flash:
        store = flash.settings()
        store.save({"sslcconf": "1,2", "nvs.net80211:sta.pswd": b"hunter22", "cwmode": 3})
    assert main(["flash", "info", str(path)]) == 0
    out = capsys.readouterr().out
    head = "Bad settings (the module ignores them and uses the default):\n"
    assert head in out, out
    bad = out.split(head, 1)[1].splitlines()
    assert bad[0].startswith("  esp_at_sim.sslcconf = '1,2': 2 numbers where 3 belong")
    assert bad[1].startswith("  nvs.net80211.sta.pswd = ***: 8 bytes where 64 belong")
    assert "hunter22" not in out


def test_a_password_with_a_zero_byte_comes_back_cut_there() -> None:
    _key, raw = S.STA_PSWD.entry(b"ab\0cd")
    assert raw == b"ab\0cd".ljust(64, b"\0") and S.STA_PSWD.decode(raw) == b"ab"


@pytest.mark.parametrize(
    ("stored", "expected"),
    [
        ({}, b"+UART_DEF:57600,8,1,0,0\r\n"),  # nothing stored: the factory rate
        (UART_OK, b"+UART_DEF:9600,7,2,1,3\r\n"),  # stored: the factory rate steps aside
        (_uart("UART:rate", 50), b"+UART_DEF:57600,7,2,1,3\r\n"),  # a bad rate: the factory's
        ({"UART:rate": 9600}, b"+UART_DEF:57600,8,1,0,0\r\n"),  # incomplete: none stored
    ],
    ids=["nothing", "stored", "bad-rate", "incomplete"],
)
async def test_the_factory_rate_stands_in_for_a_missing_stored_rate(
    stored: dict[str, SettingValue], expected: bytes
) -> None:
    store = MemorySettingsStore(stored)
    module = create_module(time_scale=0, store=store, with_flash=False, baud=57600)
    harness = AtHarness(module)
    await module.start()
    try:
        assert harness.take() == b"\r\nready\r\n"
        assert expected in await harness.cmd("AT+UART_DEF?")
    finally:
        await module.close()
    await assert_no_tasks_left()
