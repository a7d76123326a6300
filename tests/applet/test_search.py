"""The applet's phone-hotspot search: which AP is tried when, the filters, the budget,
failed BSSIDs, and what the AT port shows."""

from __future__ import annotations

import pytest

from .conftest import MakeRig
from .rig import (
    HOTSPOT,
    HOTSPOT_PASSWORD,
    PHONE,
    RESULT_TAKEN,
    ROUTER,
    SUCCESS_URCS,
    Rig,
    ack_at,
    listen,
    never,
    world,
)

FAILED_URCS = b"+WEBSERVERRSP:1\r\n+WEBSERVERRSP:2\r\n"


def ap(
    ssid: str,
    bssid: str,
    *,
    rssi: int = -45,
    password: str = HOTSPOT_PASSWORD,
    auth: str = "WPA2_PSK",
    ip: str = "192.168.50.100",
    raw: str = "",
) -> str:
    """One ``[[ap]]`` table; ``raw`` adds TOML lines (faults, schedules)."""
    secret = f'password = "{password}"\n' if password else ""
    return (
        f'\n[[ap]]\nssid = "{ssid}"\nbssid = "{bssid}"\nrssi = {rssi}\nauth = "{auth}"\n'
        f'{secret}ip = "{ip}"\ngateway = "{ip.rsplit(".", 1)[0]}.1"\n{raw}\n'
    )


async def run_flow(rig: Rig, *, ack: bool = True) -> tuple[list[bytes], bytes]:
    """Post the applet's hotspot request and wait for the end: the datagrams the applet
    received and what the AT port printed."""
    listener = await listen(rig.module, ack_at(1) if ack else never)
    try:
        assert await rig.post_credentials("", HOTSPOT_PASSWORD, listener.port) == (
            200,
            b'{"state": 0}',
        )
        await rig.flow_done()
        return [data for data, _, _ in listener.got], await rig.at.settle()
    finally:
        listener.close()


SCAN_TIME = 13 * 0.12  # a full scan on the simulated air


def scans(rig: Rig) -> list[bool]:
    """For each scan of the search: whether it was the last one."""
    return [e.data["last"] for e in rig.applet("scan")]


async def test_the_hotspot_matching_the_phone_is_tried_first(make_rig: MakeRig) -> None:
    """A stronger router that would take the same password is left alone: the BSSID that
    shares five bytes with the phone's MAC is tried at the first scan."""
    rig = await make_rig(world(HOTSPOT, ap("Router", "a4:29:b0:00:00:01", rssi=-30)))
    got, urcs = await run_flow(rig)
    assert rig.tries() == [("mac", "f6:11:22:33:44:55")]
    assert scans(rig) == [False]
    assert urcs == SUCCESS_URCS + RESULT_TAKEN
    assert got == [b"ip=192.168.43.120&port=3339"] * 2
    assert rig.server.provisioning.sta_ip == "192.168.43.120"
    info = await rig.stainfo()
    assert (info["state"], info["message"]) == (1, "connect OK")
    out = await rig.at.cmd("AT+CWJAP?")
    assert b'+CWJAP:"Pixel-Hotspot","f6:11:22:33:44:55"' in out


async def test_the_phone_that_joined_last_is_the_one_matched(make_rig: MakeRig) -> None:
    second = "f2:11:22:33:44:66"
    rig = await make_rig(
        world(
            ap("FirstPhone", "f6:11:22:33:44:55", rssi=-40),
            ap("SecondPhone", "f6:11:22:33:44:66", ip="172.20.10.2"),
            phones=(PHONE, second),
        )
    )
    assert rig.module.radio.join_phone(second) is not None
    await rig.at.wait_for(b"+DIST_STA_IP:")
    await run_flow(rig)
    assert rig.applet("search")[0].data["phone"] == second
    assert rig.tries() == [("mac", "f6:11:22:33:44:66")]
    assert rig.server.provisioning.sta_ip == "172.20.10.2"


