"""AT+CWINIT, AT+CWMODE, AT+CWAUTOCONN, AT+CWHOSTNAME, AT+CWCOUNTRY: every form, every
range, and no state change after ERROR."""

from __future__ import annotations

import pytest

from .harness import At


async def test_mode_query_default_is_station(at: At) -> None:
    assert await at.cmd("AT+CWMODE?") == b"AT+CWMODE?\r\n+CWMODE:1\r\n\r\nOK\r\n"


@pytest.mark.parametrize("mode", [0, 1, 2, 3])
async def test_mode_set_and_query(at: At, mode: int) -> None:
    assert await at.cmd(f"AT+CWMODE={mode}") == f"AT+CWMODE={mode}\r\n\r\nOK\r\n".encode()
    assert await at.ok("AT+CWMODE?") == f"+CWMODE:{mode}\r\n".encode()


@pytest.mark.parametrize(
    "line",
    [
        "AT+CWMODE=4",
        "AT+CWMODE=-1",
        "AT+CWMODE=2,2",
        "AT+CWMODE=2,1,1",
        'AT+CWMODE="2"',
        "AT+CWMODE=",
        "AT+CWMODE=?",
        "AT+CWMODE",
        "AT+CWMODE=x",
    ],
)
async def test_mode_bad_forms_change_nothing(at: At, line: str) -> None:
    await at.error(line)
    assert await at.ok("AT+CWMODE?") == b"+CWMODE:1\r\n"


async def test_mode_with_echo_off(at: At) -> None:
    await at.ok("ATE0")
    assert await at.cmd("AT+CWMODE=3") == b"\r\nOK\r\n"
    assert await at.cmd("AT+CWMODE?") == b"+CWMODE:3\r\n\r\nOK\r\n"


async def test_leaving_station_mode_drops_the_link(at: At) -> None:
    await at.ok('AT+CWJAP="Lab","pass1234"')
    assert await at.cmd("AT+CWMODE=2") == b"AT+CWMODE=2\r\n\r\nOK\r\n"
    assert await at.later(0.1) == b"WIFI DISCONNECT\r\n"
    assert at.radio.link is None
    await at.error("AT+CWSTATE?")


async def test_mode_switch_to_station_auto_connects_unless_told_not_to(at: At) -> None:
    await at.ok('AT+CWJAP="Lab","pass1234"')
    await at.ok("AT+CWMODE=2")
    await at.later(1)
    assert await at.ok("AT+CWMODE=1,0") == b""
    assert await at.later(10) == b""
    assert await at.ok("AT+CWSTATE?") == b'+CWSTATE:4,"Lab"\r\n'
    await at.ok("AT+CWMODE=2")
    await at.ok("AT+CWMODE=3")
    assert await at.later(10) == b"WIFI CONNECTED\r\nWIFI GOT IP\r\n"


async def test_cwinit_query_set_and_effect(at: At) -> None:
    assert await at.cmd("AT+CWINIT?") == b"AT+CWINIT?\r\n+CWINIT:1\r\n\r\nOK\r\n"
    await at.ok('AT+CWJAP="Lab","pass1234"')
    assert await at.cmd("AT+CWINIT=0") == b"AT+CWINIT=0\r\n\r\nOK\r\n"
    assert await at.later(0.1) == b"WIFI DISCONNECT\r\n"
    assert await at.ok("AT+CWINIT?") == b"+CWINIT:0\r\n"
    for line in ("AT+CWMODE?", "AT+CWJAP?", "AT+CWLAP", "AT+CIFSR", "AT+CWMODE=3"):
        await at.error(line)
    await at.ok("AT+CWINIT=1")
    assert await at.ok("AT+CWMODE?") == b"+CWMODE:1\r\n"
    assert await at.later(10) == b"WIFI CONNECTED\r\nWIFI GOT IP\r\n"


@pytest.mark.parametrize("line", ["AT+CWINIT=2", "AT+CWINIT=-1", "AT+CWINIT", "AT+CWINIT=?"])
async def test_cwinit_bad_forms(at: At, line: str) -> None:
    await at.error(line)
    assert await at.ok("AT+CWINIT?") == b"+CWINIT:1\r\n"


