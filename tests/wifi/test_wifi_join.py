"""AT+CWJAP, AT+CWQAP and AT+CWSTATE: success and every failure code, URC order, busy
answers, parameters and their ranges, special SSIDs."""

from __future__ import annotations

import pytest

from esp_at_sim.radio.base import JoinFailure

from .harness import ODD_SSID, SSID_32, UTF8_SSID, At

JOINED = b"WIFI CONNECTED\r\nWIFI GOT IP\r\n"


async def test_join_prints_urcs_before_ok(at: At) -> None:
    out = await at.cmd('AT+CWJAP="Lab","pass1234"')
    assert out == b'AT+CWJAP="Lab","pass1234"\r\nWIFI CONNECTED\r\nWIFI GOT IP\r\n\r\nOK\r\n'
    assert at.module.wifi.station_ip() is not None


async def test_query_before_and_after_joining(at: At) -> None:
    assert await at.cmd("AT+CWJAP?") == b"AT+CWJAP?\r\nNo AP\r\n\r\nOK\r\n"
    await at.ok('AT+CWJAP="Lab","pass1234"')
    out = await at.cmd("AT+CWJAP?")
    assert out == b'AT+CWJAP?\r\n+CWJAP:"Lab","aa:bb:cc:00:00:01",6,-40,0,1,3,0,1\r\n\r\nOK\r\n'


async def test_query_prints_the_options_given(at: At) -> None:
    await at.ok('AT+CWJAP="Lab","pass1234",,3,7,10,1,20,3')
    assert await at.ok("AT+CWJAP?") == b'+CWJAP:"Lab","aa:bb:cc:00:00:01",6,-40,3,7,10,1,3\r\n'
    assert await at.ok("AT+CWRECONNCFG?") == b"+CWRECONNCFG:7,0\r\n"


async def test_cwstate_through_a_join(at: At) -> None:
    assert await at.cmd("AT+CWSTATE?") == b'AT+CWSTATE?\r\n+CWSTATE:0,""\r\n\r\nOK\r\n'
    await at.ok('AT+CWJAP="Lab","pass1234"')
    assert await at.ok("AT+CWSTATE?") == b'+CWSTATE:2,"Lab"\r\n'
    assert await at.cmd("AT+CWQAP") == b"AT+CWQAP\r\nWIFI DISCONNECT\r\n\r\nOK\r\n"
    assert await at.ok("AT+CWSTATE?") == b'+CWSTATE:4,"Lab"\r\n'
    assert await at.ok("AT+CWJAP?") == b"No AP\r\n"


async def test_cwqap_when_not_connected(at: At) -> None:
    assert await at.cmd("AT+CWQAP") == b"AT+CWQAP\r\n\r\nOK\r\n"
    assert await at.ok("AT+CWSTATE?") == b'+CWSTATE:0,""\r\n'


async def test_wrong_password_is_code_2(at: At) -> None:
    out = await at.cmd('AT+CWJAP="Lab","wrongpass"')
    assert out == b'AT+CWJAP="Lab","wrongpass"\r\n+CWJAP:2\r\n\r\nERROR\r\n'
    assert await at.ok("AT+CWSTATE?") == b'+CWSTATE:4,"Lab"\r\n'


async def test_missing_ap_is_code_3(at: At) -> None:
    out = await at.cmd('AT+CWJAP="Nowhere","whatever1"')
    assert out == b'AT+CWJAP="Nowhere","whatever1"\r\n+CWJAP:3\r\n\r\nERROR\r\n'


async def test_refused_association_is_code_4_then_the_next_try_works(at: At) -> None:
    assert (await at.cmd('AT+CWJAP="Picky","picky1234"')).endswith(b"+CWJAP:4\r\n\r\nERROR\r\n")
    assert await at.ok('AT+CWJAP="Picky","picky1234"') == JOINED


async def test_slow_association_is_code_1_after_jap_timeout(at: At) -> None:
    start = at.module.clock.now()
    out = await at.cmd('AT+CWJAP="Slow","slowpass1"')
    assert out == b'AT+CWJAP="Slow","slowpass1"\r\n+CWJAP:1\r\n\r\nERROR\r\n'
    assert at.module.clock.now() - start == pytest.approx(15)
    assert await at.ok("AT+CWSTATE?") == b'+CWSTATE:4,"Slow"\r\n'
    assert await at.later(40) == b""  # the attempt was abandoned


async def test_jap_timeout_parameter(at: At) -> None:
    start = at.module.clock.now()
    out = await at.cmd('AT+CWJAP="Slow","slowpass1",,,,,,3')
    assert out.endswith(b"+CWJAP:1\r\n\r\nERROR\r\n")
    assert at.module.clock.now() - start == pytest.approx(3)
    assert await at.cmd('AT+CWJAP="Slow","slowpass1",,,,,,40') == (
        b'AT+CWJAP="Slow","slowpass1",,,,,,40\r\n' + JOINED + b"\r\nOK\r\n"
    )


