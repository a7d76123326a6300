"""Typed results against the simulated module's real output, and every AT+CWJAP failure."""

from __future__ import annotations

import pytest

from esp_at_sim.client import (
    AccessPoint,
    AtClient,
    AtCommandError,
    JoinError,
    JoinReason,
    StationState,
    WifiMode,
)
from esp_at_sim.device.module import Module
from esp_at_sim.web import WebConfig, install_web

from .conftest import WAIT, MakeRig, Rig, scenario

FAULTS = scenario(
    """
[[ap]]
ssid = "Refuser"
password = "refuse-me1"
refuse_first = 9

[[ap]]
ssid = "NoDhcp"
password = "no-dhcp-12"
no_ip = true
"""
)


async def test_gmr(rig: Rig) -> None:
    version = await rig.client.gmr()
    assert (version.at_version, version.sdk_version) == ("4.1.1.0", "v5.4.1")
    assert version.compile_time == "Nov 24 2026 08:00:00"
    assert (version.bin_version, version.module_name) == ("v4.1.1.0", "WROOM-32")
    assert len(version.lines) == 4


async def test_modes_and_station(client: AtClient) -> None:
    assert await client.cwmode() is WifiMode.STATION
    await client.set_cwmode(WifiMode.STATION_SOFTAP)
    assert await client.cwmode() is WifiMode.STATION_SOFTAP
    assert await client.cwjap() is None  # No AP
    status = await client.cwstate()
    assert (status.state, status.ssid) == (StationState.IDLE, b"")
    await client.set_cwjap("HomeNet", "sunflower42")
    conn = await client.cwjap()
    assert conn is not None
    assert (conn.ssid, conn.bssid, conn.channel, conn.rssi) == (
        b"HomeNet",
        "a4:2b:b0:5e:11:01",
        6,
        -42,
    )
    assert (conn.pci_en, conn.reconn_interval, conn.listen_interval, conn.pmf) == (0, 1, 3, 1)
    status = await client.cwstate()
    assert (status.state, status.ssid) == (StationState.GOT_IP, b"HomeNet")
    sta = await client.cipsta()
    assert (sta.ip, sta.gateway, sta.netmask) == ("192.168.1.23", "192.168.1.1", "255.255.255.0")
    ap = await client.cipap()
    assert (ap.ip, ap.gateway, ap.netmask, ap.ip6ll) == (
        "192.168.4.1",
        "192.168.4.1",
        "255.255.255.0",
        None,
    )
    addresses = await client.cifsr()
    assert (addresses.ap_ip, addresses.ap_mac) == ("192.168.4.1", "24:0a:c4:00:00:02")
    assert (addresses.sta_ip, addresses.sta_mac) == ("192.168.1.23", "24:0a:c4:00:00:01")
    assert addresses.get("ETHIP") is None


async def test_cwlap(client: AtClient) -> None:
    aps = await client.cwlap()
    assert aps[0] == AccessPoint(3, b"HomeNet", -42, "a4:2b:b0:5e:11:01", 6, -1, -1, 4, 4, 7, 0)
    assert [ap.ssid_text for ap in aps] == [
        "HomeNet",
        "Pixel-Hotspot",
        "",  # LabHidden does not broadcast its SSID
        "Neighbour-WPA3",
        "Cafe-Free-WiFi",
    ]
    only = await client.set_cwlap("Cafe-Free-WiFi")
    assert [(ap.ssid, ap.ecn, ap.channel) for ap in only] == [(b"Cafe-Free-WiFi", 0, 1)]


async def test_softap(client: AtClient) -> None:
    await client.set_cwmode(2)
    default = await client.cwsap()
    assert (default.ssid, default.password, default.channel, default.ecn) == (
        b"ESP_000002",
        b"",
        1,
        0,
    )
    await client.set_cwsap('Garden, "2"', "pass,word\\", 11, 3, 2, True)
    cfg = await client.cwsap()
    assert (cfg.ssid, cfg.password) == (b'Garden, "2"', b"pass,word\\")
    assert (cfg.channel, cfg.ecn, cfg.max_conn, cfg.hidden) == (11, 3, 2, True)
    assert await client.cwlif() == []


