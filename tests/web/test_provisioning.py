"""Provisioning through /setstainfo, /getstainfo and /getresult: results, URC sequences on
the AT port, failure reasons, refusals, limits and the JSON of odd SSIDs."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator

import pytest

from esp_at_sim.core.events import Event
from esp_at_sim.web import provisioning
from esp_at_sim.web.provisioning import ProvState

from .conftest import MakeWeb
from .helpers import CTRL_SSID, ODD_SSID, SSID_32, UTF8_SSID, Web

SUCCESS_URCS = b"+WEBSERVERRSP:1\r\nWIFI CONNECTED\r\nWIFI GOT IP\r\n"
RESULT_TAKEN = b"+WEBSERVERRSP:2\r\n"


def state_times(web: Web) -> dict[str, float]:
    """When (simulated time) provisioning entered each state, from the event log."""
    times: dict[str, float] = {}

    def record(event: Event) -> None:
        if event.kind == "web.provisioning":
            times[event.data["state"]] = event.t

    web.module.bus.subscribe(record)
    return times


async def test_success_prints_the_seed_sequence(web: Web) -> None:
    assert await web.provision("HomeNet", "sunflower42") == (200, b'{"state": 0}')
    info = await web.outcome()
    assert info == {
        "state": 1,
        "sta_ssid": "HomeNet",
        "sta_password": "",
        "message": "connect OK",
        "sta_ip": "192.168.1.23",
    }
    assert await web.post("/getresult", {"received": "1"}) == (200, b'{"state": 0}')
    assert await web.at.settle() == SUCCESS_URCS + RESULT_TAKEN
    assert await web.stainfo() == {
        "state": 0,
        "sta_ssid": "",
        "sta_password": "",
        "message": "waiting config",
    }
    assert web.server.provisioning.sta_ip == "192.168.1.23"
    out = await web.at.cmd("AT+CWJAP?")
    assert b'+CWJAP:"HomeNet","a4:2b:b0:5e:11:01"' in out


async def test_status_body_bytes(web: Web) -> None:
    assert await web.get("/getstainfo") == (
        200,
        b'{"state":0,"sta_ssid":"","sta_password":"","message":"waiting config"}',
    )
    await web.provision("HomeNet", "sunflower42")
    await web.outcome()
    _, body = await web.get("/getstainfo")
    assert body == (
        b'{"state":1,"sta_ssid":"HomeNet","sta_password":"","message":"connect OK",'
        b'"sta_ip":"192.168.1.23"}'
    )


@pytest.mark.parametrize(
    ("ssid", "password", "reason", "urcs"),
    [
        ("HomeNet", "wrong-password", "wrong_password", b"+WEBSERVERRSP:1\r\n"),
        ("Nowhere", "whatever1", "not_found", b"+WEBSERVERRSP:1\r\n"),
        ("NoDhcp", "nodhcp123", "no_ip", b"+WEBSERVERRSP:1\r\nWIFI CONNECTED\r\n"),
        ("Slow", "slowpass1", "timeout", b"+WEBSERVERRSP:1\r\n"),
        ("Picky", "picky1234", "failed", b"+WEBSERVERRSP:1\r\n"),
    ],
)
async def test_failures_and_their_reasons(
    web: Web, ssid: str, password: str, reason: str, urcs: bytes
) -> None:
    times = state_times(web)
    assert await web.provision(ssid, password) == (200, b'{"state": 0}')
    info = await web.outcome()
    assert info == {
        "state": 2,
        "sta_ssid": ssid,
        "sta_password": "",
        "message": "connect fail",
        "reason": reason,
    }
    # The failure is declared after connection_timeout (25 s) plus the 300 ms grace.
    assert times["CONNECTING"] - times["CONFIG_DONE"] == pytest.approx(0.3)
    assert times["CONNECT_FAIL"] - times["CONNECTING"] == pytest.approx(25.0)
    assert await web.at.settle() == urcs
    _, body = await web.get("/getstainfo")
    assert body.endswith(b'"message":"connect fail","reason":"' + reason.encode() + b'"}')
    # After the failure nothing more happens on the AT port (reconnection stopped).
    await web.module.clock.sleep(40)
    assert await web.at.settle() == b""
    assert await web.post("/getresult", {"received": "1"}) == (200, b'{"state": 0}')
    assert await web.at.settle() == RESULT_TAKEN
    assert (await web.stainfo())["state"] == 0


async def test_refused_attempts_are_retried_until_the_timeout(web: Web) -> None:
    """Provisioning forces reconnection: an AP that refuses twice is joined at the third
    attempt, well within the timeout, and the AT port only sees the success."""
    await web.provision("Moody", "moody1234")
    assert (await web.outcome())["message"] == "connect OK"
    assert await web.at.settle() == SUCCESS_URCS


async def test_timeout_follows_the_configured_connection_timeout(make_web: MakeWeb) -> None:
    web = await make_web(start="AT+WEBSERVER=1,80,40")
    times = state_times(web)
    await web.provision("Nowhere", "whatever1")
    await web.outcome()
    assert times["CONNECT_FAIL"] - times["CONFIG_DONE"] == pytest.approx(40.3)


async def test_connect_ok_is_reported_within_one_poll(web: Web) -> None:
    times = state_times(web)
    await web.provision("HomeNet", "sunflower42")
    await web.outcome()
    # grace 0.3 s, association 1 s, DHCP 0.5 s: the address arrives with the third poll
    assert times["CONNECT_OK"] - times["CONNECTING"] == pytest.approx(1.5)


async def test_success_after_failure_and_refusal_while_connecting(web: Web) -> None:
    await web.provision("HomeNet", "nope-nope")
    assert (await web.outcome())["reason"] == "wrong_password"
    web.at.take()
    # CONNECT_FAIL accepts new credentials without /getresult
    assert await web.provision("HomeNet", "sunflower42") == (200, b'{"state": 0}')
    assert (await web.outcome())["state"] == 1
    # CONNECT_OK accepts new credentials too (the station link is dropped first)
    assert await web.provision("Nowhere", "whatever1") == (200, b'{"state": 0}')
    assert (await web.outcome())["reason"] == "not_found"
    out = await web.at.settle()
    assert out == SUCCESS_URCS + b"WIFI DISCONNECT\r\n+WEBSERVERRSP:1\r\n"


async def test_password_is_echoed_only_in_compat_mode(make_web: MakeWeb) -> None:
    web = await make_web(compat_echo_password=True)
    await web.provision("HomeNet", 'sun/"flower\\42')
    info = await web.outcome()
    assert info["sta_password"] == 'sun/"flower\\42'
    _, body = await web.get("/getstainfo")
    assert b'"sta_password":"sun\\/\\"flower\\\\42"' in body


async def test_password_never_in_event_log(web: Web) -> None:
    seen: list[str] = []
    web.module.bus.subscribe(lambda event: seen.append(repr(event)))
    await web.provision("HomeNet", "sunflower42")
    await web.outcome()
    assert seen and not any("sunflower42" in line for line in seen)


@pytest.mark.parametrize(
    ("ssid", "password", "wire"),
    [
        (ODD_SSID, "quote1234", b'"sta_ssid":"a\\"b\\/c\\\\d&e"'),
        (UTF8_SSID, "", '"sta_ssid":"Café☕"'.encode()),
        (SSID_32, "long1234", b'"sta_ssid":"' + SSID_32.encode() + b'"'),
        (CTRL_SSID, "", b'"sta_ssid":"Tab\\u0009Net"'),
    ],
)
async def test_odd_ssids_round_trip_as_valid_json(
    web: Web, ssid: str, password: str, wire: bytes
) -> None:
    assert await web.provision(ssid, password) == (200, b'{"state": 0}')
    await web.outcome()
    _, body = await web.get("/getstainfo")
    assert wire in body
    info = json.loads(body)
    assert info["sta_ssid"] == ssid
    assert info["state"] == 1


async def test_stock_page_body_with_lengths(web: Web) -> None:
    body = json.dumps(
        {"ssid": UTF8_SSID, "ssid_len": 8, "password": "", "password_len": 0}
    ).encode()
    assert await web.post("/setstainfo", body) == (200, b'{"state": 0}')
    assert (await web.outcome())["state"] == 1


async def test_applet_appends_udp_port(web: Web) -> None:
    body = b'{"ssid":"HomeNet","password":"sunflower42"}&udp_port=37325'
    assert await web.post("/setstainfo", body) == (200, b'{"state": 0}')
    assert web.server.provisioning.credentials is not None
    assert web.server.provisioning.credentials.udp_port == 37325
    assert (await web.outcome())["state"] == 1
    assert await web.at.settle() == SUCCESS_URCS


async def test_ampersand_inside_the_json_is_not_an_argument(web: Web) -> None:
    await web.provision("HomeNet", "x&udp_port=5")
    creds = web.server.provisioning.credentials
    assert creds is not None and creds.udp_port is None and creds.password == b"x&udp_port=5"


async def test_phone_hotspot_hook_answers_and_fails_for_now(web: Web) -> None:
    body = b'{"ssid":"","password":"hotspot-1234"}&udp_port=37325'
    assert await web.post("/setstainfo", body) == (200, b'{"state": 0}')
    info = await web.outcome()
    assert info["state"] == 2 and info["message"] == "connect fail"
    assert await web.at.settle() == b"+WEBSERVERRSP:1\r\n+WEBSERVERRSP:2\r\n"


async def test_browser_with_empty_ssid_tries_it_directly(web: Web) -> None:
    assert await web.provision("", "password1") == (200, b'{"state": 0}')
    assert (await web.outcome())["reason"] == "not_found"


@pytest.mark.parametrize(
    "body",
    [
        b"ssid=HomeNet&password=sunflower42",
        b"",
        b"[1, 2]",
        b'"HomeNet"',
        b'{"ssid": 5, "password": "x"}',
        b'{"ssid": "HomeNet", "password": null}',
        b'{"ssid": "", "password": ""}',
        b"{}",
        b'{"ssid": "' + b"s" * 33 + b'", "password": "x"}',
        b'{"ssid": "HomeNet", "password": "' + b"p" * 65 + b'"}',
        b'{"ssid": "Home\\u0000Net", "password": "x"}',
        b'{"ssid": "\\ud800", "password": "x"}',
        b'{"ssid": "\xff", "password": "x"}',
        b'{"ssid":"HomeNet","password":"sunflower42"}&udp_port=',
        b'{"ssid":"HomeNet","password":"sunflower42"}&udp_port=abc',
        b'{"ssid":"HomeNet","password":"sunflower42"}&udp_port=70000',
        b'{"ssid":"HomeNet","password":"sunflower42"}&udp_port=\xc2\xb2',
        b'{"ssid": "HomeNet", "password": "sunflower42"',
    ],
)
async def test_bad_bodies_get_400_and_change_nothing(web: Web, body: bytes) -> None:
    assert await web.post("/setstainfo", body) == (400, b'{"state": 1}')
    assert web.server.provisioning.state is ProvState.NOT_START
    assert await web.at.settle() == b""


async def test_exact_limits_are_accepted(web: Web) -> None:
    ssid = "Z" * 32
    body = json.dumps({"ssid": ssid, "password": "p" * 64}).encode()
    assert await web.post("/setstainfo", body) == (200, b'{"state": 0}')
    assert (await web.outcome())["sta_ssid"] == ssid


async def test_body_limit_is_320_bytes(web: Web) -> None:
    base = b'{"ssid":"HomeNet","password":"sunflower42"}'
    longest = base + b" " * (319 - len(base))
    longer = base + b" " * (320 - len(base))
    assert await web.post("/setstainfo", longer) == (500, b'{"state": 1}')
    assert web.server.provisioning.state is ProvState.NOT_START
    assert await web.post("/setstainfo", longest) == (200, b'{"state": 0}')


async def test_chunked_body_over_the_limit_is_cut_off(web: Web) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"ssid":"HomeNet",'
        yield b" " * 400
        yield b'"password":"sunflower42"}'

    assert await web.post("/setstainfo", chunks()) == (500, b'{"state": 1}')
    assert web.server.provisioning.state is ProvState.NOT_START


async def test_chunked_body_under_the_limit_is_fine(web: Web) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"ssid":"HomeNet",'
        yield b'"password":"sunflower42"}'

    assert await web.post("/setstainfo", chunks()) == (200, b'{"state": 0}')


@pytest.mark.parametrize("mode", [1, 2])
async def test_refused_unless_softap_and_station(make_web: MakeWeb, mode: int) -> None:
    web = await make_web(mode=mode)
    assert await web.provision("HomeNet", "sunflower42") == (400, b'{"state": 1}')
    # The mode check comes first: even an oversized body gets 400 here.
    assert await web.post("/setstainfo", b"x" * 1000) == (400, b'{"state": 1}')


@pytest.mark.parametrize("state", [ProvState.CONFIG_DONE, ProvState.CONNECTING])
async def test_refused_while_busy(web: Web, state: ProvState) -> None:
    web.server.provisioning.state = state
    assert await web.provision("HomeNet", "sunflower42") == (400, b'{"state": 1}')
    assert web.server.provisioning.state is state
    assert web.server.provisioning.credentials is None
    # /getresult now means the page was closed: URC 2, provisioning goes on
    assert await web.post("/getresult", b"") == (200, b'{"state": 0}')
    assert web.server.provisioning.state is state
    assert await web.at.settle() == RESULT_TAKEN


async def test_states_seen_in_real_time(make_web: MakeWeb, monkeypatch: pytest.MonkeyPatch) -> None:
    # At scale 0.1: "config done" for 1 s of real time (a 10 s grace), then "connecting"
    # to Slow (which answers after 30 s) for 2.5 s, until the 25 s connection_timeout.
    monkeypatch.setattr(provisioning, "GRACE", 10.0)
    web = await make_web(scale=0.1)
    assert await web.provision("Slow", "slowpass1") == (200, b'{"state": 0}')
    info = await web.stainfo()
    assert (info["state"], info["message"], info["sta_ssid"]) == (0, "config done", "Slow")
    assert await web.provision("HomeNet", "sunflower42") == (400, b'{"state": 1}')
    for _ in range(300):  # bounded: at most 3 s
        if web.server.provisioning.state is ProvState.CONNECTING:
            break
        await asyncio.sleep(0.01)
    info = await web.stainfo()
    assert (info["state"], info["message"], info["sta_ssid"]) == (0, "connecting", "Slow")
    assert await web.provision("HomeNet", "sunflower42") == (400, b'{"state": 1}')
    assert await web.at.settle() == b"+WEBSERVERRSP:1\r\n"


async def test_getresult_when_nothing_started(web: Web) -> None:
    assert await web.post("/getresult", b"") == (200, b'{"state": 0}')
    assert await web.post("/getresult", b"x" * 1000) == (200, b'{"state": 0}')
    assert await web.at.settle() == b""


@pytest.mark.parametrize("body", [b"", b"receive=1", b"x=1&received", b"received"])
async def test_getresult_needs_received_once_the_result_is_known(web: Web, body: bytes) -> None:
    await web.provision("HomeNet", "sunflower42")
    await web.outcome()
    web.at.take()
    assert await web.post("/getresult", body) == (400, b'{"state": 1}')
    assert web.server.provisioning.state is ProvState.CONNECT_OK
    assert await web.at.settle() == b""


@pytest.mark.parametrize(
    "body", [b"received=1", b"received=", b"a=b&received=0", b"received=1\r\n"]
)
async def test_getresult_accepts_any_received_value(web: Web, body: bytes) -> None:
    await web.provision("HomeNet", "nope-nope")
    await web.outcome()
    web.at.take()
    assert await web.post("/getresult", body) == (200, b'{"state": 0}')
    assert await web.at.settle() == RESULT_TAKEN
    assert web.server.provisioning.credentials is None


async def test_getresult_body_limit(web: Web) -> None:
    await web.provision("HomeNet", "sunflower42")
    await web.outcome()
    assert await web.post("/getresult", b"received=1" + b"&" * 320) == (500, b'{"state": 1}')
    assert web.server.provisioning.state is ProvState.CONNECT_OK


async def test_beacon_form_from_a_closing_page(web: Web) -> None:
    await web.provision("HomeNet", "sunflower42")
    await web.outcome()
    headers = {"Content-Type": "text/plain;charset=UTF-8"}
    assert await web.post("/getresult", b"received=1", headers=headers) == (200, b'{"state": 0}')
    assert web.server.provisioning.state is ProvState.NOT_START


async def test_stop_forgets_provisioning(web: Web) -> None:
    await web.provision("HomeNet", "sunflower42")
    await web.outcome()
    await web.at.settle()
    assert await web.at.cmd("AT+WEBSERVER=0") == b"AT+WEBSERVER=0\r\n\r\nOK\r\n"
    assert web.server.provisioning.state is ProvState.NOT_START
    assert web.server.provisioning.credentials is None


@pytest.mark.parametrize(
    ("ssid", "password", "reason"),
    [("HomeNet", "nope-nope", "wrong_password"), ("Nowhere", "whatever1", "not_found")],
)
async def test_a_final_reason_is_reported_while_the_module_retries(
    web: Web, ssid: str, password: str, reason: str
) -> None:
    """The first failed attempt already says why; the module goes on retrying, and the AT
    port prints exactly what it prints without this report."""
    seen: list[tuple[float, str, bool]] = []
    prov = web.server.provisioning

    def record(event: Event) -> None:
        if event.kind == "web.provisioning.retrying":
            seen.append((event.t, prov.status_body(echo_password=False), prov.accepting))

    web.module.bus.subscribe(record)
    times = state_times(web)
    await web.provision(ssid, password)
    info = await web.outcome()
    assert info["reason"] == reason
    assert seen, "no report while connecting"
    first_t, body, accepting = seen[0]
    assert first_t - times["CONFIG_DONE"] < 5  # long before the 25 s timeout
    assert json.loads(body) == {
        "state": 0,
        "sta_ssid": ssid,
        "sta_password": "",
        "message": "connecting",
        "reason": reason,
        "retrying": True,
    }
    assert accepting
    assert len(seen) > 3  # it kept retrying, each attempt failing the same way
    assert times["CONNECT_FAIL"] - times["CONNECTING"] == pytest.approx(25.0)
    assert await web.at.settle() == b"+WEBSERVERRSP:1\r\n"
    # Once the result is in, the connecting-time fields are gone.
    assert "retrying" not in await web.stainfo()


async def test_a_retry_for_another_reason_is_not_reported(web: Web) -> None:
    """Refusals (the AP refuses twice, then takes the module) are not final."""
    prov = web.server.provisioning
    seen: list[str] = []

    def record(event: Event) -> None:
        if event.kind == "wifi.join_failed" and prov.state is ProvState.CONNECTING:
            seen.append(prov.status_body(echo_password=False))

    web.module.bus.subscribe(record)
    await web.provision("Moody", "moody1234")
    assert (await web.outcome())["message"] == "connect OK"
    assert seen and all("retrying" not in body for body in seen)


async def test_corrected_password_is_taken_while_the_module_retries(make_web: MakeWeb) -> None:
    # 60 s connection_timeout at scale 0.1: 6 s of real time before the failure is
    # declared; the wrong password is known after about 0.15 s.
    web = await make_web(scale=0.1, start="AT+WEBSERVER=1,80,60")
    assert await web.provision("HomeNet", "nope-nope") == (200, b'{"state": 0}')
    for _ in range(500):  # bounded: at most 5 s
        info = await web.stainfo()
        if info.get("retrying"):
            break
        await asyncio.sleep(0.01)
    assert info == {
        "state": 0,
        "sta_ssid": "HomeNet",
        "sta_password": "",
        "message": "connecting",
        "reason": "wrong_password",
        "retrying": True,
    }
    assert await web.provision("HomeNet", "sunflower42") == (200, b'{"state": 0}')
    for _ in range(500):  # bounded: at most 5 s
        info = await web.stainfo()
        if info["state"] != 0:
            break
        await asyncio.sleep(0.01)
    assert info["message"] == "connect OK"
    assert await web.at.settle(10) == b"+WEBSERVERRSP:1\r\n" + SUCCESS_URCS


async def test_getstainfo_shows_every_change_at_the_next_request(web: Web) -> None:
    """The answer is kept between requests but never past a change: after each change
    of what it shows, the very next request has it."""
    prov = web.server.provisioning
    answers: list[bytes] = []

    async def check() -> None:
        status, body = await web.get("/getstainfo")
        assert (status, body) == (200, prov.status_body(echo_password=False).encode())
        answers.append(body)

    await check()
    await check()
    kept = prov.status_bytes(echo_password=False)
    assert prov.status_bytes(echo_password=False) is kept  # built once, not per request
    changes: list[tuple[str, object]] = [
        ("credentials", provisioning.Credentials(b"HomeNet", b"sunflower42")),
        ("state", ProvState.CONNECTING),
        ("retry_reason", "wrong_password"),
        ("state", ProvState.CONNECT_FAIL),
        ("reason", "not_found"),
        ("state", ProvState.CONNECT_OK),
        ("sta_ip", "192.168.1.23"),
        ("credentials", None),
        ("state", ProvState.NOT_START),
    ]
    for name, value in changes:
        setattr(prov, name, value)
        await check()
    changed = answers[1:]
    assert all(a != b for a, b in itertools.pairwise(changed))  # every change shows


async def test_the_kept_status_follows_the_password_echo(web: Web) -> None:
    prov = web.server.provisioning
    prov.credentials = provisioning.Credentials(b"HomeNet", b"sunflower42")
    assert b'"sta_password":""' in prov.status_bytes(echo_password=False)
    assert b'"sta_password":"sunflower42"' in prov.status_bytes(echo_password=True)
    assert b'"sta_password":""' in prov.status_bytes(echo_password=False)