async def test_no_dhcp_answer_is_code_1_after_connected(at: At) -> None:
    out = await at.cmd('AT+CWJAP="NoDhcp","nodhcp123"')
    assert out == b'AT+CWJAP="NoDhcp","nodhcp123"\r\nWIFI CONNECTED\r\n+CWJAP:1\r\n\r\nERROR\r\n'
    assert await at.ok("AT+CWSTATE?") == b'+CWSTATE:1,"NoDhcp"\r\n'
    assert await at.ok("AT+CIFSR") == (
        b'+CIFSR:STAIP,"0.0.0.0"\r\n+CIFSR:STAMAC,"24:0a:c4:12:34:56"\r\n'
    )


async def test_late_lease_still_arrives_after_the_timeout(at: At) -> None:
    at.radio.stall_dhcp("Lab")
    assert (await at.cmd('AT+CWJAP="Lab","pass1234"')).endswith(b"+CWJAP:1\r\n\r\nERROR\r\n")
    at.radio.stall_dhcp("Lab", on=False)
    assert await at.later(60) == b"WIFI GOT IP\r\n"
    assert await at.ok("AT+CWSTATE?") == b'+CWSTATE:2,"Lab"\r\n'


async def test_lines_during_a_join_are_busy(at: At) -> None:
    at.send('AT+CWJAP="Lab","pass1234"')
    at.send("AT")
    at.send("AT+CWMODE?")
    out = await at.wait_for(b"\r\nOK\r\n")
    assert out == (
        b'AT+CWJAP="Lab","pass1234"\r\n\r\nbusy p...\r\n\r\nbusy p...\r\n' + JOINED + b"\r\nOK\r\n"
    )
    assert await at.cmd("AT") == b"AT\r\n\r\nOK\r\n"


async def test_rejoin_prints_disconnect_first(at: At) -> None:
    await at.ok('AT+CWJAP="Lab","pass1234"')
    assert await at.ok('AT+CWJAP="Cafe",""') == b"WIFI DISCONNECT\r\n" + JOINED
    assert await at.ok("AT+CWSTATE?") == b'+CWSTATE:2,"Cafe"\r\n'


async def test_failed_rejoin_prints_disconnect_then_code(at: At) -> None:
    await at.ok('AT+CWJAP="Lab","pass1234"')
    out = await at.cmd('AT+CWJAP="Lab","badpass99"')
    assert out == b'AT+CWJAP="Lab","badpass99"\r\nWIFI DISCONNECT\r\n+CWJAP:2\r\n\r\nERROR\r\n'


async def test_execute_form_uses_the_last_configuration(at: At) -> None:
    await at.error("AT+CWJAP")  # nothing configured yet
    await at.ok('AT+CWJAP="Lab","pass1234"')
    await at.ok("AT+CWQAP")
    assert await at.cmd("AT+CWJAP") == b"AT+CWJAP\r\n" + JOINED + b"\r\nOK\r\n"


async def test_omitted_ssid_and_password_keep_the_last_ones(at: At) -> None:
    await at.ok('AT+CWJAP="Lab","pass1234"')
    assert await at.ok("AT+CWJAP=,") == b"WIFI DISCONNECT\r\n" + JOINED
    assert (await at.cmd('AT+CWJAP=,"nope12345"')).endswith(b"+CWJAP:2\r\n\r\nERROR\r\n")
    assert (await at.cmd('AT+CWJAP="Nowhere",')).endswith(b"+CWJAP:3\r\n\r\nERROR\r\n")
    assert await at.ok("AT+CWSTATE?") == b'+CWSTATE:4,"Nowhere"\r\n'


async def test_bssid_selects_the_ap(at: At) -> None:
    assert await at.ok('AT+CWJAP="Lab","pass1234","AA:BB:CC:00:00:01"') == JOINED
    out = await at.cmd('AT+CWJAP="Lab","pass1234","aa:bb:cc:00:00:02"')
    assert out.endswith(b"WIFI DISCONNECT\r\n+CWJAP:3\r\n\r\nERROR\r\n")


async def test_auth_threshold_refuses_weaker_aps(at: At) -> None:
    out = await at.cmd('AT+CWJAP="Lab","pass1234",,6')  # WPA2 is weaker than WPA3
    assert out.endswith(b"+CWJAP:3\r\n\r\nERROR\r\n")
    assert at.radio.link is None
    assert await at.ok('AT+CWJAP="Modern","modern123",,6') == JOINED


