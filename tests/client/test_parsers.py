"""Parsing answers whose strings hold quotes, commas, MAC-like text or non-UTF-8 bytes,
and answers in shapes the client must reject with AtParseError."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from esp_at_sim.client import AtParseError, StationState
from esp_at_sim.client.results import (
    parse_cwjap,
    parse_cwlap,
    parse_cwsap,
    parse_cwstate,
    parse_sysflash,
    parse_sysrollback,
    parse_version,
)

MAC = "a4:2b:b0:5e:11:01"
NASTY = [b'a"b', b"a,b", b'","', b"caf\xc3\xa9", b"\xff\xfe", b'x","a4:2b:b0:5e:11:02",1,', b""]
SSIDS = st.binary(max_size=32).filter(lambda b: b"\n" not in b)


@pytest.mark.parametrize("ssid", NASTY)
def test_cwlap_line_with_any_ssid(ssid: bytes) -> None:
    line = b'(3,"' + ssid + b'",-42,"' + MAC.encode() + b'",6,-1,-1,4,4,7,0)'
    ap = parse_cwlap(line)
    assert (ap.ecn, ap.ssid, ap.rssi, ap.mac, ap.channel) == (3, ssid, -42, MAC, 6)
    assert (ap.pairwise_cipher, ap.group_cipher, ap.bgn, ap.wps) == (4, 4, 7, 0)


@given(ssid=SSIDS)
def test_cwlap_and_cwjap_any_ssid(ssid: bytes) -> None:
    lap = b'(0,"' + ssid + b'",-7,"00:11:22:33:44:55",13,-1,-1,0,0,7,0)'
    assert parse_cwlap(lap).ssid == ssid
    jap = b'"' + ssid + b'","00:11:22:33:44:55",13,-7,0,1,3,0,1'
    assert parse_cwjap(jap).ssid == ssid


def test_cwlap_with_fewer_fields() -> None:
    ap = parse_cwlap(b'(3,"Lab",-40,"AA:BB:CC:00:00:01",6)')
    assert (ap.mac, ap.channel, ap.freq_offset, ap.wps) == ("aa:bb:cc:00:00:01", 6, None, None)


@pytest.mark.parametrize("ssid", NASTY)
def test_cwjap_query_with_any_ssid(ssid: bytes) -> None:
    conn = parse_cwjap(b'"' + ssid + b'","' + MAC.encode() + b'",6,-42,0,1,3,0,1')
    assert (conn.ssid, conn.bssid, conn.channel, conn.rssi) == (ssid, MAC, 6, -42)
    assert (conn.pci_en, conn.reconn_interval, conn.listen_interval) == (0, 1, 3)
    assert (conn.scan_mode, conn.pmf) == (0, 1)


def test_cwjap_query_of_an_older_firmware() -> None:
    conn = parse_cwjap(b'"Lab","' + MAC.encode() + b'",6,-42')
    assert (conn.channel, conn.rssi, conn.pci_en, conn.pmf) == (6, -42, None, None)


@pytest.mark.parametrize("ssid", [b'a"b', b"a,b", b"caf\xc3\xa9", b'","'])
def test_cwsap_with_any_ssid(ssid: bytes) -> None:
    cfg = parse_cwsap(b'"' + ssid + b'","secret99",5,3,4,1')
    assert (cfg.ssid, cfg.password, cfg.channel, cfg.ecn, cfg.max_conn, cfg.hidden) == (
        ssid,
        b"secret99",
        5,
        3,
        4,
        True,
    )


def test_cwstate_and_system_lines() -> None:
    status = parse_cwstate(b'2,"a,"b"')
    assert (status.state, status.ssid) == (StationState.GOT_IP, b'a,"b')
    assert parse_cwstate(b"9,").state == 9
    part = parse_sysflash(b'"mfg_nvs",1,2,0x21000,0x1c000')
    assert (part.name, part.type, part.subtype, part.address, part.size) == (
        "mfg_nvs",
        1,
        2,
        0x21000,
        0x1C000,
    )
    info = parse_sysrollback(b'0x100000,"v4.1.1.0",0x280000,""')
    assert (info.running_address, info.running_version) == (0x100000, "v4.1.1.0")
    assert (info.rollback_address, info.rollback_version) == (0x280000, "")


def test_gmr_of_the_manual_and_of_an_esp8266() -> None:
    v = parse_version(
        (
            b"AT version:2.2.0.0-dev(ca41ec4 - ESP32 - Sep 16 2020 11:28:17)",
            b"SDK version:v4.0.1-193-ge7ac221b4",
            b"compile time(98b95fc):Oct 29 2020 11:23:25",
            b"Bin version:2.1.0(MINI-1)",
        )
    )
    assert (v.at_version, v.sdk_version, v.compile_time) == (
        "2.2.0.0-dev",
        "v4.0.1-193-ge7ac221b4",
        "Oct 29 2020 11:23:25",
    )
    assert (v.bin_version, v.module_name) == ("2.1.0", "MINI-1")
    old = parse_version(
        (
            b"AT version:1.7.4.0(May 11 2020 19:13:04)",
            b"SDK version:3.0.4(9532ceb)",
            b"compile time:May 27 2020 10:12:17",
            b"Bin version(Wroom 02):1.7.4",
        )
    )
    assert (old.at_version, old.compile_time, old.bin_version, old.module_name) == (
        "1.7.4.0",
        "May 27 2020 10:12:17",
        "1.7.4",
        "Wroom 02",
    )


@pytest.mark.parametrize(
    ("parse", "payload"),
    [
        (parse_cwlap, b"3,HomeNet,-42"),
        (parse_cwlap, b'(3,"HomeNet",-42,"not a mac",6)'),
        (parse_cwjap, b'"HomeNet",6,-42'),
        (parse_cwjap, b'"HomeNet","' + MAC.encode() + b'",x,-42'),
        (parse_cwsap, b'"HomeNet",1,2'),
        (parse_sysrollback, b"0x1,2"),
        (parse_sysflash, b'"x",1,2,0x10'),
    ],
)
def test_malformed_answers_raise_parse_errors(parse: object, payload: bytes) -> None:
    assert callable(parse)
    with pytest.raises(AtParseError):
        parse(payload)
    with pytest.raises(AtParseError):
        parse_version((b"SDK version:1",))
