"""SmartConfig (AT+CWSTARTSMART, AT+CWSTOPSMART) and WPS (AT+WPS): a phone of the
scenario or a fault sends the network, an access point's pressed WPS button hands it
over, and the station joins with the URCs the firmware prints."""

from __future__ import annotations

import pytest

from esp_at_sim.core.events import Event
from esp_at_sim.core.settings import MemorySettingsStore
from esp_at_sim.device.faults import FaultError

from .conftest import Boot
from .harness import At, scenario

JOINED = b"WIFI CONNECTED\r\nWIFI GOT IP\r\n"
GOT_LAB = b"Smart get wifi info\r\nssid:Lab\r\npassword:pass1234\r\n"
KEY = "1234567890123456"

SENDER = """
[[phone]]
mac = "f2:11:22:33:44:77"
smartconfig_at = 3.0
smartconfig_ssid = "Lab"
smartconfig_password = "pass1234"
"""

WPS_AP = """
[[ap]]
ssid = "Router"
password = "router-pass"
channel = 8
rssi = -45
bssid = "aa:bb:cc:00:01:01"
ip = "192.168.60.20"
wps = true
"""


def events(at: At, kind: str) -> list[Event]:
    seen: list[Event] = []
    at.module.bus.subscribe(lambda e: seen.append(e) if e.kind == kind else None)
    return seen


# ------------------------------------------------------------------ SmartConfig
async def test_a_scenario_phone_provisions_by_esptouch(make_at: Boot) -> None:
    at = await make_at(scenario(SENDER))
    steps = events(at, "wifi.smartconfig")
    assert await at.cmd("AT+CWSTARTSMART") == b"AT+CWSTARTSMART\r\n\r\nOK\r\n"
    assert await at.later(5) == (
        b"smartconfig type:ESPTOUCH\r\n" + GOT_LAB + JOINED + b"smartconfig connected wifi\r\n"
    )
    assert (await at.ok("AT+CWJAP?")).startswith(b'+CWJAP:"Lab","aa:bb:cc:00:00:01",6,')
    assert await at.cmd("AT+CWSTOPSMART") == b"AT+CWSTOPSMART\r\n\r\nOK\r\n"
    assert await at.ok("AT+CWSTATE?") == b'+CWSTATE:2,"Lab"\r\n'
    start, got = steps[0], steps[1]
    assert (start.data["step"], got.data["step"]) == ("start", "got")
    assert got.t - start.t == pytest.approx(3.0)  # the phone's smartconfig_at


async def test_airkiss_is_heard_only_by_types_2_and_3(at: At) -> None:
    await at.ok("AT+CWSTARTSMART=1")
    assert at.module.faults.smartconfig("Lab", "pass1234", protocol="airkiss")  # heard...
    assert await at.later(5) == b""  # ...but not an ESP-Touch packet
    await at.ok("AT+CWSTOPSMART")
    await at.ok("AT+CWSTARTSMART=2")
    at.module.faults.smartconfig("Lab", "pass1234", protocol="airkiss")
    assert await at.later(5) == (
        b"smartconfig type:AIRKISS\r\n" + GOT_LAB + JOINED + b"smartconfig connected wifi\r\n"
    )


async def test_esptouch_v2_needs_the_key_and_reports_reserved_data(at: At) -> None:
    await at.ok(f'AT+CWSTARTSMART=4,0,"{KEY}"')
    faults = at.module.faults
    faults.smartconfig("Lab", "pass1234", protocol="esptouch_v2", key="6543210987654321")
    faults.smartconfig("Lab", "pass1234", protocol="esptouch")
    assert await at.later(5) == b""
    faults.smartconfig("Lab", "pass1234", protocol="esptouch_v2", key=KEY, data="room-12")
    assert await at.later(5) == (
        b"smartconfig type:ESPTOUCH_V2\r\n"
        + GOT_LAB
        + b"+SCRD:7,room-12\r\n"
        + JOINED
        + b"smartconfig connected wifi\r\n"
    )
    faults.smartconfig("Cafe", "", protocol="esptouch_v2", key=KEY)  # only the first counts
    assert await at.later(5) == b""


