"""The address rules shared by the AT commands and the simulated DHCP server."""

from __future__ import annotations

import ipaddress

import pytest

from esp_at_sim.radio.addresses import (
    DhcpPool,
    default_gateway,
    is_multicast,
    parse_ipv4,
    parse_mac,
    settable_mac,
)


@pytest.mark.parametrize(
    ("text", "mac"),
    [
        (b"1A:FE:35:98:D3:7B", "1a:fe:35:98:d3:7b"),
        ("1a:fe:35:98:d3:7b", "1a:fe:35:98:d3:7b"),
        (b"1a-fe-35-98-d3-7b", None),
        (b"1afe3598d37b", None),
        (b"1a:fe:35:98:d3", None),
        (b"1a:fe:35:98:d3:7b:00", None),
        (b"1a:fe:35:98:d3:7g", None),
        (b"\xe9a:fe:35:98:d3:7b", None),
        ("1a:fe:35:98:d3:7b\n", None),
    ],
)
def test_parse_mac_takes_the_long_form_only(text: bytes | str, mac: str | None) -> None:
    assert parse_mac(text) == mac


def test_which_macs_an_interface_may_take() -> None:
    assert settable_mac("24:0a:c4:00:00:01")
    assert not settable_mac("00:00:00:00:00:00")
    assert not settable_mac("ff:ff:ff:ff:ff:ff")
    assert is_multicast("01:00:5e:00:00:01") and not settable_mac("01:00:5e:00:00:01")


@pytest.mark.parametrize(
    ("text", "ip"),
    [
        (b"192.168.4.1", "192.168.4.1"),
        (b"192.168.004.001", "192.168.4.1"),
        (b"0.0.0.0", "0.0.0.0"),
        (b"256.1.1.1", None),
        (b"1.2.3", None),
        (b"1.2.3.4.5", None),
        (b"1.2.3.0004", None),
        (b" 1.2.3.4", None),
    ],
)
def test_parse_ipv4_takes_plain_dotted_quads(text: bytes, ip: str | None) -> None:
    assert parse_ipv4(text) == ip


def test_default_gateway_is_dot_one_of_the_slash_24() -> None:
    assert default_gateway("192.168.7.42") == "192.168.7.1"
    assert default_gateway("10.0.0.1") == "10.0.0.1"


@pytest.mark.parametrize(
    ("softap", "start", "end"),
    [
        ("192.168.4.1", "192.168.4.2", "192.168.4.101"),
        ("192.168.4.127", "192.168.4.128", "192.168.4.227"),
        ("192.168.4.128", "192.168.4.28", "192.168.4.127"),
        ("10.0.0.200", "10.0.0.100", "10.0.0.199"),
    ],
)
def test_the_default_range_follows_the_softap_address(softap: str, start: str, end: str) -> None:
    pool = DhcpPool.default_for(softap)
    assert pool == DhcpPool(start, end, 120)
    assert pool.fits(softap)
    assert len(pool.addresses()) == 100


@pytest.mark.parametrize(
    ("start", "end", "fits"),
    [
        ("192.168.4.2", "192.168.4.101", True),
        ("192.168.4.200", "192.168.4.200", True),
        ("192.168.4.2", "192.168.4.102", False),  # 101 addresses
        ("192.168.4.50", "192.168.4.40", False),  # start after end
        ("192.168.4.0", "192.168.4.10", False),  # holds the SoftAP's own .1
        ("192.168.5.2", "192.168.5.10", False),  # another /24
        ("192.168.4.250", "192.168.5.3", False),  # across the /24
    ],
)
def test_a_range_fits_next_to_the_softap_address(start: str, end: str, fits: bool) -> None:
    assert DhcpPool(start, end).fits("192.168.4.1") is fits


def test_a_range_knows_its_addresses() -> None:
    pool = DhcpPool("192.168.4.10", "192.168.4.12", 30)
    assert "192.168.4.11" in pool and "192.168.4.13" not in pool
    assert ipaddress.IPv4Address("192.168.4.10") in pool
    assert [str(a) for a in pool.addresses()] == ["192.168.4.10", "192.168.4.11", "192.168.4.12"]
    assert pool.as_text() == "30,192.168.4.10,192.168.4.12"
