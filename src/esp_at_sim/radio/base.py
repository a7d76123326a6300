"""The radio interface: what the module's Wi-Fi driver asks of the air around it.

The device layer talks only to :class:`Radio`; :mod:`esp_at_sim.radio.sim` implements it
from a scenario file, and a real backend could implement it too. All waiting happens on
the module's :class:`~esp_at_sim.device.clock.Clock`, so the time scale applies.
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass


class AuthMode(enum.IntEnum):
    """ESP-IDF's ``wifi_auth_mode_t`` numbering, as AT+CWLAP and the web API print it."""

    OPEN = 0
    WEP = 1
    WPA_PSK = 2
    WPA2_PSK = 3
    WPA_WPA2_PSK = 4
    WPA2_ENTERPRISE = 5
    WPA3_PSK = 6
    WPA2_WPA3_PSK = 7
    WAPI_PSK = 8


class JoinFailure(enum.IntEnum):
    """Why a join failed: the numbers are AT+CWJAP's ``+CWJAP:<code>``."""

    TIMEOUT = 1
    WRONG_PASSWORD = 2
    NOT_FOUND = 3
    FAILED = 4


@dataclass(frozen=True)
class ScanResult:
    """One access point as a scan sees it."""

    ssid: bytes
    bssid: str  # "aa:bb:cc:dd:ee:ff", lower case
    channel: int
    rssi: int
    auth: AuthMode
    hidden: bool = False
    pairwise_cipher: int = 4  # ESP-IDF wifi_cipher_type_t: 4 = CCMP
    group_cipher: int = 4
    bgn: int = 7  # bit 0 11b, bit 1 11g, bit 2 11n
    wps: int = 0
    # CWLAP's freq_offset and freqcal_val are always 0 on the simulated air


@dataclass(frozen=True)
class IpInfo:
    """An IPv4 lease: address, gateway and netmask as dotted quads."""

    ip: str
    gateway: str
    netmask: str


@dataclass(frozen=True)
class Association:
    """A successful association with an access point (before DHCP)."""

    ap: ScanResult


@dataclass(frozen=True)
class SoftApStation:
    """A station (a phone) associated to the module's SoftAP."""

    mac: str
    ip: str | None = None


LinkLostCallback = Callable[[int], None]  # argument: ESP-IDF disconnect reason code
StationCallback = Callable[[str, SoftApStation], None]  # kind: "connected"|"ip"|"disconnected"


class Radio(ABC):
    """The air around one module: access points to scan and join, phones on the SoftAP."""

    @abstractmethod
    async def scan(
        self,
        ssid: bytes | None = None,
        bssid: str | None = None,
        channel: int | None = None,
        show_hidden: bool = False,
    ) -> list[ScanResult]:
        """Scan (takes the scan time) and return what is visible now, in the air's order.
        Hidden APs are returned with an empty SSID unless ``ssid`` names them."""

    @abstractmethod
    async def associate(
        self, ssid: bytes, password: bytes, bssid: str | None = None
    ) -> Association | JoinFailure:
        """Try once to associate (takes the association delay); never raises for a refusal."""

    @abstractmethod
    async def dhcp(self, assoc: Association) -> IpInfo | None:
        """Obtain a lease from the associated AP's DHCP server (takes the DHCP delay);
        ``None`` when the server never answers within the radio's own DHCP timeout."""

    @abstractmethod
    def disconnect(self) -> None:
        """Drop the station link, if any (no callback for a link we drop ourselves)."""

    @abstractmethod
    def on_link_lost(self, callback: LinkLostCallback | None) -> None:
        """Register what to call when the AP drops the station link or vanishes."""

    @abstractmethod
    def softap_start(
        self,
        ssid: bytes,
        password: bytes,
        channel: int,
        auth: AuthMode,
        max_conn: int,
        hidden: bool,
        ip: str,
    ) -> None:
        """Bring the SoftAP up (or reconfigure it); phones may join from now on."""

    @abstractmethod
    def softap_stop(self) -> None:
        """Take the SoftAP down; every station leaves (with callbacks)."""

    @abstractmethod
    def on_station_event(self, callback: StationCallback | None) -> None:
        """Register what to call when a phone joins, gets an IP, or leaves the SoftAP."""

    @abstractmethod
    def softap_stations(self) -> list[SoftApStation]:
        """The stations associated now, in the order they joined."""

    @abstractmethod
    def join_phone(self, mac: str | None = None) -> SoftApStation | None:
        """Make a phone join the SoftAP now (the next scenario phone, or a generated MAC),
        returning it, or ``None`` when the SoftAP is down or full."""

    @abstractmethod
    def leave_phone(self, mac: str) -> bool:
        """Make a phone leave the SoftAP; ``False`` when it was not associated."""

    @abstractmethod
    async def close(self) -> None:
        """Stop the radio's background tasks."""
