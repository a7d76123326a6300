"""Link loss and reconnection: AT+CWRECONNCFG, CWJAP's <reconn_interval>, AT+CWQAP."""

from __future__ import annotations

import itertools

import pytest

from esp_at_sim.radio.sim import SEARCH_TIME

from .harness import At

JOINED = b"WIFI CONNECTED\r\nWIFI GOT IP\r\n"


async def test_reconncfg_query_and_set(at: At) -> None:
    assert await at.cmd("AT+CWRECONNCFG?") == b"AT+CWRECONNCFG?\r\n+CWRECONNCFG:0,0\r\n\r\nOK\r\n"
    assert await at.cmd("AT+CWRECONNCFG=1,100") == b"AT+CWRECONNCFG=1,100\r\n\r\nOK\r\n"
    assert await at.ok("AT+CWRECONNCFG?") == b"+CWRECONNCFG:1,100\r\n"
    await at.ok("AT+CWRECONNCFG=7200,1000,0")
    assert await at.ok("AT+CWRECONNCFG?") == b"+CWRECONNCFG:7200,1000\r\n"


@pytest.mark.parametrize(
    "line",
    [
        "AT+CWRECONNCFG=7201,0",
        "AT+CWRECONNCFG=1,1001",
        "AT+CWRECONNCFG=-1,0",
        "AT+CWRECONNCFG=1",
        "AT+CWRECONNCFG=1,1,2",
        "AT+CWRECONNCFG=1,1,0,0",
        'AT+CWRECONNCFG="1",1',
        "AT+CWRECONNCFG",
    ],
)
async def test_reconncfg_bad_forms_change_nothing(at: At, line: str) -> None:
    await at.ok("AT+CWRECONNCFG=5,3")
    await at.error(line)
    assert await at.ok("AT+CWRECONNCFG?") == b"+CWRECONNCFG:5,3\r\n"


async def test_link_loss_reconnects_every_interval(at: At) -> None:
    failures: list[float] = []
    at.module.bus.subscribe(
        lambda event: failures.append(event.t) if event.kind == "wifi.join_failed" else None
    )
    await at.ok('AT+CWJAP="Lab","pass1234",,,5')
    at.radio.vanish("Lab")
    assert at.take() == b"WIFI DISCONNECT\r\n"
    assert await at.ok("AT+CWSTATE?") == b'+CWSTATE:3,"Lab"\r\n'
    assert await at.ok("AT+CWJAP?") == b"No AP\r\n"
    assert await at.ok("AT+CIFSR") == (
        b'+CIFSR:STAIP,"0.0.0.0"\r\n+CIFSR:STAMAC,"24:0a:c4:12:34:56"\r\n'
    )
    assert await at.later(20) == b""  # attempts that find nothing print nothing
    gaps = [b - a for a, b in itertools.pairwise(failures)]
    assert len(failures) >= 2
    assert gaps == pytest.approx([5 + SEARCH_TIME] * len(gaps))
    at.radio.appear("Lab")
    assert await at.wait_for(b"WIFI GOT IP\r\n") == JOINED
    assert await at.ok("AT+CWSTATE?") == b'+CWSTATE:2,"Lab"\r\n'


async def test_dropped_link_comes_back_after_one_second_by_default(at: At) -> None:
    await at.ok('AT+CWJAP="Lab","pass1234"')
    lost = at.module.clock.now()
    assert at.radio.drop_link(8)
    assert at.take() == b"WIFI DISCONNECT\r\n"
    assert await at.wait_for(b"WIFI GOT IP\r\n") == JOINED
    # 1 s reconnection interval, then the AP's 1 s association and 0.5 s DHCP
    assert at.module.clock.now() - lost == pytest.approx(2.5)
    assert at.module.wifi.sta.last_reason == 8


async def test_no_reconnection_with_interval_zero(at: At) -> None:
    await at.ok('AT+CWJAP="Lab","pass1234",,,0')
    at.radio.drop_link(8)
    assert await at.later(30) == b"WIFI DISCONNECT\r\n"
    assert await at.ok("AT+CWSTATE?") == b'+CWSTATE:4,"Lab"\r\n'


async def test_repeat_count_limits_the_attempts(at: At) -> None:
    await at.ok('AT+CWJAP="Lab","pass1234"')
    await at.ok("AT+CWRECONNCFG=2,3")
    at.radio.vanish("Lab")
    assert at.take() == b"WIFI DISCONNECT\r\n"
    await at.later(3 * (2 + 1.6) + 0.5)
    assert await at.ok("AT+CWSTATE?") == b'+CWSTATE:4,"Lab"\r\n'
    at.radio.appear("Lab")
    assert await at.later(30) == b""


async def test_cwqap_stops_reconnecting(at: At) -> None:
    await at.ok('AT+CWJAP="Lab","pass1234",,,2')
    at.radio.vanish("Lab")
    assert at.take() == b"WIFI DISCONNECT\r\n"
    assert await at.cmd("AT+CWQAP") == b"AT+CWQAP\r\n\r\nOK\r\n"
    at.radio.appear("Lab")
    assert await at.later(30) == b""
    assert await at.ok("AT+CWSTATE?") == b'+CWSTATE:4,"Lab"\r\n'


async def test_reconnect_now(at: At) -> None:
    await at.ok('AT+CWJAP="Lab","pass1234"')
    await at.ok("AT+CWQAP")
    assert await at.ok("AT+CWRECONNCFG=1,0,1") == b""
    assert await at.later(5) == JOINED
    assert await at.ok("AT+CWRECONNCFG=1,0,1") == b""  # has an IP: nothing happens
    assert await at.later(5) == b""


async def test_failed_join_does_not_retry(at: At) -> None:
    await at.ok("AT+CWRECONNCFG=1,0")
    assert (await at.cmd('AT+CWJAP="Lab","wrongpass"')).endswith(b"+CWJAP:2\r\n\r\nERROR\r\n")
    assert await at.later(30) == b""
    assert await at.ok("AT+CWSTATE?") == b'+CWSTATE:4,"Lab"\r\n'


async def test_link_loss_reason_is_kept_for_the_event_log(at: At) -> None:
    seen: list[str] = []
    at.module.bus.subscribe(lambda event: seen.append(event.kind))
    await at.ok('AT+CWJAP="Lab","pass1234"')
    at.radio.drop_link(15)
    assert at.module.wifi.sta.last_reason == 15
    assert "wifi.link_lost" in seen and "wifi.disconnected" in seen