async def test_hidden_ssid_joins_by_name(at: At) -> None:
    assert await at.ok('AT+CWJAP="Hidden","hidden123"') == JOINED
    assert await at.ok("AT+CWJAP?") == b'+CWJAP:"Hidden","aa:bb:cc:00:00:06",9,-50,0,1,3,0,1\r\n'


async def test_escaped_ssid_joins_and_prints_raw(at: At) -> None:
    line = 'AT+CWJAP="a\\"b\\,c\\\\d","quote1234"'
    assert await at.ok(line) == JOINED
    assert await at.ok("AT+CWSTATE?") == b'+CWSTATE:2,"' + ODD_SSID.encode() + b'"\r\n'
    assert (await at.ok("AT+CWJAP?")).startswith(b'+CWJAP:"a"b,c\\d","aa:bb:cc:00:00:07",2,')


async def test_utf8_and_32_byte_ssids(at: At) -> None:
    assert await at.ok(f'AT+CWJAP="{UTF8_SSID}",""') == JOINED
    assert await at.ok("AT+CWSTATE?") == b'+CWSTATE:2,"' + UTF8_SSID.encode() + b'"\r\n'
    assert await at.ok(f'AT+CWJAP="{SSID_32}","long1234"') == b"WIFI DISCONNECT\r\n" + JOINED
    await at.error(f'AT+CWJAP="{SSID_32}X","long1234"')
    assert await at.ok("AT+CWSTATE?") == b'+CWSTATE:2,"' + SSID_32.encode() + b'"\r\n'


@pytest.mark.parametrize(
    "line",
    [
        'AT+CWJAP="Lab"',
        'AT+CWJAP=""," pass1234"',
        'AT+CWJAP="Lab","' + "p" * 65 + '"',
        'AT+CWJAP="Lab","pass1234","aa:bb:cc:00:00"',
        'AT+CWJAP="Lab","pass1234","aa-bb-cc-00-00-01"',
        'AT+CWJAP="Lab","pass1234",,17',
        'AT+CWJAP="Lab","pass1234",,,7201',
        'AT+CWJAP="Lab","pass1234",,,,0',
        'AT+CWJAP="Lab","pass1234",,,,101',
        'AT+CWJAP="Lab","pass1234",,,,,2',
        'AT+CWJAP="Lab","pass1234",,,,,,2',
        'AT+CWJAP="Lab","pass1234",,,,,,601',
        'AT+CWJAP="Lab","pass1234",,,,,,,4',
        'AT+CWJAP="Lab","pass1234",,,,,,,,1',
        'AT+CWJAP=Lab,"pass1234"',
        'AT+CWJAP="Lab",1234',
        'AT+CWJAP="Lab","pass1234',
    ],
)
async def test_bad_parameters_change_nothing(at: At, line: str) -> None:
    await at.ok('AT+CWJAP="Cafe",""')
    await at.error(line)
    assert await at.ok("AT+CWJAP?") == b'+CWJAP:"Cafe","aa:bb:cc:00:00:02",1,-70,0,1,3,0,1\r\n'
    assert await at.ok("AT+CWRECONNCFG?") == b"+CWRECONNCFG:1,0\r\n"
    assert at.module.wifi.sta.config.password == b""


async def test_limits_are_accepted(at: At) -> None:
    psk = "ab" * 32  # 64 hex digits: a raw key, not the AP's passphrase
    out = await at.cmd(f'AT+CWJAP="Lab","{psk}","aa:bb:cc:00:00:01",16,7200,100,1,600,3')
    assert out.endswith(b"+CWJAP:3\r\n\r\nERROR\r\n")  # no AP is as strong as 16
    await at.ok('AT+CWJAP="Lab","pass1234",,0,0,1,0,3,0')
    assert await at.ok("AT+CWJAP?") == b'+CWJAP:"Lab","aa:bb:cc:00:00:01",6,-40,0,0,1,0,0\r\n'


async def test_join_needs_the_station(at: At) -> None:
    await at.ok("AT+CWMODE=2")
    for line in ('AT+CWJAP="Lab","pass1234"', "AT+CWJAP?", "AT+CWJAP", "AT+CWQAP"):
        await at.error(line)
    assert at.module.wifi.sta.config.ssid == b""


async def test_web_connect_takes_the_same_path(at: At) -> None:
    wifi = at.module.wifi
    assert await wifi.connect(b"Lab", b"wrong-one") is JoinFailure.WRONG_PASSWORD
    assert await wifi.connect(b"Lab", b"pass1234") is None
    assert at.take() == JOINED
    assert wifi.station_ip() is not None
    wifi.disconnect()
    assert await at.later(0.1) == b"WIFI DISCONNECT\r\n"
    wifi.begin_connect(b"Cafe", b"")
    assert await at.later(5) == JOINED
    assert [ap.ssid for ap in await wifi.scan(channel=1)] == [b"Cafe"]
