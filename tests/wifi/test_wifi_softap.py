"""The SoftAP: AT+CWSAP, phones joining (URCs), AT+CWLIF, AT+CWQIF, AT+CWDHCP,
AT+CWDHCPS, AT+CIPAP, AT+CIPAPMAC."""

from __future__ import annotations

import pytest

from .harness import At

PHONE = "f2:11:22:33:44:55"
PHONE2 = "f2:11:22:33:44:66"
DEFAULT_SAP = b'+CWSAP:"ESP_123457","",1,0,4,0\r\n'


@pytest.fixture
async def ap(at: At) -> At:
    await at.ok("AT+CWMODE=2")
    return at


async def join(at: At, mac: str = PHONE) -> bytes:
    assert at.radio.join_phone(mac) is not None
    return await at.later(1)


async def test_default_softap_config(ap: At) -> None:
    assert await ap.cmd("AT+CWSAP?") == b"AT+CWSAP?\r\n" + DEFAULT_SAP + b"\r\nOK\r\n"
    config = ap.radio.softap_config
    assert config is not None and config.ssid == b"ESP_123457" and config.ip == "192.168.4.1"


async def test_softap_commands_need_the_softap(at: At) -> None:
    for line in (
        "AT+CWSAP?",
        'AT+CWSAP="x","12345678",1,3',
        "AT+CWLIF",
        "AT+CWQIF",
        "AT+CWDHCPS?",
        "AT+CIPAP?",
        "AT+CIPAPMAC?",
    ):
        await at.error(line)
    assert at.radio.softap_config is None


async def test_set_and_query(ap: At) -> None:
    assert await ap.cmd('AT+CWSAP="ESP","1234567890",5,3') == (
        b'AT+CWSAP="ESP","1234567890",5,3\r\n\r\nOK\r\n'
    )
    assert await ap.ok("AT+CWSAP?") == b'+CWSAP:"ESP","1234567890",5,3,4,0\r\n'
    await ap.ok('AT+CWSAP="a\\"b\\,c\\\\","",11,0,10,1')
    assert await ap.ok("AT+CWSAP?") == b'+CWSAP:"a"b,c\\","",11,0,10,1\r\n'
    config = ap.radio.softap_config
    assert config is not None and config.ssid == b'a"b,c\\' and config.hidden
    psk = "0123456789abcdef" * 4
    await ap.ok(f'AT+CWSAP="{"S" * 32}","{psk}",13,4,1,0')
    assert await ap.ok("AT+CWSAP?") == f'+CWSAP:"{"S" * 32}","{psk}",13,4,1,0\r\n'.encode()


@pytest.mark.parametrize(
    "line",
    [
        'AT+CWSAP="x","12345678",1,1',  # WEP
        'AT+CWSAP="x","12345678",1,5',
        'AT+CWSAP="x","1234567",1,3',
        'AT+CWSAP="x","' + "g" * 64 + '",1,3',
        'AT+CWSAP="x","' + "1" * 65 + '",1,3',
        'AT+CWSAP="","12345678",1,3',
        'AT+CWSAP="' + "s" * 33 + '","12345678",1,3',
        'AT+CWSAP="x","12345678",0,3',
        'AT+CWSAP="x","12345678",14,3',  # outside CN's channels 1..13
        'AT+CWSAP="x","12345678",1,3,0',
        'AT+CWSAP="x","12345678",1,3,11',
        'AT+CWSAP="x","12345678",1,3,4,2',
        'AT+CWSAP="x","12345678",1',
        'AT+CWSAP="x",12345678,1,3',
    ],
)
async def test_bad_config_changes_nothing(ap: At, line: str) -> None:
    await ap.error(line)
    assert await ap.ok("AT+CWSAP?") == DEFAULT_SAP


async def test_phone_urcs_and_cwlif(ap: At) -> None:
    assert await join(ap) == (
        f'+STA_CONNECTED:"{PHONE}"\r\n+DIST_STA_IP:"{PHONE}","192.168.4.2"\r\n'.encode()
    )
    assert await join(ap, PHONE2) == (
        f'+STA_CONNECTED:"{PHONE2}"\r\n+DIST_STA_IP:"{PHONE2}","192.168.4.3"\r\n'.encode()
    )
    assert await ap.cmd("AT+CWLIF") == (
        f"AT+CWLIF\r\n+CWLIF:192.168.4.2,{PHONE}\r\n+CWLIF:192.168.4.3,{PHONE2}\r\n"
        "\r\nOK\r\n".encode()
    )
    assert ap.module.wifi.softap_stations()[0].mac == PHONE
    assert ap.radio.leave_phone(PHONE)
    assert ap.take() == f'+STA_DISCONNECTED:"{PHONE}"\r\n'.encode()
    assert await ap.ok("AT+CWLIF") == f"+CWLIF:192.168.4.3,{PHONE2}\r\n".encode()


