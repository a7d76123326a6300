"""AT+CWLAP (execute and set forms) and AT+CWLAPOPT: format, order, masks and filters."""

from __future__ import annotations

import pytest

from .harness import ODD_SSID, SSID_32, UTF8_SSID, At

LAB = b'+CWLAP:(3,"Lab",-40,"aa:bb:cc:00:00:01",6,-1,-1,4,4,7,0)\r\n'
HIDDEN = b'+CWLAP:(4,"",-50,"aa:bb:cc:00:00:06",9,-1,-1,5,3,7,0)\r\n'
CAFE = b'+CWLAP:(0,"Cafe",-70,"aa:bb:cc:00:00:02",1,-1,-1,0,0,7,0)\r\n'
ODD = b'+CWLAP:(3,"' + ODD_SSID.encode() + b'",-80,"aa:bb:cc:00:00:07",2,-1,-1,4,4,7,0)\r\n'
ORDER = [
    b"Lab",
    b"",
    b"Picky",
    b"Slow",
    b"NoDhcp",
    b"Modern",
    b"Cafe",
    UTF8_SSID.encode(),
    ODD_SSID.encode(),
    SSID_32.encode(),
]


def ssids(listing: bytes) -> list[bytes]:
    """The SSID field of each +CWLAP line (SSIDs may hold quotes and commas)."""
    out = []
    for line in listing.split(b"\r\n"):
        if line.startswith(b"+CWLAP:("):
            rest = line.split(b',"', 1)[1]
            out.append(rest[: rest.rindex(b'",-')])
    return out


async def test_full_listing_strongest_first(at: At) -> None:
    out = await at.cmd("AT+CWLAP")
    assert out.startswith(b"AT+CWLAP\r\n" + LAB + HIDDEN)
    assert out.endswith(
        ODD + b'+CWLAP:(3,"' + SSID_32.encode() + b'",-85,"aa:bb:cc:00:00:09",'
        b"7,-1,-1,4,4,7,0)\r\n\r\nOK\r\n"
    )
    assert CAFE in out
    assert ssids(out) == ORDER
    rssi = [int(line.split(b",")[-9]) for line in out.split(b"\r\n") if line.startswith(b"+")]
    assert rssi == sorted(rssi, reverse=True)


async def test_scan_takes_the_scan_time_and_is_busy(at: At) -> None:
    start = at.module.clock.now()
    at.send("AT+CWLAP")
    at.send("AT")
    out = await at.wait_for(b"\r\nOK\r\n")
    assert out.startswith(b"AT+CWLAP\r\n\r\nbusy p...\r\n" + LAB)
    assert at.module.clock.now() - start == pytest.approx(13 * 0.12)


async def test_vanished_ap_is_not_listed(at: At) -> None:
    at.radio.vanish("Lab")
    assert ssids(await at.ok("AT+CWLAP")) == ORDER[1:]


async def test_set_form_filters_by_ssid_and_reveals_hidden(at: At) -> None:
    assert await at.ok('AT+CWLAP="Lab"') == LAB
    assert await at.ok('AT+CWLAP="Hidden"') == HIDDEN.replace(b'""', b'"Hidden"')
    assert await at.ok('AT+CWLAP="a\\"b\\,c\\\\d"') == ODD
    assert await at.ok('AT+CWLAP="Nowhere"') == b""


async def test_set_form_filters_by_mac_and_channel(at: At) -> None:
    assert await at.ok('AT+CWLAP=,"AA:BB:CC:00:00:02"') == CAFE
    assert await at.ok("AT+CWLAP=,,6") == LAB
    assert await at.ok('AT+CWLAP="Lab",,1') == b""
    assert await at.ok('AT+CWLAP="Lab","aa:bb:cc:00:00:01",6,0,400,1000') == LAB


