"""Station addresses: AT+CIPSTA, the station's DHCP client, AT+CIPSTAMAC, AT+CIFSR."""

from __future__ import annotations

import pytest

from .harness import At

NO_ADDRESS = b'+CIPSTA:ip:"0.0.0.0"\r\n+CIPSTA:gateway:"0.0.0.0"\r\n+CIPSTA:netmask:"0.0.0.0"\r\n'
LEASE = (
    b'+CIPSTA:ip:"192.168.50.23"\r\n+CIPSTA:gateway:"192.168.50.1"\r\n'
    b'+CIPSTA:netmask:"255.255.255.0"\r\n'
)
STATIC = (
    b'+CIPSTA:ip:"192.168.6.100"\r\n+CIPSTA:gateway:"192.168.6.1"\r\n'
    b'+CIPSTA:netmask:"255.255.255.0"\r\n'
)


async def test_cipsta_without_and_with_a_lease(at: At) -> None:
    assert await at.cmd("AT+CIPSTA?") == b"AT+CIPSTA?\r\n" + NO_ADDRESS + b"\r\nOK\r\n"
    await at.ok('AT+CWJAP="Lab","pass1234"')
    assert await at.ok("AT+CIPSTA?") == LEASE
    await at.ok("AT+CWQAP")
    assert await at.ok("AT+CIPSTA?") == NO_ADDRESS


async def test_static_address_turns_dhcp_off_and_is_used_on_join(at: At) -> None:
    assert await at.ok('AT+CIPSTA="192.168.6.100","192.168.6.1","255.255.255.0"') == b""
    assert await at.ok("AT+CIPSTA?") == STATIC
    assert await at.ok("AT+CWDHCP?") == b"+CWDHCP:2\r\n"
    start = at.module.clock.now()
    assert await at.ok('AT+CWJAP="Lab","pass1234"') == b"WIFI CONNECTED\r\nWIFI GOT IP\r\n"
    assert at.module.clock.now() - start == pytest.approx(1.0)  # no DHCP exchange
    assert await at.ok("AT+CIPSTA?") == STATIC


async def test_static_address_alone_gets_default_gateway_and_mask(at: At) -> None:
    await at.ok('AT+CIPSTA="10.1.2.3"')
    assert await at.ok("AT+CIPSTA?") == (
        b'+CIPSTA:ip:"10.1.2.3"\r\n+CIPSTA:gateway:"10.1.2.1"\r\n'
        b'+CIPSTA:netmask:"255.255.255.0"\r\n'
    )


async def test_static_address_while_connected(at: At) -> None:
    await at.ok('AT+CWJAP="Lab","pass1234"')
    assert await at.cmd_urcs('AT+CIPSTA="192.168.6.100"') == (
        b'AT+CIPSTA="192.168.6.100"\r\n\r\nOK\r\nWIFI GOT IP\r\n'
    )
    assert await at.ok("AT+CIFSR") == (
        b'+CIFSR:STAIP,"192.168.6.100"\r\n+CIFSR:STAMAC,"24:0a:c4:12:34:56"\r\n'
    )


async def test_dhcp_back_on_asks_for_a_lease(at: At) -> None:
    await at.ok('AT+CIPSTA="192.168.6.100"')
    await at.ok('AT+CWJAP="Lab","pass1234"')
    assert await at.ok("AT+CWDHCP=1,1") == b""
    assert await at.later(2) == b"WIFI GOT IP\r\n"
    assert await at.ok("AT+CIPSTA?") == LEASE
    assert await at.ok("AT+CWDHCP?") == b"+CWDHCP:3\r\n"


async def test_dhcp_off_without_static_address_never_gets_an_ip(at: At) -> None:
    await at.ok("AT+CWDHCP=0,1")
    out = await at.cmd('AT+CWJAP="Lab","pass1234",,,,,,3')
    assert out.endswith(b"WIFI CONNECTED\r\n+CWJAP:1\r\n\r\nERROR\r\n")