async def test_urc_waits_for_a_running_answer(ap: At) -> None:
    await ap.ok("AT+CWMODE=3")
    ap.send("AT+CWLAP")
    ap.radio.join_phone(PHONE)
    out = await ap.wait_for(b"\r\nOK\r\n")
    assert out.startswith(b"AT+CWLAP\r\n" + f'+STA_CONNECTED:"{PHONE}"\r\n'.encode())
    assert out.count(b"+DIST_STA_IP") == 1 and b"+CWLAP:" in out


async def test_cwqif_all_and_one(ap: At) -> None:
    await join(ap)
    await join(ap, PHONE2)
    await ap.error('AT+CWQIF="f2:11:22:33:44:77"')
    await ap.error('AT+CWQIF="f2:11:22"')
    assert await ap.cmd_urcs(f'AT+CWQIF="{PHONE2}"') == (
        f'AT+CWQIF="{PHONE2}"\r\n\r\nOK\r\n+STA_DISCONNECTED:"{PHONE2}"\r\n'.encode()
    )
    await join(ap, PHONE2)
    assert await ap.cmd_urcs("AT+CWQIF") == (
        f'AT+CWQIF\r\n\r\nOK\r\n+STA_DISCONNECTED:"{PHONE}"\r\n'
        f'+STA_DISCONNECTED:"{PHONE2}"\r\n'.encode()
    )
    assert await ap.ok("AT+CWLIF") == b""


async def test_reconfiguring_drops_the_stations(ap: At) -> None:
    await join(ap)
    assert await ap.cmd_urcs('AT+CWSAP="New","12345678",6,3') == (
        f'AT+CWSAP="New","12345678",6,3\r\n\r\nOK\r\n+STA_DISCONNECTED:"{PHONE}"\r\n'.encode()
    )


async def test_leaving_softap_mode(ap: At) -> None:
    await join(ap)
    assert await ap.cmd_urcs("AT+CWMODE=1") == (
        f'AT+CWMODE=1\r\n\r\nOK\r\n+STA_DISCONNECTED:"{PHONE}"\r\n'.encode()
    )
    assert ap.radio.softap_config is None
    assert ap.radio.join_phone(PHONE) is None


async def test_dhcp_query_and_set(ap: At) -> None:
    assert await ap.cmd("AT+CWDHCP?") == b"AT+CWDHCP?\r\n+CWDHCP:3\r\n\r\nOK\r\n"
    await ap.ok("AT+CWDHCP=0,2")
    assert await ap.ok("AT+CWDHCP?") == b"+CWDHCP:1\r\n"
    assert await join(ap) == f'+STA_CONNECTED:"{PHONE}"\r\n'.encode()  # no address
    assert await ap.ok("AT+CWLIF") == b""
    await ap.ok("AT+CWDHCP=1,2")
    await ap.ok("AT+CWDHCP=0,1")
    assert await ap.ok("AT+CWDHCP?") == b"+CWDHCP:2\r\n"
    await ap.ok("AT+CWDHCP=1,3")
    assert await ap.ok("AT+CWDHCP?") == b"+CWDHCP:3\r\n"
    for line in ("AT+CWDHCP=2,1", "AT+CWDHCP=1,4", "AT+CWDHCP=1", "AT+CWDHCP=1,1,1"):
        await ap.error(line)
    assert await ap.ok("AT+CWDHCP?") == b"+CWDHCP:3\r\n"


async def test_dhcps_range(ap: At) -> None:
    assert await ap.cmd("AT+CWDHCPS?") == (
        b"AT+CWDHCPS?\r\n+CWDHCPS:120,192.168.4.2,192.168.4.101\r\n\r\nOK\r\n"
    )
    await ap.ok('AT+CWDHCPS=1,3,"192.168.4.10","192.168.4.15"')
    assert await ap.ok("AT+CWDHCPS?") == b"+CWDHCPS:3,192.168.4.10,192.168.4.15\r\n"
    assert await join(ap) == (
        f'+STA_CONNECTED:"{PHONE}"\r\n+DIST_STA_IP:"{PHONE}","192.168.4.10"\r\n'.encode()
    )
    await ap.ok("AT+CWDHCPS=0")
    assert await ap.ok("AT+CWDHCPS?") == b"+CWDHCPS:120,192.168.4.2,192.168.4.101\r\n"