async def test_channel_bitmap(at: At) -> None:
    bitmap = 1 << 1 | 1 << 9  # channels 1 and 9
    assert await at.ok(f"AT+CWLAP=,,,,,,{bitmap}") == HIDDEN + CAFE
    assert await at.ok(f"AT+CWLAP=,,6,,,,{bitmap}") == LAB  # a channel wins over the map


@pytest.mark.parametrize(
    "line",
    [
        'AT+CWLAP="' + "s" * 33 + '"',
        'AT+CWLAP=,"aa:bb:cc"',
        "AT+CWLAP=,,15",
        "AT+CWLAP=,,-1",
        "AT+CWLAP=,,,2",
        "AT+CWLAP=,,,,1501",
        "AT+CWLAP=,,,,,1501",
        "AT+CWLAP=,,,,,,65536",
        "AT+CWLAP=,,,,,,,1",
        "AT+CWLAP=Lab",
    ],
)
async def test_set_form_bad_parameters(at: At, line: str) -> None:
    await at.error(line)


async def test_scan_needs_the_station(at: At) -> None:
    await at.ok("AT+CWMODE=2")
    await at.error("AT+CWLAP")
    await at.error('AT+CWLAP="Lab"')
    await at.ok("AT+CWMODE=3")
    assert ssids(await at.ok("AT+CWLAP")) == ORDER


async def test_print_mask(at: At) -> None:
    assert await at.cmd("AT+CWLAPOPT=,31") == b"AT+CWLAPOPT=,31\r\n\r\nOK\r\n"
    assert await at.ok('AT+CWLAP="Lab"') == b'+CWLAP:(3,"Lab",-40,"aa:bb:cc:00:00:01",6)\r\n'
    await at.ok("AT+CWLAPOPT=0,6")
    assert await at.ok('AT+CWLAP="Lab"') == b'+CWLAP:("Lab",-40)\r\n'
    await at.ok("AT+CWLAPOPT=1,1536")
    assert await at.ok('AT+CWLAP="Lab"') == b"+CWLAP:(7,0)\r\n"
    await at.ok("AT+CWLAPOPT=1,0")
    assert await at.ok('AT+CWLAP="Lab"') == b"+CWLAP:()\r\n"
    await at.ok("AT+CWLAPOPT=1,2047")
    assert await at.ok('AT+CWLAP="Lab"') == LAB


async def test_rssi_filter(at: At) -> None:
    await at.ok("AT+CWLAPOPT=,2047,-55")
    assert ssids(await at.ok("AT+CWLAP")) == [b"Lab", b"", b"Picky"]
    await at.ok("AT+CWLAPOPT=,2047,-40")
    assert await at.ok("AT+CWLAP") == LAB
    await at.ok("AT+CWLAPOPT=,2047,40")
    assert await at.ok("AT+CWLAP") == b""


async def test_authmode_mask(at: At) -> None:
    await at.ok("AT+CWLAPOPT=,2047,-100,1")  # OPEN only
    assert ssids(await at.ok("AT+CWLAP")) == [b"Cafe", UTF8_SSID.encode()]
    await at.ok("AT+CWLAPOPT=,2047,-100,80")  # WPA_WPA2_PSK (bit 4) and WPA3_PSK (bit 6)
    assert ssids(await at.ok("AT+CWLAP")) == [b"", b"Modern"]


@pytest.mark.parametrize(
    "line",
    [
        "AT+CWLAPOPT=,2048",
        "AT+CWLAPOPT=2,31",
        "AT+CWLAPOPT=,31,-101",
        "AT+CWLAPOPT=,31,41",
        "AT+CWLAPOPT=,31,-100,65536",
        "AT+CWLAPOPT=31",
        "AT+CWLAPOPT=,",
        "AT+CWLAPOPT?",
        "AT+CWLAPOPT",
    ],
)
async def test_lapopt_bad_forms_change_nothing(at: At, line: str) -> None:
    await at.ok("AT+CWLAPOPT=,3")
    await at.error(line)
    assert await at.ok('AT+CWLAP="Lab"') == b'+CWLAP:(3,"Lab")\r\n'