async def test_starting_drops_the_link_and_needs_station_mode(at: At) -> None:
    await at.ok('AT+CWJAP="Lab","pass1234"')
    assert await at.cmd_urcs("AT+CWSTARTSMART") == (
        b"AT+CWSTARTSMART\r\n\r\nOK\r\nWIFI DISCONNECT\r\n"
    )
    await at.error("AT+CWSTARTSMART")  # already running
    await at.ok("AT+CWSTOPSMART")
    await at.ok("AT+CWMODE=3")
    await at.error("AT+CWSTARTSMART")
    assert not at.module.faults.smartconfig("Lab", "pass1234")  # nobody listens


async def test_the_auth_floor_keeps_weaker_networks_out(at: At) -> None:
    await at.ok("AT+CWSTARTSMART=3,6")  # WPA3 at least; Lab is WPA2
    at.module.faults.smartconfig("Lab", "pass1234")
    out = await at.later(20)
    assert out == b"smartconfig type:ESPTOUCH\r\n" + GOT_LAB
    assert (await at.ok("AT+CWSTATE?")).startswith(b"+CWSTATE:4,")


async def test_a_wrong_password_never_reports_connected(at: At) -> None:
    await at.ok("AT+CWSTARTSMART")
    at.module.faults.smartconfig("Lab", "not-the-one")
    assert b"connected wifi" not in await at.later(20)


async def test_the_network_is_stored_as_sysstore_says(
    make_at: Boot, store: MemorySettingsStore
) -> None:
    at = await make_at(scenario(SENDER), store=store)
    await at.ok("AT+CWSTARTSMART")
    assert (await at.later(5)).endswith(b"smartconfig connected wifi\r\n")
    await at.reboot()
    assert await at.later(5) == JOINED  # auto-connect with the stored network
    await at.ok("AT+RESTORE")
    await at.wait_for(b"ready\r\n")
    await at.ok("AT+SYSSTORE=0")
    await at.ok("AT+CWSTARTSMART")
    at.module.faults.smartconfig("Cafe", "")
    assert (await at.later(5)).endswith(b"smartconfig connected wifi\r\n")
    await at.reboot()
    assert await at.later(5) == b""


async def test_the_password_never_reaches_the_event_log(at: At) -> None:
    seen: list[Event] = []
    at.module.bus.subscribe(seen.append)
    await at.ok("AT+CWSTARTSMART")
    at.module.faults.smartconfig("Lab", "pass1234")
    assert b"password:pass1234" in await at.later(5)
    assert any(e.kind == "urc" and e.data["line"] == "password:***" for e in seen)
    assert not any("pass1234" in repr(e.data) for e in seen)


@pytest.mark.parametrize(
    "line",
    [
        "AT+CWSTARTSMART=0",
        "AT+CWSTARTSMART=5",
        "AT+CWSTARTSMART=1,16",
        'AT+CWSTARTSMART=4,0,"123456789012345"',
        f'AT+CWSTARTSMART=1,0,"{KEY}"',
        'AT+CWSTARTSMART="1"',
    ],
)
async def test_bad_smartconfig_lines(at: At, line: str) -> None:
    await at.error(line)
    assert not at.module.wifi.smart.running


def test_bad_smartconfig_faults() -> None:
    from esp_at_sim.radio.fields import FieldError
    from esp_at_sim.radio.world import PhoneConfig

    for bad in (
        {"smartconfig": "wechat"},
        {"smartconfig_at": 1.0},
        {"smartconfig_ssid": ""},
        {"smartconfig_ssid": "x", "smartconfig_key": "short", "smartconfig": "esptouch_v2"},
        {"smartconfig_ssid": "x", "smartconfig_key": KEY},
    ):
        with pytest.raises(FieldError):
            PhoneConfig("f2:00:00:00:00:09", **bad)  # type: ignore[arg-type]