@pytest.mark.parametrize(
    "line",
    [
        'AT+CWDHCPS=1,0,"192.168.4.10","192.168.4.15"',
        'AT+CWDHCPS=1,2881,"192.168.4.10","192.168.4.15"',
        'AT+CWDHCPS=1,3,"192.168.5.10","192.168.5.15"',
        'AT+CWDHCPS=1,3,"192.168.4.15","192.168.4.10"',
        'AT+CWDHCPS=1,3,"192.168.4.0","192.168.4.10"',  # holds the SoftAP's own address
        'AT+CWDHCPS=1,3,"192.168.4.2","192.168.4.102"',  # 101 addresses
        'AT+CWDHCPS=1,3,"192.168.4.300","192.168.4.10"',
        'AT+CWDHCPS=1,3,"192.168.4.10"',
        "AT+CWDHCPS=1",
        "AT+CWDHCPS=2",
    ],
)
async def test_bad_dhcps_changes_nothing(ap: At, line: str) -> None:
    await ap.ok('AT+CWDHCPS=1,3,"192.168.4.10","192.168.4.15"')
    await ap.error(line)
    assert await ap.ok("AT+CWDHCPS?") == b"+CWDHCPS:3,192.168.4.10,192.168.4.15\r\n"


async def test_cipap_query_and_set(ap: At) -> None:
    assert await ap.cmd("AT+CIPAP?") == (
        b'AT+CIPAP?\r\n+CIPAP:ip:"192.168.4.1"\r\n+CIPAP:gateway:"192.168.4.1"\r\n'
        b'+CIPAP:netmask:"255.255.255.0"\r\n\r\nOK\r\n'
    )
    await ap.ok('AT+CIPAP="192.168.5.1","192.168.5.1","255.255.255.0"')
    assert await ap.ok("AT+CIPAP?") == (
        b'+CIPAP:ip:"192.168.5.1"\r\n+CIPAP:gateway:"192.168.5.1"\r\n'
        b'+CIPAP:netmask:"255.255.255.0"\r\n'
    )
    assert await ap.ok("AT+CWDHCPS?") == b"+CWDHCPS:120,192.168.5.2,192.168.5.101\r\n"
    assert await join(ap) == (
        f'+STA_CONNECTED:"{PHONE}"\r\n+DIST_STA_IP:"{PHONE}","192.168.5.2"\r\n'.encode()
    )
    assert await ap.cmd_urcs('AT+CIPAP="10.0.0.200"') == (
        f'AT+CIPAP="10.0.0.200"\r\n\r\nOK\r\n+STA_DISCONNECTED:"{PHONE}"\r\n'.encode()
    )
    assert await ap.ok("AT+CIPAP?") == (
        b'+CIPAP:ip:"10.0.0.200"\r\n+CIPAP:gateway:"10.0.0.1"\r\n+CIPAP:netmask:"255.255.255.0"\r\n'
    )
    assert await ap.ok("AT+CWDHCPS?") == b"+CWDHCPS:120,10.0.0.100,10.0.0.199\r\n"


@pytest.mark.parametrize(
    "line",
    [
        'AT+CIPAP="192.168.5.1","192.168.5.1"',
        'AT+CIPAP="192.168.5.256"',
        'AT+CIPAP="192.168.5"',
        'AT+CIPAP="192.168.5.1","192.168.5.1","255.255.255.0",1',
        "AT+CIPAP=192",
        'AT+CIPAP=""',
    ],
)
async def test_bad_cipap_changes_nothing(ap: At, line: str) -> None:
    await ap.error(line)
    assert (await ap.ok("AT+CIPAP?")).startswith(b'+CIPAP:ip:"192.168.4.1"\r\n')


async def test_apmac_query_and_rules(ap: At) -> None:
    assert await ap.cmd("AT+CIPAPMAC?") == (
        b'AT+CIPAPMAC?\r\n+CIPAPMAC:"24:0a:c4:12:34:57"\r\n\r\nOK\r\n'
    )
    await ap.ok('AT+CIPAPMAC="18:FE:35:98:D3:7B"')
    assert await ap.ok("AT+CIPAPMAC?") == b'+CIPAPMAC:"18:fe:35:98:d3:7b"\r\n'
    for mac in (
        "15:fe:35:98:d3:7b",
        "ff:ff:ff:ff:ff:ff",
        "00:00:00:00:00:00",
        "24:0a:c4:12:34:56",
        "18:fe:35:98:d3",
        "18-fe-35-98-d3-7b",
    ):
        await ap.error(f'AT+CIPAPMAC="{mac}"')
    assert await ap.ok("AT+CIFSR") == (
        b'+CIFSR:APIP,"192.168.4.1"\r\n+CIFSR:APMAC,"18:fe:35:98:d3:7b"\r\n'
    )