async def test_virtual_mac_is_tried_on_the_last_scan_by_its_second_byte(make_rig: MakeRig) -> None:
    """No BSSID matches the phone. Only the last scan (≤ 10 s left) tries more: the AP
    with bit 0x02 in its second byte, not the stronger one that has it in the first
    byte (where the flag really is) nor the strongest."""
    rig = await make_rig(
        world(
            ap("Router", "a4:29:b0:00:00:01", rssi=-30),
            ap("FirstByteFlag", "06:11:00:00:00:02", rssi=-40),
            ap("SecondByteFlag", "10:36:00:00:00:03", rssi=-48, ip="10.1.1.5"),
        ),
        timeout=25,
    )
    _, urcs = await run_flow(rig)
    assert rig.tries() == [("virtual", "10:36:00:00:00:03")]
    assert scans(rig) == [False, False, False, False, True]
    search = rig.applet("search")[0]
    deadline = search.t + search.data["budget"]
    *earlier, last = (e.t - SCAN_TIME for e in rig.applet("scan"))  # when each scan began
    assert deadline - last <= 10 < min(deadline - t for t in earlier)
    assert rig.server.provisioning.sta_ip == "10.1.1.5"
    assert urcs == SUCCESS_URCS + RESULT_TAKEN


async def test_strongest_is_tried_on_the_last_scan(make_rig: MakeRig) -> None:
    rig = await make_rig(
        world(
            ap("Weaker", "a4:29:00:00:00:02", rssi=-45),
            ap("Strong", "a4:29:00:00:00:01", rssi=-35, ip="10.2.2.2"),
            ap("FourBytes", "f6:11:22:33:44:56", rssi=-40),  # 4 of 6 bytes: no match
        )
    )
    await run_flow(rig)
    assert rig.tries() == [("strongest", "a4:29:00:00:00:01")]
    assert rig.server.provisioning.sta_ip == "10.2.2.2"


async def test_all_failing_ends_in_connect_fail(make_rig: MakeRig) -> None:
    """Every AP refuses the password. The hotspot shows up in each of the many scans of
    a 50 s budget but is tried once; the last scan has room for one try (virtual MAC)."""
    rig = await make_rig(
        world(
            ap("Pixel-Hotspot", "f6:11:22:33:44:55", password="not-the-one"),
            ap("Virtual", "10:36:00:00:00:03", rssi=-48, password="not-the-one"),
            ap("Router", "a4:29:b0:00:00:01", rssi=-30, password="not-the-one"),
        ),
        timeout=60,
    )
    got, urcs = await run_flow(rig)
    assert rig.tries() == [("mac", "f6:11:22:33:44:55"), ("virtual", "10:36:00:00:00:03")]
    assert len(scans(rig)) > 20
    assert all("f6:11:22:33:44:55" in e.data["candidates"] for e in rig.applet("scan"))
    assert got == []
    assert urcs == FAILED_URCS
    info = await rig.stainfo()
    assert (info["state"], info["message"], info["reason"]) == (2, "connect fail", "not_found")
    times = rig.state_times()
    assert times["CONNECT_FAIL"] - times["CONNECTING"] <= 50 + SCAN_TIME


async def test_a_failed_bssid_is_not_tried_again_even_as_the_strongest(make_rig: MakeRig) -> None:
    rig = await make_rig(
        world(ap("Pixel-Hotspot", "f6:11:22:33:44:55", rssi=-30, password="not-the-one")),
        timeout=40,
    )
    _, urcs = await run_flow(rig)
    assert rig.tries() == [("mac", "f6:11:22:33:44:55")]
    assert scans(rig)[-1] is True
    assert urcs == FAILED_URCS


