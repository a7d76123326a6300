"""The SoftAP side of the simulated radio: phones joining and leaving, the DHCP pool."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from esp_at_sim.core.clock import Clock
from esp_at_sim.radio.addresses import DhcpPool
from esp_at_sim.radio.base import AuthMode, SoftApStation
from esp_at_sim.radio.sim import SimRadio
from esp_at_sim.radio.sim_softap import PHONE_DHCP_DELAY
from esp_at_sim.scenario import Scenario

MakeRadio = Callable[[str | Scenario], SimRadio]
Event = tuple[str, str, str | None, float]

PHONES = """
[[phone]]
mac = "F2:11:22:33:44:55"

[[phone]]
mac = "f2:11:22:33:44:66"
"""


def start(radio: SimRadio, *, max_conn: int = 4, ip: str = "192.168.4.1") -> None:
    radio.softap_start(b"pos_softap", b"espressif", 1, AuthMode.WPA2_PSK, max_conn, False, ip)


def record(radio: SimRadio, clock: Clock) -> list[Event]:
    events: list[Event] = []

    def on_event(kind: str, station: SoftApStation) -> None:
        events.append((kind, station.mac, station.ip, clock.now()))

    radio.on_station_event(on_event)
    return events


async def test_nobody_joins_a_softap_that_is_down(make_radio: MakeRadio) -> None:
    radio = make_radio(PHONES)
    assert radio.join_phone() is None
    assert radio.softap_stations() == []


async def test_phones_join_in_order_and_get_addresses(make_radio: MakeRadio, clock: Clock) -> None:
    radio = make_radio(PHONES)
    events = record(radio, clock)
    start(radio)
    first = radio.join_phone()
    second = radio.join_phone()
    assert first == SoftApStation("f2:11:22:33:44:55")
    assert second == SoftApStation("f2:11:22:33:44:66")
    await clock.sleep(1)
    t = PHONE_DHCP_DELAY
    assert events == [
        ("connected", "f2:11:22:33:44:55", None, 0.0),
        ("connected", "f2:11:22:33:44:66", None, 0.0),
        ("ip", "f2:11:22:33:44:55", "192.168.4.2", t),
        ("ip", "f2:11:22:33:44:66", "192.168.4.3", t),
    ]
    assert radio.softap_stations() == [
        SoftApStation("f2:11:22:33:44:55", "192.168.4.2"),
        SoftApStation("f2:11:22:33:44:66", "192.168.4.3"),
    ]


async def test_phones_beyond_the_scenario_get_generated_macs(make_radio: MakeRadio) -> None:
    radio = make_radio("")
    start(radio)
    a, b = radio.join_phone(), radio.join_phone()
    assert a is not None and b is not None and a.mac != b.mac
    for station in (a, b):
        first = int(station.mac[:2], 16)
        assert first & 0x02 and not first & 0x01  # locally administered, unicast


async def test_leaving_reports_and_frees_the_station(make_radio: MakeRadio, clock: Clock) -> None:
    radio = make_radio(PHONES)
    events = record(radio, clock)
    start(radio)
    radio.join_phone("f2:11:22:33:44:55")
    await clock.sleep(1)
    assert radio.leave_phone("F2:11:22:33:44:55") is True
    assert radio.leave_phone("f2:11:22:33:44:55") is False
    assert events[-1] == ("disconnected", "f2:11:22:33:44:55", "192.168.4.2", 1.0)
    assert radio.softap_stations() == []


async def test_leaving_before_dhcp_gives_no_address(make_radio: MakeRadio, clock: Clock) -> None:
    radio = make_radio(PHONES)
    events = record(radio, clock)
    start(radio)
    radio.join_phone()
    radio.leave_phone("f2:11:22:33:44:55")
    await clock.sleep(1)
    assert [e[0] for e in events] == ["connected", "disconnected"]


async def test_a_returning_phone_gets_its_lease_back(make_radio: MakeRadio, clock: Clock) -> None:
    radio = make_radio(PHONES)
    start(radio)
    radio.set_dhcp_pool("192.168.4.10", "192.168.4.11", 1)
    radio.join_phone("f2:11:22:33:44:55")
    await clock.sleep(1)
    radio.leave_phone("f2:11:22:33:44:55")
    radio.join_phone("f2:11:22:33:44:66")
    radio.join_phone("f2:11:22:33:44:55")
    await clock.sleep(1)
    assert {s.mac: s.ip for s in radio.softap_stations()} == {
        "f2:11:22:33:44:66": "192.168.4.11",
        "f2:11:22:33:44:55": "192.168.4.10",
    }


async def test_expired_leases_are_handed_out_again(make_radio: MakeRadio, clock: Clock) -> None:
    radio = make_radio(PHONES)
    start(radio)
    radio.set_dhcp_pool("192.168.4.10", "192.168.4.10", 1)
    radio.join_phone("f2:11:22:33:44:55")
    await clock.sleep(1)
    radio.leave_phone("f2:11:22:33:44:55")
    radio.join_phone("f2:11:22:33:44:66")
    await clock.sleep(1)
    assert radio.softap_stations() == [SoftApStation("f2:11:22:33:44:66")]  # pool exhausted
    radio.leave_phone("f2:11:22:33:44:66")
    await clock.sleep(61)
    radio.join_phone("f2:11:22:33:44:66")
    await clock.sleep(1)
    assert radio.softap_stations() == [SoftApStation("f2:11:22:33:44:66", "192.168.4.10")]


async def test_max_conn_limits_the_stations(make_radio: MakeRadio) -> None:
    radio = make_radio(PHONES)
    start(radio, max_conn=2)
    assert radio.join_phone() is not None
    assert radio.join_phone() is not None
    assert radio.join_phone() is None
    assert len(radio.softap_stations()) == 2
    assert radio.join_phone("f2:11:22:33:44:55") == SoftApStation("f2:11:22:33:44:55")


async def test_scheduled_phones_join_and_leave(make_radio: MakeRadio, clock: Clock) -> None:
    radio = make_radio(
        '[[phone]]\nmac = "f2:00:00:00:00:01"\njoin_at = 2\nleave_at = 7\n'
        '[[phone]]\nmac = "f2:00:00:00:00:02"\njoin_at = 4.5\n'
    )
    events = record(radio, clock)
    await clock.sleep(10)
    start(radio)  # schedules count from here
    await clock.sleep(20)
    assert events == [
        ("connected", "f2:00:00:00:00:01", None, 12.0),
        ("ip", "f2:00:00:00:00:01", "192.168.4.2", pytest.approx(12.0 + PHONE_DHCP_DELAY)),
        ("connected", "f2:00:00:00:00:02", None, 14.5),
        ("ip", "f2:00:00:00:00:02", "192.168.4.3", pytest.approx(14.5 + PHONE_DHCP_DELAY)),
        ("disconnected", "f2:00:00:00:00:01", "192.168.4.2", 17.0),
    ]


async def test_stop_drops_everyone_and_the_schedule(make_radio: MakeRadio, clock: Clock) -> None:
    radio = make_radio(PHONES + "join_at = 5\n")
    events = record(radio, clock)
    start(radio)
    radio.join_phone()
    radio.join_phone("f2:00:00:00:00:09")
    radio.softap_stop()
    await clock.sleep(10)
    assert [(e[0], e[1]) for e in events] == [
        ("connected", "f2:11:22:33:44:55"),
        ("connected", "f2:00:00:00:00:09"),
        ("disconnected", "f2:11:22:33:44:55"),
        ("disconnected", "f2:00:00:00:00:09"),
    ]
    assert radio.softap_config is None


async def test_restart_with_new_config_drops_everyone(make_radio: MakeRadio, clock: Clock) -> None:
    radio = make_radio(PHONES)
    events = record(radio, clock)
    start(radio)
    radio.join_phone()
    start(radio)  # same configuration: nothing happens
    assert [e[0] for e in events] == ["connected"]
    start(radio, max_conn=3)
    assert [e[0] for e in events] == ["connected", "disconnected"]
    assert radio.softap_config is not None and radio.softap_config.max_conn == 3


async def test_default_pool_follows_the_softap_address(make_radio: MakeRadio) -> None:
    assert DhcpPool.default_for("192.168.4.1") == DhcpPool("192.168.4.2", "192.168.4.101", 120)
    assert DhcpPool.default_for("10.0.0.200") == DhcpPool("10.0.0.100", "10.0.0.199", 120)
    radio = make_radio("")
    start(radio, ip="192.168.7.1")
    assert radio.dhcp_pool() == DhcpPool("192.168.7.2", "192.168.7.101", 120)


async def test_custom_pool_and_reset(make_radio: MakeRadio, clock: Clock) -> None:
    radio = make_radio(PHONES)
    start(radio)
    radio.set_dhcp_pool("192.168.4.50", "192.168.4.60", 30)
    assert radio.dhcp_pool() == DhcpPool("192.168.4.50", "192.168.4.60", 30)
    radio.join_phone()
    await clock.sleep(1)
    assert radio.softap_stations()[0].ip == "192.168.4.50"
    radio.reset_dhcp_pool()
    assert radio.dhcp_pool() == DhcpPool.default_for("192.168.4.1")
    radio.join_phone()
    await clock.sleep(1)
    assert radio.softap_stations()[1].ip == "192.168.4.2"


@pytest.mark.parametrize(
    ("start_ip", "end_ip", "lease"),
    [
        ("192.168.4.10", "192.168.4.20", 0),  # lease too short
        ("192.168.4.10", "192.168.4.20", 2881),  # lease too long
        ("192.168.4.20", "192.168.4.10", 10),  # backwards
        ("192.168.5.10", "192.168.5.20", 10),  # another subnet
        ("192.168.4.1", "192.168.4.20", 10),  # holds the SoftAP's own address
        ("192.168.4.2", "192.168.4.102", 10),  # 101 addresses
        ("192.168.4.x", "192.168.4.20", 10),  # not an address
    ],
)
async def test_pools_esp_idf_refuses(
    make_radio: MakeRadio, start_ip: str, end_ip: str, lease: int
) -> None:
    radio = make_radio("")
    start(radio)
    with pytest.raises(ValueError):
        radio.set_dhcp_pool(start_ip, end_ip, lease)
    assert radio.dhcp_pool() == DhcpPool.default_for("192.168.4.1")


async def test_dhcp_server_off_gives_no_address(make_radio: MakeRadio, clock: Clock) -> None:
    radio = make_radio(PHONES)
    events = record(radio, clock)
    start(radio)
    radio.set_softap_dhcp(False)
    radio.join_phone()
    await clock.sleep(5)
    assert [e[0] for e in events] == ["connected"]


async def test_bad_phone_mac_is_refused(make_radio: MakeRadio) -> None:
    radio = make_radio("")
    start(radio)
    with pytest.raises(ValueError, match="mac"):
        radio.join_phone("01:00:5e:00:00:01")
    assert radio.softap_stations() == []
