"""What survives AT+RST: settings stored per AT+SYSSTORE, AT+CWAUTOCONN always, and the
auto-connect at boot."""

from __future__ import annotations

from esp_at_sim.core.settings import MemorySettingsStore

from .conftest import Boot
from .harness import At

JOINED = b"WIFI CONNECTED\r\nWIFI GOT IP\r\n"

SETTERS = [
    "AT+CWMODE=3",
    'AT+CWSAP="Mine","12345678",6,3,3,1',
    'AT+CIPAP="192.168.7.1"',
    'AT+CWDHCPS=1,60,"192.168.7.20","192.168.7.30"',
    'AT+CIPSTA="192.168.50.77","192.168.50.1","255.255.255.0"',
    'AT+CIPSTAMAC="1a:fe:35:98:d3:7b"',
    'AT+CIPAPMAC="18:fe:35:98:d3:7b"',
    "AT+CWRECONNCFG=3,9",
    "AT+CWDHCP=0,2",
]
QUERIES = [
    "AT+CWMODE?",
    "AT+CWSAP?",
    "AT+CIPAP?",
    "AT+CWDHCPS?",
    "AT+CIPSTA?",
    "AT+CIPSTAMAC?",
    "AT+CIPAPMAC?",
    "AT+CWRECONNCFG?",
    "AT+CWDHCP?",
]


async def answers(at: At) -> list[bytes]:
    return [await at.cmd(line) for line in QUERIES]


async def test_stored_settings_survive_a_reset(make_at: Boot, store: MemorySettingsStore) -> None:
    at = await make_at(store=store)
    await at.ok("AT+CWMODE=3")
    for line in SETTERS:
        await at.cmd_urcs(line)
    before = await answers(at)
    await at.reboot()
    assert await answers(at) == before
    assert b'+CWSAP:"Mine","12345678",6,3,3,1' in before[1]
    config = at.radio.softap_config
    assert config is not None and config.ssid == b"Mine" and config.ip == "192.168.7.1"


async def test_sysstore_0_keeps_changes_in_ram_only(
    make_at: Boot, store: MemorySettingsStore
) -> None:
    at = await make_at(store=store)
    await at.ok("AT+CWMODE=3")
    factory = await answers(at)
    await at.ok("AT+SYSSTORE=0")
    for line in SETTERS:
        await at.cmd_urcs(line)
    changed = await answers(at)
    assert all(a != b for a, b in zip(changed[1:], factory[1:], strict=True))
    await at.reboot()
    assert await answers(at) == factory
    assert [k for k in store.load() if k != "nvs.net80211:opmode"] == []


async def test_join_with_sysstore_1_auto_connects_after_reset(
    make_at: Boot, store: MemorySettingsStore
) -> None:
    at = await make_at(store=store)
    await at.ok('AT+CWJAP="Lab","pass1234"')
    assert await at.cmd("AT+RST") == b"AT+RST\r\n\r\nOK\r\n"
    assert await at.wait_for(b"WIFI GOT IP\r\n") == b"\r\nready\r\n" + JOINED
    assert await at.ok("AT+CWJAP?") == b'+CWJAP:"Lab","aa:bb:cc:00:00:01",6,-40,0,1,3,0,1\r\n'


async def test_join_with_sysstore_0_is_forgotten(make_at: Boot, store: MemorySettingsStore) -> None:
    at = await make_at(store=store)
    await at.ok('AT+CWJAP="Lab","pass1234"')
    await at.ok("AT+SYSSTORE=0")
    await at.ok('AT+CWJAP="Cafe",""')
    await at.reboot()
    assert await at.wait_for(b"WIFI GOT IP\r\n") == JOINED
    assert await at.ok("AT+CWSTATE?") == b'+CWSTATE:2,"Lab"\r\n'


async def test_autoconn_0_is_stored_even_with_sysstore_0(
    make_at: Boot, store: MemorySettingsStore
) -> None:
    at = await make_at(store=store)
    await at.ok('AT+CWJAP="Lab","pass1234"')
    await at.ok("AT+SYSSTORE=0")
    await at.ok("AT+CWAUTOCONN=0")
    await at.reboot()
    assert await at.later(20) == b""
    assert await at.ok("AT+CWAUTOCONN?") == b"+CWAUTOCONN:0\r\n"
    assert await at.ok("AT+CWSTATE?") == b'+CWSTATE:0,"Lab"\r\n'
    assert await at.ok("AT+CWJAP") == JOINED


async def test_auto_connect_failure_retries_per_reconncfg(
    make_at: Boot, store: MemorySettingsStore
) -> None:
    at = await make_at(store=store)
    await at.ok('AT+CWJAP="Lab","pass1234"')
    await at.ok("AT+CWRECONNCFG=2,0")
    at.radio.vanish("Lab")
    assert at.take() == b"WIFI DISCONNECT\r\n"
    await at.reboot()
    assert await at.later(10) == b""
    assert await at.ok("AT+CWSTATE?") == b'+CWSTATE:3,"Lab"\r\n'
    at.radio.appear("Lab")
    assert await at.wait_for(b"WIFI GOT IP\r\n") == JOINED


async def test_softap_comes_up_at_boot_and_phones_report(
    make_at: Boot, store: MemorySettingsStore
) -> None:
    at = await make_at(store=store)
    await at.ok("AT+CWMODE=2")
    await at.reboot()
    assert at.radio.join_phone("f2:11:22:33:44:55") is not None
    assert await at.later(1) == (
        b'+STA_CONNECTED:"f2:11:22:33:44:55"\r\n+DIST_STA_IP:"f2:11:22:33:44:55","192.168.4.2"\r\n'
    )


async def test_not_stored_hostname_country_lapopt_cwinit(
    make_at: Boot, store: MemorySettingsStore
) -> None:
    at = await make_at(store=store)
    await at.ok('AT+CWHOSTNAME="renamed"')
    await at.ok('AT+CWCOUNTRY=1,"US",1,11')
    await at.ok("AT+CWLAPOPT=,3")
    await at.ok("AT+CWINIT=0")
    await at.reboot()
    assert await at.ok("AT+CWHOSTNAME?") == b"+CWHOSTNAME:espressif\r\n"
    assert await at.ok("AT+CWCOUNTRY?") == b'+CWCOUNTRY:0,"CN",1,13\r\n'
    assert await at.ok("AT+CWINIT?") == b"+CWINIT:1\r\n"
    assert (await at.ok('AT+CWLAP="Lab"')).endswith(b",-1,-1,4,4,7,0)\r\n")


async def test_corrupt_stored_values_fall_back_to_defaults(make_at: Boot) -> None:
    store = MemorySettingsStore(
        {
            "cwmode": 9,
            "sta_ssid": "text",
            "sap_cfg": "1,1,4",
            "dhcps": "x,y",
            "ap_ip": 5,
            "reconncfg": "a,b",
            "sta_mac": "zz",
        }
    )
    at = await make_at(store=store)
    assert await at.ok("AT+CWMODE?") == b"+CWMODE:1\r\n"
    assert await at.ok("AT+CWRECONNCFG?") == b"+CWRECONNCFG:0,0\r\n"
    assert await at.ok("AT+CIPSTAMAC?") == b'+CIPSTAMAC:"24:0a:c4:12:34:56"\r\n'
    assert await at.ok("AT+CWSTATE?") == b'+CWSTATE:0,""\r\n'