async def test_a_bad_fault_is_refused(at: At) -> None:
    with pytest.raises(FaultError):
        at.module.faults.smartconfig("Lab", "x", protocol="wechat")


# ---------------------------------------------------------------------------- WPS
async def test_wps_joins_the_ap_whose_button_is_pressed(make_at: Boot) -> None:
    at = await make_at(scenario(WPS_AP.replace("wps = true", "wps = true\nwps_press_at = 6.0")))
    connected = events(at, "wifi.connected")
    assert await at.cmd("AT+WPS=1") == b"AT+WPS=1\r\n\r\nOK\r\n"
    assert await at.later(15) == JOINED
    assert connected[0].t > 6.0  # not before the button was pressed
    assert (await at.ok("AT+CWJAP?")).startswith(b'+CWJAP:"Router","aa:bb:cc:00:01:01",8,')
    assert not at.module.wifi.wps.running
    await at.ok("AT+WPS=0")


async def test_wps_by_fault_and_the_scan_shows_the_flag(make_at: Boot) -> None:
    at = await make_at(scenario(WPS_AP))
    await at.ok("AT+CWLAPOPT=0,2047")
    assert b'+CWLAP:(3,"Router",-45,"aa:bb:cc:00:01:01",8,-1,-1,4,4,7,1)' in await at.ok(
        'AT+CWLAP="Router"'
    )
    steps = events(at, "wifi.wps")
    await at.ok("AT+WPS=1,3")
    await at.error("AT+WPS=1")  # already enabled
    at.module.faults.wps_button("Router")
    assert await at.later(10) == JOINED
    assert [e.data["step"] for e in steps] == ["start", "success"]


async def test_two_pressed_buttons_are_an_overlap(make_at: Boot) -> None:
    second = WPS_AP.replace("Router", "Router2").replace(":01:01", ":01:02")
    at = await make_at(scenario(WPS_AP + second))
    steps = events(at, "wifi.wps")
    at.module.faults.wps_button("Router")
    at.module.faults.wps_button("Router2")
    await at.ok("AT+WPS=1")
    assert await at.later(10) == b""
    assert steps[-1].data["step"] == "overlap"
    assert not at.module.wifi.wps.running


async def test_wps_gives_up_after_the_walk_time(make_at: Boot) -> None:
    at = await make_at(scenario(WPS_AP))
    steps = events(at, "wifi.wps")
    await at.ok("AT+WPS=1")
    assert await at.later(125) == b""
    assert steps[-1].data["step"] == "timeout"
    at.module.faults.wps_button("Router")  # too late for that session
    assert await at.later(10) == b""


async def test_wps_refuses_wep_and_respects_the_floor(make_at: Boot) -> None:
    wep = WPS_AP.replace('password = "router-pass"', 'password = "abcde"\nauth = "WEP"')
    at = await make_at(scenario(wep))
    steps = events(at, "wifi.wps")
    at.module.faults.wps_button("Router")
    await at.ok("AT+WPS=1")
    assert await at.later(10) == b""
    assert steps[-1].data["step"] == "failed"
    at2 = await make_at(scenario(WPS_AP))
    at2.module.faults.wps_button("Router")
    await at2.ok("AT+WPS=1,6")  # WPA3 at least; the router is WPA2
    assert await at2.later(20) == b""


async def test_wps_needs_the_station(at: At) -> None:
    await at.ok("AT+CWMODE=2")
    await at.error("AT+WPS=1")
    for line in ("AT+WPS=2", "AT+WPS=1,16", "AT+WPS", "AT+WPS?"):
        await at.error(line)
    with pytest.raises(FaultError):
        at.module.faults.wps_button("Lab")  # no WPS on that AP
    with pytest.raises(FaultError):
        at.module.faults.wps_button("Nowhere")
