"""The SoftAP interface: its configuration, its address, its DHCP server and the stations
(phones) that join it.

The radio reports stations joining, getting an address from the DHCP server and leaving;
each report becomes the URC ESP-AT prints: ``+STA_CONNECTED:"<mac>"``,
``+DIST_STA_IP:"<mac>","<ip>"`` and ``+STA_DISCONNECTED:"<mac>"``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..radio.addresses import SOFTAP_ADDRESS, DhcpPool
from ..radio.base import AuthMode, DhcpServerControl, IpInfo, SoftApStation

if TYPE_CHECKING:
    from .module import Module

DEFAULT_MAX_CONN = 4  # ESP-IDF's default for a SoftAP
MAX_CONN = 10  # the most stations an ESP32 SoftAP takes
# AT+CWSAP's <ecn> values (WEP is refused) and the auth mode each one means.
ECN_AUTH = {
    0: AuthMode.OPEN,
    2: AuthMode.WPA_PSK,
    3: AuthMode.WPA2_PSK,
    4: AuthMode.WPA_WPA2_PSK,
}


@dataclass(frozen=True, slots=True)
class ApSettings:
    """What AT+CWSAP sets."""

    ssid: bytes
    password: bytes = b""
    channel: int = 1
    ecn: int = 0
    max_conn: int = DEFAULT_MAX_CONN
    hidden: bool = False


class ApInterface:
    """The SoftAP interface of one module."""

    __slots__ = ("address", "custom_pool", "dhcp_server", "module", "running", "settings")

    def __init__(self, module: Module, default_ssid: bytes) -> None:
        self.module = module
        self.settings = ApSettings(default_ssid)
        self.address = SOFTAP_ADDRESS
        self.dhcp_server = True
        self.custom_pool: DhcpPool | None = None
        self.running = False

    @property
    def pool(self) -> DhcpPool:
        """The range in use: the one AT+CWDHCPS set, else the default for the address."""
        return self.custom_pool or DhcpPool.default_for(self.address.ip)

    def start(self) -> None:
        """Bring the SoftAP up, or apply a changed configuration to it."""
        cfg = self.settings
        radio = self.module.radio
        radio.softap_start(
            cfg.ssid,
            cfg.password,
            cfg.channel,
            ECN_AUTH[cfg.ecn],
            cfg.max_conn,
            cfg.hidden,
            self.address.ip,
        )
        self.running = True
        self.module.emit(
            "wifi.softap_up", ssid=cfg.ssid.decode("utf-8", "replace"), ip=self.address.ip
        )
        self._sync_dhcp()

    def stop(self) -> None:
        if self.running:
            self.running = False
            self.module.radio.softap_stop()
            self.module.emit("wifi.softap_down")

    def refresh(self) -> None:
        """Re-apply the configuration when the SoftAP is up."""
        if self.running:
            self.start()

    def set_address(self, address: IpInfo) -> None:
        """A new SoftAP address (AT+CIPAP); a custom range outside it is dropped."""
        self.address = address
        pool = self.custom_pool
        if pool is not None and not pool.fits(address.ip):
            self.custom_pool = None
        self.refresh()

    def set_pool(self, pool: DhcpPool | None) -> None:
        self.custom_pool = pool
        self._sync_dhcp()

    def set_dhcp_server(self, enabled: bool) -> None:
        self.dhcp_server = enabled
        self._sync_dhcp()

    def stations(self) -> list[SoftApStation]:
        return self.module.radio.softap_stations() if self.running else []

    def station_event(self, kind: str, station: SoftApStation) -> None:
        """Radio callback: a station joined, got an address or left."""
        self.module.emit("wifi.softap_station", event=kind, mac=station.mac, ip=station.ip)
        if kind == "connected":
            self.module.urc(f'+STA_CONNECTED:"{station.mac}"')
        elif kind == "ip" and station.ip is not None:
            self.module.urc(f'+DIST_STA_IP:"{station.mac}","{station.ip}"')
        elif kind == "disconnected":
            self.module.urc(f'+STA_DISCONNECTED:"{station.mac}"')

    def _sync_dhcp(self) -> None:
        radio = self.module.radio
        if not self.running or not isinstance(radio, DhcpServerControl):
            return
        radio.set_softap_dhcp(self.dhcp_server)
        pool = self.custom_pool
        if pool is None or not pool.fits(self.address.ip):
            radio.reset_dhcp_pool()
        else:
            radio.set_dhcp_pool(pool.start, pool.end, pool.lease_minutes)