async def test_a_failed_try_that_associated_then_a_success(make_rig: MakeRig) -> None:
    """The matching hotspot associates but never gives an address (8 s lost); the last
    scan's virtual-MAC AP works. The AT port shows the whole story."""
    rig = await make_rig(
        world(
            ap("Pixel-Hotspot", "f6:11:22:33:44:55", raw="no_ip = true"),
            ap("Virtual", "10:36:00:00:00:03", rssi=-48, ip="10.1.1.5"),
        ),
        timeout=40,
    )
    _, urcs = await run_flow(rig)
    assert urcs == (
        b"+WEBSERVERRSP:1\r\nWIFI CONNECTED\r\nWIFI DISCONNECT\r\n"
        b"WIFI CONNECTED\r\nWIFI GOT IP\r\n+WEBSERVERRSP:2\r\n"
    )
    assert rig.tries() == [("mac", "f6:11:22:33:44:55"), ("virtual", "10:36:00:00:00:03")]
    first_try = rig.applet("try")[0]
    assert rig.applet("try_failed")[0].t - first_try.t == pytest.approx(8.0)


@pytest.mark.parametrize("timeout", [21, 25, 33, 60])
async def test_tries_and_time_stay_within_the_budget(make_rig: MakeRig, timeout: int) -> None:
    """Six APs match the phone in five bytes and all refuse: one try per scan, 8 s each,
    as many as the budget holds, each BSSID once; the search ends within the budget
    (plus the scan that started the last round)."""
    aps = [
        ap(f"Match{i}", f"f2:11:22:33:44:5{i}", rssi=-40 - i, password="not-the-one")
        for i in (0, 1, 2, 3, 4, 6)
    ]
    rig = await make_rig(world(*aps), timeout=timeout)
    await run_flow(rig)
    budget = timeout - 10
    tries = rig.tries()
    assert 1 <= len(tries) <= budget // 8
    assert len({bssid for _, bssid in tries}) == len(tries)
    assert [bssid for _, bssid in tries] == [f"f2:11:22:33:44:5{i}" for i in (0, 1, 2, 3, 4, 6)][
        : len(tries)
    ]  # strongest first
    times = rig.state_times()
    assert times["CONNECT_FAIL"] - times["CONNECTING"] <= budget + SCAN_TIME


async def test_budget_spent_before_the_last_scan(make_rig: MakeRig) -> None:
    """timeout 25: 15 s. The matching hotspot takes the one possible try (8 s) and gives
    no address; fewer than 8 s are then left, so the working router is never tried."""
    rig = await make_rig(
        world(
            ap("Pixel-Hotspot", "f6:11:22:33:44:55", raw="no_ip = true"),
            ap("Router", "a4:29:b0:00:00:01", rssi=-30),
        ),
        timeout=25,
    )
    _, urcs = await run_flow(rig)
    assert rig.tries() == [("mac", "f6:11:22:33:44:55")]
    assert scans(rig) == [False]
    assert urcs == b"+WEBSERVERRSP:1\r\nWIFI CONNECTED\r\n+WEBSERVERRSP:2\r\n"
    assert (await rig.stainfo())["state"] == 2


async def test_a_scan_without_a_usable_ap_ends_the_search(make_rig: MakeRig) -> None:
    """The firmware scans once and gives up when that scan finds no usable AP (here a
    weak router and an open café): the hotspot the phone turns on 6 s later is never
    seen, and the failure shows after one scan, not after the whole budget."""
    late = HOTSPOT.replace("[[ap]]", "[[ap]]\nappear_at = 6.0")
    weak = ap("Weak", "a4:29:b0:00:00:02", rssi=-70)
    cafe = ap("Cafe", "a4:29:b0:00:00:03", password="", auth="OPEN")
    rig = await make_rig(world(late, weak, cafe))
    _, urcs = await run_flow(rig, ack=False)
    assert scans(rig) == [False]
    assert rig.applet("scan")[0].data["candidates"] == []
    assert rig.applet("no_usable_ap") and rig.tries() == []
    assert urcs == FAILED_URCS
    times = rig.state_times()
    assert times["CONNECT_FAIL"] - times["CONNECTING"] == pytest.approx(SCAN_TIME)
    assert (await rig.stainfo())["state"] == 2