@pytest.mark.parametrize(
    "line",
    [
        'AT+CIPSTA="192.168.6.100","192.168.6.1"',
        'AT+CIPSTA="192.168.6.1000"',
        'AT+CIPSTA="192.168.6"',
        'AT+CIPSTA="a.b.c.d"',
        'AT+CIPSTA="192.168.6.100","192.168.6.1","255.255.255.0",0',
        "AT+CIPSTA=192.168.6.100",
        "AT+CIPSTA",
    ],
)
async def test_bad_cipsta_changes_nothing(at: At, line: str) -> None:
    await at.error(line)
    assert await at.ok("AT+CIPSTA?") == NO_ADDRESS
    assert await at.ok("AT+CWDHCP?") == b"+CWDHCP:3\r\n"


async def test_stamac_query_set_and_rules(at: At) -> None:
    assert await at.cmd("AT+CIPSTAMAC?") == (
        b'AT+CIPSTAMAC?\r\n+CIPSTAMAC:"24:0a:c4:12:34:56"\r\n\r\nOK\r\n'
    )
    await at.ok('AT+CIPSTAMAC="1a:fe:35:98:d3:7b"')
    assert await at.ok("AT+CIPSTAMAC?") == b'+CIPSTAMAC:"1a:fe:35:98:d3:7b"\r\n'
    for mac in (
        "15:fe:35:98:d3:7b",
        "00:00:00:00:00:00",
        "FF:FF:FF:FF:FF:FF",
        "24:0a:c4:12:34:57",
        "1a:fe:35:98:d3:7",
        "1a:fe:35:98:d3:7bb",
        "",
    ):
        await at.error(f'AT+CIPSTAMAC="{mac}"')
    await at.error("AT+CIPSTAMAC=1")
    assert await at.ok("AT+CIPSTAMAC?") == b'+CIPSTAMAC:"1a:fe:35:98:d3:7b"\r\n'


async def test_station_address_commands_need_the_station(at: At) -> None:
    await at.ok("AT+CWMODE=2")
    for line in (
        "AT+CIPSTA?",
        'AT+CIPSTA="10.1.2.3"',
        "AT+CIPSTAMAC?",
        'AT+CIPSTAMAC="1a:fe:35:98:d3:7b"',
        "AT+CWSTATE?",
    ):
        await at.error(line)
    await at.ok("AT+CWMODE=1")
    assert await at.ok("AT+CIPSTA?") == NO_ADDRESS
    assert await at.ok("AT+CIPSTAMAC?") == b'+CIPSTAMAC:"24:0a:c4:12:34:56"\r\n'


@pytest.mark.parametrize(
    ("mode", "lines"),
    [
        (0, b""),
        (1, b'+CIFSR:STAIP,"0.0.0.0"\r\n+CIFSR:STAMAC,"24:0a:c4:12:34:56"\r\n'),
        (2, b'+CIFSR:APIP,"192.168.4.1"\r\n+CIFSR:APMAC,"24:0a:c4:12:34:57"\r\n'),
        (
            3,
            b'+CIFSR:APIP,"192.168.4.1"\r\n+CIFSR:APMAC,"24:0a:c4:12:34:57"\r\n'
            b'+CIFSR:STAIP,"0.0.0.0"\r\n+CIFSR:STAMAC,"24:0a:c4:12:34:56"\r\n',
        ),
    ],
)
async def test_cifsr_by_mode(at: At, mode: int, lines: bytes) -> None:
    await at.ok(f"AT+CWMODE={mode}")
    assert await at.cmd("AT+CIFSR") == b"AT+CIFSR\r\n" + lines + b"\r\nOK\r\n"
    await at.error("AT+CIFSR?")


async def test_cipstatus_code_follows_the_station(at: At) -> None:
    wifi = at.module.wifi
    assert wifi.cipstatus_code() == 1
    await at.ok('AT+CWJAP="Lab","pass1234"')
    assert wifi.cipstatus_code() == 2
    await at.ok("AT+CWQAP")
    assert wifi.cipstatus_code() == 5
    await at.ok("AT+CWMODE=2")
    assert wifi.cipstatus_code() == 0
