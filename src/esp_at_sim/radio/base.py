"""The radio interface: what the module's Wi-Fi driver asks of the air around it.

The device layer talks only to :class:`Radio`; :mod:`esp_at_sim.radio.sim` implements it
from a scenario file, and other backends can implement it too (registered by name, see
:mod:`esp_at_sim.radio.registry`). All waiting happens on the module's
:class:`~esp_at_sim.core.clock.Clock`, so the time scale applies.

What a backend may offer beyond :class:`Radio` is a *capability*: a protocol below that
the backend's class implements and that the module finds with ``isinstance``, doing
without it when it is missing. A new optional feature of the air gets its own protocol
here, next to :class:`DhcpServerControl` and :class:`FaultControl`.
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable


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


# -- capabilities: optional, found with isinstance ----------------------------------------


@runtime_checkable
class DhcpServerControl(Protocol):
    """The SoftAP's DHCP server hands out addresses inside the radio (the simulated air
    does), so the module sets its range and switches it; a radio without it is told only
    the SoftAP's address."""

    def set_dhcp_pool(self, start_ip: str, end_ip: str, lease_minutes: int) -> None:
        """Use this range (AT+CWDHCPS=1,...); the module has checked that it fits."""

    def reset_dhcp_pool(self) -> None:
        """Back to the default range for the SoftAP's address (AT+CWDHCPS=0)."""

    def set_softap_dhcp(self, enabled: bool) -> None:
        """Switch the SoftAP's DHCP server on or off (AT+CWDHCP)."""


@runtime_checkable
class FaultControl(Protocol):
    """The air takes faults injected at run time (:mod:`esp_at_sim.device.faults`).
    Access points are named by SSID or BSSID; ``KeyError`` when none matches."""

    def vanish(self, ssid_or_bssid: str) -> None:
        """Switch the access point off; a station joined to it loses its link."""

    def appear(self, ssid_or_bssid: str) -> None:
        """Switch the access point back on."""

    def set_password(self, ssid_or_bssid: str, password: str | None) -> None:
        """Give the access point another password (``None``: open); ``ValueError`` for
        one its security does not take."""

    def refuse_next(self, ssid_or_bssid: str, count: int) -> None:
        """Refuse the next ``count`` association attempts."""

    def drop_link(self, reason: int) -> bool:
        """Drop the station now with this ESP-IDF reason code; ``False`` without a link."""

    def stall_dhcp(self, ssid_or_bssid: str, on: bool) -> None:
        """Silence (or revive) the access point's DHCP server."""


@dataclass(frozen=True)
class SmartConfigPacket:
    """What a phone sends by SmartConfig: the network to join, and how it was sent.

    ``kind`` is ``esptouch``, ``airkiss`` or ``esptouch_v2``; ESP-Touch v2 may carry
    reserved ``data`` and is encrypted with ``key`` (16 bytes) when the phone has one."""

    kind: str
    ssid: bytes
    password: bytes
    bssid: str | None = None
    key: bytes | None = None
    data: bytes = b""
    sender: str = ""  # the phone's MAC, for the event log


SmartConfigCallback = Callable[[SmartConfigPacket], None]


@runtime_checkable
class SmartConfigAir(Protocol):
    """Phones on the air send SmartConfig packets (ESP-Touch, AirKiss) that a listening
    station receives (AT+CWSTARTSMART)."""

    def listen_smartconfig(self, callback: SmartConfigCallback | None) -> None:
        """Start (or, with ``None``, stop) receiving SmartConfig packets."""

    def send_smartconfig(self, packet: SmartConfigPacket) -> bool:
        """A phone sends ``packet`` now; ``False`` when nobody listens."""


@dataclass(frozen=True)
class WpsCredentials:
    """What an access point's WPS registrar hands an enrollee."""

    ssid: bytes
    password: bytes
    bssid: str
    auth: AuthMode


@runtime_checkable
class WpsAir(Protocol):
    """Access points take WPS push-button enrollees (AT+WPS) while their button is
    pressed (the walk time, 120 s after the press)."""

    def wps_active(self) -> list[str]:
        """BSSIDs of the visible access points whose WPS button is pressed now."""

    async def wps_register(self, bssid: str) -> WpsCredentials | None:
        """Run the registration with that access point (takes its time); its network's
        credentials, or ``None`` when the exchange fails."""

    def press_wps_button(self, ssid_or_bssid: str) -> None:
        """Press the access point's WPS button now; ``KeyError`` when none matches,
        ``ValueError`` for an access point without WPS."""