async def test_no_ap_at_all_ends_the_search_after_one_scan(make_rig: MakeRig) -> None:
    rig = await make_rig(world())
    _, urcs = await run_flow(rig, ack=False)
    assert scans(rig) == [False] and rig.tries() == []
    assert urcs == FAILED_URCS


async def test_a_hotspot_turned_on_late_is_found_while_other_aps_are_usable(
    make_rig: MakeRig,
) -> None:
    """A usable router that matches no rule keeps the search scanning (it is only tried on
    the last scan), so a hotspot that appears meanwhile is found by a later scan."""
    late = HOTSPOT.replace("[[ap]]", "[[ap]]\nappear_at = 6.0")
    rig = await make_rig(world(late, ROUTER))
    await run_flow(rig)
    assert len(scans(rig)) >= 3
    assert all(e.data["candidates"] == ["a4:29:b0:5e:11:01"] for e in rig.applet("scan")[:-1])
    assert rig.tries() == [("mac", "f6:11:22:33:44:55")]
    assert rig.server.provisioning.sta_ip == "192.168.43.120"


@pytest.mark.parametrize(
    ("auth", "rssi", "raw", "considered"),
    [
        ("OPEN", -40, "", False),
        ("WEP", -40, "", False),
        ("WPA_PSK", -40, "", True),
        ("WPA2_PSK", -50, "", True),
        ("WPA2_PSK", -51, "", False),
        ("WPA_WPA2_PSK", -40, "", True),
        ("WPA2_ENTERPRISE", -40, "", True),
        ("WPA3_PSK", -40, "", False),
        ("WPA2_WPA3_PSK", -40, "", False),
        ("WPA2_PSK", -40, "hidden = true", False),
    ],
)
async def test_filters(make_rig: MakeRig, auth: str, rssi: int, raw: str, considered: bool) -> None:
    """One AP whose BSSID is the phone's MAC itself: tried only when its SSID shows,
    its auth mode is 2..5 and its RSSI is at least −50 dBm."""
    password = {"OPEN": "", "WEP": "abcde", "WPA2_ENTERPRISE": ""}.get(auth, HOTSPOT_PASSWORD)
    table = ap("Phone", PHONE, rssi=rssi, password=password, auth=auth, raw=raw)
    rig = await make_rig(world(table), timeout=40)
    await run_flow(rig)
    assert rig.tries() == ([("mac", PHONE)] if considered else [])
    assert all(bool(e.data["candidates"]) == considered for e in rig.applet("scan"))
    joined = considered and auth != "WPA2_ENTERPRISE"  # EAP is not simulated
    assert (await rig.stainfo())["state"] == (1 if joined else 2)


async def test_events_never_hold_the_password(make_rig: MakeRig) -> None:
    rig = await make_rig(world(HOTSPOT, ROUTER))
    await run_flow(rig)
    assert rig.applet("joined")
    assert not any(HOTSPOT_PASSWORD in repr(event) for event in rig.events)


async def test_a_try_keeps_the_station_reconnecting(make_rig: MakeRig) -> None:
    """The hotspot refuses the first two association attempts; the firmware forces
    reconnection during a try, so the third attempt, within the same 8 s, joins."""
    rig = await make_rig(world(HOTSPOT.replace("[[ap]]", "[[ap]]\nrefuse_first = 2")))
    _, urcs = await run_flow(rig)
    assert rig.tries() == [("mac", "f6:11:22:33:44:55")]
    assert urcs == SUCCESS_URCS + RESULT_TAKEN
    joined, tried = rig.applet("joined")[0], rig.applet("try")[0]
    assert 2 < joined.t - tried.t <= 8
