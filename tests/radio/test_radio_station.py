"""The station side of the simulated radio: scanning, joining, DHCP, link loss, faults."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from esp_at_sim.core.clock import Clock
from esp_at_sim.radio.base import Association, AuthMode, IpInfo, JoinFailure
from esp_at_sim.radio.sim import (
    CHANNELS,
    DHCP_GIVE_UP,
    SCAN_TIME_PER_CHANNEL,
    SEARCH_TIME,
    SimRadio,
)
from esp_at_sim.scenario import ApConfig, Scenario, default_scenario, parse_scenario

MakeRadio = Callable[[str | Scenario], SimRadio]

AIR = """
[[ap]]
ssid = "Lab"
password = "pass1234"
channel = 6
rssi = -40
bssid = "aa:bb:cc:00:00:01"
ip = "192.168.50.23"
gateway = "192.168.50.1"
assoc_delay = 2.0
dhcp_delay = 0.75

[[ap]]
ssid = "Open"
channel = 1
rssi = -70
bssid = "aa:bb:cc:00:00:02"

[[ap]]
ssid = "Secret"
password = "hidden123"
hidden = true
channel = 11
rssi = -60
bssid = "aa:bb:cc:00:00:03"

[[ap]]
ssid = "Lab"
password = "pass1234"
channel = 11
rssi = -65
bssid = "aa:bb:cc:00:00:04"
ip = "192.168.60.5"
"""


async def test_scan_all_channels_in_air_order_without_hidden(
    make_radio: MakeRadio, clock: Clock
) -> None:
    radio = make_radio(AIR)
    found = await radio.scan()
    assert [r.bssid[-2:] for r in found] == ["01", "02", "04"]
    assert clock.now() == pytest.approx(CHANNELS * SCAN_TIME_PER_CHANNEL)
    lab = found[0]
    assert (lab.ssid, lab.channel, lab.rssi, lab.auth) == (b"Lab", 6, -40, AuthMode.WPA2_PSK)


async def test_scan_one_channel_is_quicker(make_radio: MakeRadio, clock: Clock) -> None:
    radio = make_radio(AIR)
    found = await radio.scan(channel=11)
    assert [r.bssid for r in found] == ["aa:bb:cc:00:00:04"]
    assert clock.now() == pytest.approx(SCAN_TIME_PER_CHANNEL)


async def test_scan_filters_by_ssid_and_bssid(make_radio: MakeRadio) -> None:
    radio = make_radio(AIR)
    assert [r.bssid for r in await radio.scan(ssid=b"Lab")] == [
        "aa:bb:cc:00:00:01",
        "aa:bb:cc:00:00:04",
    ]
    assert [r.ssid for r in await radio.scan(bssid="AA:BB:CC:00:00:02")] == [b"Open"]
    assert await radio.scan(ssid=b"Lab", bssid="aa:bb:cc:00:00:02") == []
    assert await radio.scan(ssid=b"Nowhere") == []


async def test_hidden_ap_shows_empty_ssid_unless_named(make_radio: MakeRadio) -> None:
    radio = make_radio(AIR)
    shown = await radio.scan(show_hidden=True)
    hidden = [r for r in shown if r.bssid == "aa:bb:cc:00:00:03"]
    assert len(hidden) == 1 and hidden[0].ssid == b"" and hidden[0].hidden
    named = await radio.scan(ssid=b"Secret")
    assert [(r.ssid, r.hidden) for r in named] == [(b"Secret", True)]
    assert all(r.bssid != "aa:bb:cc:00:00:03" for r in await radio.scan(channel=11))


@pytest.mark.parametrize(
    ("auth", "password", "ciphers"),
    [
        ("OPEN", None, (0, 0)),
        ("WEP", "abcde", (1, 1)),
        ("WEP", "abcdefghijklm", (2, 2)),
        ("WPA_PSK", "12345678", (3, 3)),
        ("WPA2_PSK", "12345678", (4, 4)),
        ("WPA_WPA2_PSK", "12345678", (5, 3)),
        ("WPA2_ENTERPRISE", None, (4, 4)),
        ("WPA3_PSK", "12345678", (4, 4)),
        ("WPA2_WPA3_PSK", "12345678", (4, 4)),
        ("WAPI_PSK", "12345678", (7, 7)),
    ],
)
async def test_scan_reports_ciphers_of_each_auth_mode(
    make_radio: MakeRadio, auth: str, password: str | None, ciphers: tuple[int, int]
) -> None:
    pw = "" if password is None else f'password = "{password}"'
    radio = make_radio(f'[[ap]]\nssid = "X"\nauth = "{auth}"\n{pw}\n')
    (result,) = await radio.scan()
    assert result.auth is AuthMode[auth]
    assert (result.pairwise_cipher, result.group_cipher) == ciphers


async def test_associate_takes_the_association_delay(make_radio: MakeRadio, clock: Clock) -> None:
    radio = make_radio(AIR)
    assoc = await radio.associate(b"Lab", b"pass1234", bssid="aa:bb:cc:00:00:01")
    assert isinstance(assoc, Association)
    assert assoc.ap.bssid == "aa:bb:cc:00:00:01" and assoc.ap.ssid == b"Lab"
    assert clock.now() == pytest.approx(2.0)
    assert radio.link is assoc


async def test_associate_picks_the_strongest_of_one_ssid(make_radio: MakeRadio) -> None:
    radio = make_radio(AIR)
    assoc = await radio.associate(b"Lab", b"pass1234")
    assert isinstance(assoc, Association) and assoc.ap.rssi == -40
    other = await radio.associate(b"Lab", b"pass1234", bssid="aa:bb:cc:00:00:04")
    assert isinstance(other, Association) and other.ap.channel == 11


async def test_hidden_ap_is_joinable_by_ssid(make_radio: MakeRadio) -> None:
    radio = make_radio(AIR)
    assoc = await radio.associate(b"Secret", b"hidden123")
    assert isinstance(assoc, Association) and assoc.ap.ssid == b"Secret"


@pytest.mark.parametrize(
    ("ssid", "password", "bssid"),
    [
        (b"Nowhere", b"pass1234", None),  # no such AP
        (b"Lab", b"pass1234", "aa:bb:cc:00:00:02"),  # BSSID of another AP
        (b"Open", b"something", None),  # open AP, station has a password
    ],
)
async def test_not_found_after_a_full_search(
    make_radio: MakeRadio, clock: Clock, ssid: bytes, password: bytes, bssid: str | None
) -> None:
    radio = make_radio(AIR)
    assert await radio.associate(ssid, password, bssid) is JoinFailure.NOT_FOUND
    assert clock.now() == pytest.approx(SEARCH_TIME)
    assert radio.link is None


@pytest.mark.parametrize("auth", ["WPA2_ENTERPRISE", "WAPI_PSK"])
async def test_security_a_psk_station_cannot_use_is_not_found(
    make_radio: MakeRadio, auth: str
) -> None:
    pw = 'password = "12345678"' if auth == "WAPI_PSK" else ""
    radio = make_radio(f'[[ap]]\nssid = "Corp"\nauth = "{auth}"\n{pw}\n')
    assert await radio.associate(b"Corp", b"12345678") is JoinFailure.NOT_FOUND


async def test_open_ap_joins_without_password(make_radio: MakeRadio) -> None:
    radio = make_radio(AIR)
    assert isinstance(await radio.associate(b"Open", b""), Association)


@pytest.mark.parametrize("password", [b"wrong-pass", b""])
async def test_wrong_password_after_the_association_delay(
    make_radio: MakeRadio, clock: Clock, password: bytes
) -> None:
    radio = make_radio(AIR)
    result = await radio.associate(b"Lab", password, "aa:bb:cc:00:00:01")
    assert result is JoinFailure.WRONG_PASSWORD
    assert clock.now() == pytest.approx(2.0)
    assert radio.link is None


async def test_refuse_first_counts_attempts_per_ap(make_radio: MakeRadio) -> None:
    radio = make_radio(
        '[[ap]]\nssid = "A"\nrefuse_first = 2\n[[ap]]\nssid = "B"\nrefuse_first = 1\n'
    )
    assert await radio.associate(b"A", b"") is JoinFailure.FAILED
    assert isinstance(await radio.associate(b"B", b""), JoinFailure)
    assert await radio.associate(b"A", b"") is JoinFailure.FAILED
    assert isinstance(await radio.associate(b"A", b""), Association)
    assert isinstance(await radio.associate(b"B", b""), Association)


async def test_dhcp_gives_the_aps_lease_after_its_delay(
    make_radio: MakeRadio, clock: Clock
) -> None:
    radio = make_radio(AIR)
    assoc = await radio.associate(b"Lab", b"pass1234")
    assert isinstance(assoc, Association)
    start = clock.now()
    assert await radio.dhcp(assoc) == IpInfo("192.168.50.23", "192.168.50.1", "255.255.255.0")
    assert clock.now() - start == pytest.approx(0.75)


async def test_dhcp_without_the_link_gives_nothing(make_radio: MakeRadio) -> None:
    radio = make_radio(AIR)
    assoc = await radio.associate(b"Open", b"")
    assert isinstance(assoc, Association)
    radio.disconnect()
    assert await radio.dhcp(assoc) is None


async def test_no_ip_loses_against_a_shorter_timeout(make_radio: MakeRadio, clock: Clock) -> None:
    radio = make_radio('[[ap]]\nssid = "Mute"\nno_ip = true\n')
    assoc = await radio.associate(b"Mute", b"")
    assert isinstance(assoc, Association)
    start = clock.now()
    task = asyncio.ensure_future(radio.dhcp(assoc))
    assert await clock.wait_for(task, 25.0) is False
    assert clock.now() - start == pytest.approx(25.0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_no_ip_gives_up_after_a_minute(make_radio: MakeRadio, clock: Clock) -> None:
    radio = make_radio('[[ap]]\nssid = "Mute"\nno_ip = true\n')
    assoc = await radio.associate(b"Mute", b"")
    assert isinstance(assoc, Association)
    start = clock.now()
    assert await radio.dhcp(assoc) is None
    assert clock.now() - start == pytest.approx(DHCP_GIVE_UP)


async def test_stalled_dhcp_answers_at_the_retry_after_revival(
    make_radio: MakeRadio, clock: Clock
) -> None:
    radio = make_radio(AIR)
    radio.stall_dhcp("Open")
    assoc = await radio.associate(b"Open", b"")
    assert isinstance(assoc, Association)
    start = clock.now()
    task = asyncio.ensure_future(radio.dhcp(assoc))
    await clock.sleep(3.0)
    assert not task.done()
    radio.stall_dhcp("Open", on=False)
    assert await task == IpInfo("192.168.51.100", "192.168.51.1", "255.255.255.0")
    assert clock.now() - start == pytest.approx(2.0 + 4.0 + 0.5)  # retries at 2 s and 6 s


async def test_appear_and_vanish_at_their_times(make_radio: MakeRadio, clock: Clock) -> None:
    radio = make_radio('[[ap]]\nssid = "Late"\nappear_at = 10\nvanish_at = 20.5\n')
    assert await radio.scan() == []
    assert await radio.associate(b"Late", b"") is JoinFailure.NOT_FOUND
    await clock.sleep(10 - clock.now())
    assert radio.is_visible("Late")
    assert [r.ssid for r in await radio.scan()] == [b"Late"]
    await clock.sleep(20.5 - clock.now())
    assert not radio.is_visible("Late")
    assert await radio.scan() == []


async def test_vanishing_ap_drops_the_joined_station(make_radio: MakeRadio, clock: Clock) -> None:
    radio = make_radio('[[ap]]\nssid = "Fading"\nvanish_at = 30\n')
    reasons: list[tuple[int, float]] = []
    radio.on_link_lost(lambda reason: reasons.append((reason, clock.now())))
    assert isinstance(await radio.associate(b"Fading", b""), Association)
    await clock.sleep(40)
    assert reasons == [(200, 30.0)]
    assert radio.link is None


async def test_drop_after_counts_from_the_association(make_radio: MakeRadio, clock: Clock) -> None:
    radio = make_radio('[[ap]]\nssid = "Flaky"\ndrop_after = 5\ndrop_reason = 4\n')
    reasons: list[tuple[int, float]] = []
    radio.on_link_lost(lambda reason: reasons.append((reason, clock.now())))
    await clock.sleep(3)
    assert isinstance(await radio.associate(b"Flaky", b""), Association)  # joined at 4.0
    await clock.sleep(20)
    assert [reason for reason, _ in reasons] == [4]
    assert reasons[0][1] == pytest.approx(9.0)


async def test_own_disconnect_reports_nothing_and_stops_drop(
    make_radio: MakeRadio, clock: Clock
) -> None:
    radio = make_radio('[[ap]]\nssid = "Flaky"\ndrop_after = 5\nvanish_at = 8\n')
    reasons: list[int] = []
    radio.on_link_lost(reasons.append)
    assert isinstance(await radio.associate(b"Flaky", b""), Association)
    radio.disconnect()
    await clock.sleep(20)
    assert reasons == []


async def test_vanish_now_drops_the_link_and_hides_the_ap(
    make_radio: MakeRadio, clock: Clock
) -> None:
    radio = make_radio(AIR)
    reasons: list[int] = []
    radio.on_link_lost(reasons.append)
    assert isinstance(await radio.associate(b"Open", b""), Association)
    radio.vanish("aa:bb:cc:00:00:02")
    assert reasons == [200]
    assert all(r.ssid != b"Open" for r in await radio.scan())
    radio.appear(b"Open")
    assert [r.ssid for r in await radio.scan(ssid=b"Open")] == [b"Open"]


async def test_latest_event_decides_visibility(make_radio: MakeRadio, clock: Clock) -> None:
    radio = make_radio('[[ap]]\nssid = "S"\nvanish_at = 5\n[[ap]]\nssid = "T"\nvanish_at = 50\n')
    await clock.sleep(10)
    radio.appear("S")  # after its scheduled vanish: back on the air
    radio.appear("T")  # before its scheduled vanish: the schedule still applies later
    assert radio.is_visible("S") and radio.is_visible("T")
    await clock.sleep(50)
    assert radio.is_visible("S") and not radio.is_visible("T")


async def test_set_password_changes_the_next_joins(make_radio: MakeRadio) -> None:
    radio = make_radio(AIR)
    radio.set_password("aa:bb:cc:00:00:01", "newpass99")
    lab = "aa:bb:cc:00:00:01"
    assert await radio.associate(b"Lab", b"pass1234", lab) is JoinFailure.WRONG_PASSWORD
    assert isinstance(await radio.associate(b"Lab", b"newpass99", lab), Association)
    auths = []
    radio.set_password("Open", "now-secured")
    auths.append(radio.access_points[1].auth)
    radio.set_password("Open", None)
    auths.append(radio.access_points[1].auth)
    radio.set_password("Open", "wpa3-only!", AuthMode.WPA3_PSK)
    auths.append(radio.access_points[1].auth)
    assert auths == [AuthMode.WPA2_PSK, AuthMode.OPEN, AuthMode.WPA3_PSK]
    assert isinstance(await radio.associate(b"Open", b"wpa3-only!"), Association)
    with pytest.raises(ValueError, match="password"):
        radio.set_password("Open", "short")


async def test_refuse_next_at_run_time(make_radio: MakeRadio) -> None:
    radio = make_radio(AIR)
    radio.refuse_next("Open", 1)
    assert await radio.associate(b"Open", b"") is JoinFailure.FAILED
    assert isinstance(await radio.associate(b"Open", b""), Association)
    with pytest.raises(ValueError):
        radio.refuse_next("Open", -1)


async def test_drop_link_reports_its_reason(make_radio: MakeRadio) -> None:
    radio = make_radio(AIR)
    reasons: list[int] = []
    radio.on_link_lost(reasons.append)
    assert radio.drop_link() is False
    assert isinstance(await radio.associate(b"Open", b""), Association)
    assert radio.drop_link() is True
    assert isinstance(await radio.associate(b"Open", b""), Association)
    assert radio.drop_link(reason=15) is True
    assert reasons == [8, 15]
    assert radio.link is None


async def test_add_and_remove_aps(make_radio: MakeRadio) -> None:
    radio = make_radio(AIR)
    reasons: list[int] = []
    radio.on_link_lost(reasons.append)
    radio.add_ap(ApConfig.create("New", "newnet123", channel=9, index=4))
    assert (await radio.scan())[-1].ssid == b"New"
    with pytest.raises(ValueError, match="already on the air"):
        radio.add_ap(ApConfig.create("Dup", bssid="aa:bb:cc:00:00:01"))
    assert isinstance(await radio.associate(b"New", b"newnet123"), Association)
    radio.remove_ap("New")
    assert reasons == [200]
    assert all(r.ssid != b"New" for r in await radio.scan())
    with pytest.raises(KeyError):
        radio.remove_ap("New")
    with pytest.raises(KeyError):
        radio.vanish("00:00:00:00:00:00")


async def test_close_stops_scheduled_link_loss(make_radio: MakeRadio, clock: Clock) -> None:
    radio = make_radio('[[ap]]\nssid = "Flaky"\ndrop_after = 5\n')
    reasons: list[int] = []
    radio.on_link_lost(reasons.append)
    assert isinstance(await radio.associate(b"Flaky", b""), Association)
    await radio.close()
    await clock.sleep(10)
    assert reasons == []


async def test_default_scenario_on_the_air(make_radio: MakeRadio) -> None:
    radio = make_radio(default_scenario())
    ssids = {r.ssid for r in await radio.scan(show_hidden=True)}
    assert {b"HomeNet", b"", b"Cafe-Free-WiFi"} <= ssids
    assoc = await radio.associate(b"HomeNet", b"sunflower42")
    assert isinstance(assoc, Association)
    assert await radio.dhcp(assoc) == IpInfo("192.168.1.23", "192.168.1.1", "255.255.255.0")


async def test_works_on_a_scaled_real_time_clock() -> None:
    clock = Clock(scale=0.005)  # 1 simulated second = 5 ms; margins stay wide under load
    radio = SimRadio(
        parse_scenario('[[ap]]\nssid = "Fast"\nvanish_at = 30\ndhcp_delay = 0.2\n', "t.toml"),
        clock,
    )
    reasons: list[int] = []
    radio.on_link_lost(reasons.append)
    try:
        assoc = await radio.associate(b"Fast", b"")
        assert isinstance(assoc, Association)
        assert (await radio.dhcp(assoc)) is not None
        assert 1.2 <= clock.now() < 30
        await clock.sleep(31 - clock.now())
        assert reasons == [200]
    finally:
        await radio.close()