async def test_autoconn_query_and_set(at: At) -> None:
    assert await at.cmd("AT+CWAUTOCONN?") == b"AT+CWAUTOCONN?\r\n+CWAUTOCONN:1\r\n\r\nOK\r\n"
    assert await at.cmd("AT+CWAUTOCONN=0") == b"AT+CWAUTOCONN=0\r\n\r\nOK\r\n"
    assert await at.ok("AT+CWAUTOCONN?") == b"+CWAUTOCONN:0\r\n"
    for line in ("AT+CWAUTOCONN=2", "AT+CWAUTOCONN", "AT+CWAUTOCONN=1,1", "AT+CWAUTOCONN=?"):
        await at.error(line)
    assert await at.ok("AT+CWAUTOCONN?") == b"+CWAUTOCONN:0\r\n"


async def test_hostname_query_set_and_limits(at: At) -> None:
    assert (
        await at.cmd("AT+CWHOSTNAME?") == b"AT+CWHOSTNAME?\r\n+CWHOSTNAME:espressif\r\n\r\nOK\r\n"
    )
    await at.ok('AT+CWHOSTNAME="my_test"')
    assert await at.ok("AT+CWHOSTNAME?") == b"+CWHOSTNAME:my_test\r\n"
    await at.ok('AT+CWHOSTNAME="' + "h" * 32 + '"')
    for line in ('AT+CWHOSTNAME="' + "h" * 33 + '"', 'AT+CWHOSTNAME=""', "AT+CWHOSTNAME=5"):
        await at.error(line)
    assert await at.ok("AT+CWHOSTNAME?") == b"+CWHOSTNAME:" + b"h" * 32 + b"\r\n"


async def test_hostname_needs_the_station(at: At) -> None:
    await at.ok("AT+CWMODE=2")
    await at.error('AT+CWHOSTNAME="ap_only"')
    assert await at.ok("AT+CWHOSTNAME?") == b"+CWHOSTNAME:espressif\r\n"
    await at.ok("AT+CWMODE=3")
    await at.ok('AT+CWHOSTNAME="both"')
    assert await at.ok("AT+CWHOSTNAME?") == b"+CWHOSTNAME:both\r\n"


async def test_country_query_and_set(at: At) -> None:
    assert await at.cmd("AT+CWCOUNTRY?") == b'AT+CWCOUNTRY?\r\n+CWCOUNTRY:0,"CN",1,13\r\n\r\nOK\r\n'
    await at.ok('AT+CWCOUNTRY=1,"US",1,11')
    assert await at.ok("AT+CWCOUNTRY?") == b'+CWCOUNTRY:1,"US",1,11\r\n'


@pytest.mark.parametrize(
    "line",
    [
        'AT+CWCOUNTRY=2,"US",1,11',
        'AT+CWCOUNTRY=1,"USAX",1,11',
        'AT+CWCOUNTRY=1,"",1,11',
        'AT+CWCOUNTRY=1,"US",0,11',
        'AT+CWCOUNTRY=1,"US",15,1',
        'AT+CWCOUNTRY=1,"US",5,11',
        'AT+CWCOUNTRY=1,"US",1',
        "AT+CWCOUNTRY=1,US,1,11",
    ],
)
async def test_country_bad_forms_change_nothing(at: At, line: str) -> None:
    await at.error(line)
    assert await at.ok("AT+CWCOUNTRY?") == b'+CWCOUNTRY:0,"CN",1,13\r\n'


async def test_country_limits_the_scanned_channels(at: At) -> None:
    await at.ok('AT+CWCOUNTRY=1,"US",1,11')
    listed = await at.ok("AT+CWLAP")
    assert b'"Modern"' not in listed  # channel 12
    assert b'"Slow"' in listed  # channel 11


async def test_no_wifi_command_has_a_test_form(at: At) -> None:
    for name in ("CWMODE", "CWJAP", "CWLAP", "CWSAP", "CIPSTA", "CWSTATE", "CIFSR"):
        await at.error(f"AT+{name}=?")