async def test_cwlif_lists_the_phone(rig: Rig) -> None:
    await rig.client.set_cwmode(2)
    rig.module.radio.join_phone()
    await rig.client.wait_urc("+DIST_STA_IP:", WAIT)
    stations = await rig.client.cwlif()
    assert [(s.ip, s.mac) for s in stations] == [("192.168.4.2", "f2:11:22:33:44:55")]


async def test_system_queries(client: AtClient) -> None:
    heap = await client.sysram()
    assert 0 < heap.minimum <= heap.free
    uart = await client.uart_cur()
    assert (uart.databits, uart.stopbits, uart.parity, uart.flow_control) == (8, 1, 0, 0)
    assert abs(uart.baudrate - 115200) < 115200 * 0.01
    assert await client.cipmux() is False
    await client.set_cipmux(True)
    assert await client.cipmux() is True
    assert await client.query("AT+CIPMUX?") == [b"1"]
    assert await client.query("+SYSSTORE") == [b"1"]


async def test_restore_resets_settings(client: AtClient) -> None:
    await client.set_cwmode(3)
    await client.restore()
    assert await client.cwmode() is WifiMode.STATION


async def test_flash_queries(make_rig: MakeRig) -> None:
    client = (await make_rig("inproc", with_flash=True)).client
    parts = await client.sysflash()
    assert [(p.name, p.address, p.size) for p in parts] == [
        ("mfg_nvs", 0x21000, 0x1C000),
        ("fs_storage", 0x70000, 0x90000),
    ]
    rollback = await client.sysrollback()
    assert (rollback.running_address, rollback.running_version) == (0x100000, "v4.1.1.0")
    assert (rollback.rollback_address, rollback.rollback_version) == (0x280000, "")


async def test_flash_queries_fail_without_flash(client: AtClient) -> None:
    with pytest.raises(AtCommandError):
        await client.sysflash()


async def test_webserver(make_rig: MakeRig) -> None:
    announced: list[str] = []

    def setup(module: Module) -> None:
        install_web(module, WebConfig(port_map={80: 0, 53: 0}, announce=announced.append))

    client = (await make_rig("inproc", setup=setup)).client
    await client.set_cwmode(3)
    assert (await client.set_webserver(True, 80, 25)).final == "OK"
    assert any("http://" in line for line in announced)
    assert (await client.set_webserver(False)).final == "OK"
    with pytest.raises(AtCommandError):
        await client.set_webserver(True, 80, 5)  # connection_timeout must be 21..60


@pytest.mark.parametrize(
    ("ssid", "password", "reason", "before"),
    [
        ("HomeNet", "wrong-password", JoinReason.WRONG_PASSWORD, ()),
        ("NotThere", "whatever12", JoinReason.NOT_FOUND, ()),
        ("Refuser", "refuse-me1", JoinReason.FAILED, ()),
        ("NoDhcp", "no-dhcp-12", JoinReason.TIMEOUT, (b"WIFI CONNECTED",)),
    ],
)
async def test_join_errors(
    make_rig: MakeRig, ssid: str, password: str, reason: JoinReason, before: tuple[bytes, ...]
) -> None:
    client = (await make_rig("inproc", FAULTS)).client
    with pytest.raises(JoinError) as info:
        await client.set_cwjap(ssid, password, jap_timeout=5)
    error = info.value
    assert error.reason is reason
    assert error.lines == (*before, f"+CWJAP:{int(reason)}".encode())
    assert isinstance(error, AtCommandError)
    # The generic send raises the same error.
    with pytest.raises(JoinError):
        await client.send("AT+CWJAP", ssid, password, None, None, None, None, None, 5)


async def test_cwjap_bad_parameters_are_not_join_errors(client: AtClient) -> None:
    with pytest.raises(AtCommandError) as info:
        await client.set_cwjap("HomeNet", None)
    assert not isinstance(info.value, JoinError)
