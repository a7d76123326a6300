"""/getaprecord: a fresh scan, strongest first, at most ten, hidden networks left out."""

from __future__ import annotations

import json

from .conftest import MakeWeb
from .helpers import CTRL_SSID, ODD_SSID, SSID_32, UTF8_SSID, Web, scenario


async def test_list_rules(web: Web) -> None:
    status, body = await web.get("/getaprecord")
    assert status == 200
    data = json.loads(body)
    assert data["state"] == 0 and data["message"] == "scan done"
    # The ten strongest of 14 APs are HomeNet -42, Hidden -44, Office -50, Slow -60,
    # NoDhcp -65, Modern -66, Tab -70, Café -75, odd -80, 32-byte -85; Weak, Weakest, Picky
    # and Moody are cut, and the hidden one is left out after the cut.
    assert data["aplist"] == [
        {"ssid": "HomeNet", "auth_mode": 3},
        {"ssid": "Office", "auth_mode": 5},
        {"ssid": "Slow", "auth_mode": 3},
        {"ssid": "NoDhcp", "auth_mode": 3},
        {"ssid": "Modern", "auth_mode": 6},
        {"ssid": CTRL_SSID, "auth_mode": 0},
        {"ssid": UTF8_SSID, "auth_mode": 0},
        {"ssid": ODD_SSID, "auth_mode": 3},
        {"ssid": SSID_32, "auth_mode": 3},
    ]


async def test_exact_bytes_and_escapes(web: Web) -> None:
    _, body = await web.get("/getaprecord")
    assert body.startswith(
        b'{"state":0,"message":"scan done","aplist":[{"ssid":"HomeNet","auth_mode":3},'
    )
    assert b'{"ssid":"a\\"b\\/c\\\\d&e","auth_mode":3}' in body
    assert b'{"ssid":"Tab\\u0009Net","auth_mode":0}' in body
    assert '{"ssid":"Café☕","auth_mode":0}'.encode() in body
    assert body.endswith(b"]}")


async def test_scan_takes_simulated_time(web: Web) -> None:
    before = web.module.clock.now()
    await web.get("/getaprecord")
    assert web.module.clock.now() - before >= 13 * 0.12


async def test_nothing_found_is_500(make_web: MakeWeb) -> None:
    empty = scenario('[[phone]]\nmac = "f2:11:22:33:44:55"\n')
    web = await make_web(empty)
    assert await web.get("/getaprecord") == (500, b'{"state": 1}')


async def test_only_hidden_networks_give_an_empty_list(make_web: MakeWeb) -> None:
    hidden = scenario('[[ap]]\nssid = "Secret"\nauth = "OPEN"\nhidden = true\n')
    web = await make_web(hidden)
    assert await web.get("/getaprecord") == (
        200,
        b'{"state":0,"message":"scan done","aplist":[]}',
    )


async def test_softap_only_cannot_scan(make_web: MakeWeb) -> None:
    web = await make_web(mode=2)
    assert await web.get("/getaprecord") == (500, b'{"state": 1}')


async def test_station_only_can_scan(make_web: MakeWeb) -> None:
    web = await make_web(mode=1)
    status, body = await web.get("/getaprecord")
    assert status == 200 and json.loads(body)["aplist"][0]["ssid"] == "HomeNet"
