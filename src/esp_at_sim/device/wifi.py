"""Wi-Fi state of the module: the mode, the station (:mod:`.station`), the SoftAP
(:mod:`.softap`), addresses, host name, country and the scan options.

The module calls :meth:`Wifi.load` at every boot (settings from flash, everything else back
to its default), :meth:`Wifi.after_boot` once ``ready`` is out (SoftAP up, auto-connect)
and :meth:`Wifi.shutdown` on a reset. Commands change the state through the methods here
and store what ``AT+SYSSTORE`` governs with :meth:`Wifi.persist`. The web server uses the
same paths: :meth:`Wifi.connect`, :meth:`Wifi.begin_connect`, :meth:`Wifi.disconnect`,
:meth:`Wifi.scan`, :meth:`Wifi.station_ip` and :meth:`Wifi.softap_stations`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from ..core.settings import Settings
from ..radio.addresses import mac_bytes, settable_mac
from ..radio.base import IpInfo, JoinFailure, ScanResult, SoftApStation
from . import settings_schema as S
from .phy import PhyState
from .smartconfig import SmartConfig, Wps
from .softap import ECN_AUTH, ApInterface, ApSettings
from .station import StaState, Station

if TYPE_CHECKING:
    from .module import Module

MODE_STA, MODE_AP, MODE_APSTA = 1, 2, 3  # AT+CWMODE (0: Wi-Fi off)
_CHANNELS_BY_COUNTRY = {"US": 11, "CA": 11, "JP": 14, "01": 11}


class WifiUnavailable(RuntimeError):
    """The operation needs an interface that the Wi-Fi mode (or AT+CWINIT=0) has off."""


@dataclass(frozen=True, slots=True)
class LapOptions:
    """AT+CWLAPOPT: which fields AT+CWLAP prints and which APs it leaves out."""

    print_mask: int = 0x7FF
    rssi_filter: int = -100
    auth_mask: int = 0xFFFF


@dataclass(frozen=True, slots=True)
class Country:
    """AT+CWCOUNTRY."""

    policy: int
    code: str
    start_channel: int
    channel_count: int

    @property
    def channels(self) -> range:
        return range(self.start_channel, self.start_channel + self.channel_count)


class Wifi:
    """The Wi-Fi side of one module."""

    __slots__ = (
        "ap",
        "ap_mac",
        "autoconn",
        "country",
        "hostname",
        "initialized",
        "lap",
        "mode",
        "module",
        "phy",
        "smart",
        "sta",
        "sta_mac",
        "wps",
    )

    def __init__(self, module: Module) -> None:
        self.module = module
        self._reset_defaults()

    # ----------------------------------------------------------------- lifecycle
    def _reset_defaults(self) -> None:
        ident = self.module.identity
        self.initialized = True
        self.mode = MODE_STA
        self.autoconn = True
        self.lap = LapOptions()
        self.hostname = ident.hostname.encode()
        code = ident.country
        self.country = Country(0, code, 1, _CHANNELS_BY_COUNTRY.get(code, 13))
        self.sta_mac = ident.sta_mac
        self.ap_mac = ident.ap_mac
        self.sta = Station(self.module)
        self.ap = ApInterface(self.module, default_ssid(ident.ap_mac))
        self.smart = SmartConfig(self.module)
        self.phy = PhyState()
        self.wps = Wps(self.module)

    def load(self, saved: Settings) -> None:
        """Boot: stored settings on top of the defaults (a corrupt one keeps its default)."""
        self._reset_defaults()
        self.mode = S.OPMODE.read(saved)
        self.autoconn = S.AUTOCONN.read(saved)
        self.sta_mac = S.STA_MAC.read(saved) or self.sta_mac
        self.ap_mac = S.AP_MAC.read(saved) or self.ap_mac
        bandwidth, protocols = S.phy_settings(saved)
        self.phy.load(
            bandwidth,
            protocols,
            S.CW_CONFIG.read(saved),
            self.module.identity.chip,
        )
        self._load_station(saved)
        self._load_softap(saved)
        radio = self.module.radio
        radio.on_link_lost(self.sta.link_lost)
        radio.on_station_event(self.ap.station_event)

    def _load_station(self, saved: Settings) -> None:
        sta = self.sta
        auth, listen, scan, timeout, pmf = S.station_numbers(saved)
        cfg = replace(
            sta.config,
            authmode=auth,
            listen_interval=listen,
            scan_mode=scan,
            jap_timeout=timeout,
            pmf=pmf,
        )
        ssid, pwd = S.STA_SSID.stored(saved), S.STA_PSWD.read(saved)
        if ssid is not None:
            bssid = S.STA_BSSID.stored(saved) if S.BSSID_SET.read(saved) else None
            cfg = replace(cfg, ssid=ssid, password=pwd or b"", bssid=bssid)
        sta.config = cfg
        sta.reconn_interval, sta.reconn_repeat = S.RECONN_CFG.read(saved)
        static = S.STA_IP.read(saved)
        if static is not None:
            sta.static_ip = static
        dhcp = S.DHCP.stored(saved)
        if dhcp is not None:
            sta.dhcp = bool(dhcp & 1)
            self.ap.dhcp_server = bool(dhcp & 2)

    def _load_softap(self, saved: Settings) -> None:
        ap = self.ap
        ap.address = S.AP_IP.read(saved) or ap.address
        ssid = S.AP_SSID.stored(saved)
        ecn = S.AP_AUTHMODE.read(saved)
        if ssid and ecn in ECN_AUTH:
            ap.settings = ApSettings(
                ssid,
                S.AP_PASSWD.read(saved) or b"",
                S.AP_CHAN.read(saved),
                ecn,
                S.AP_MAX_CONN.read(saved),
                S.AP_HIDDEN.read(saved),
            )
        pool = S.DHCPS.read(saved)
        if pool is not None and pool.fits(ap.address.ip):
            ap.custom_pool = pool

    def after_boot(self) -> None:
        """Once ``ready`` is out: bring the SoftAP up and auto-connect the station."""
        self._interfaces_up(auto_connect=self.autoconn)

    def shutdown(self) -> None:
        """Reset: drop the station link and take the SoftAP down, silently."""
        radio = self.module.radio
        radio.on_link_lost(None)
        radio.on_station_event(None)
        self._stop_setup()
        self.sta.reset()
        radio.disconnect()
        self.ap.stop()

    # ------------------------------------------------------------------- state
    @property
    def has_sta(self) -> bool:
        return self.initialized and self.mode in (MODE_STA, MODE_APSTA)

    @property
    def has_ap(self) -> bool:
        return self.initialized and self.mode in (MODE_AP, MODE_APSTA)

    def persist(self, *entries: S.Entry) -> None:
        """Store settings when AT+SYSSTORE=1."""
        self.module.persist(*entries)

    def set_mode(self, mode: int, auto_connect: bool = True) -> None:
        """AT+CWMODE: switch interfaces on and off as the new mode says."""
        old, self.mode = self.mode, mode
        self.persist(S.OPMODE.entry(mode))
        self.module.emit("wifi.mode", mode=mode)
        if not self.initialized or old == mode:
            return
        old_sta, new_sta = old in (MODE_STA, MODE_APSTA), self.has_sta
        old_ap, new_ap = old in (MODE_AP, MODE_APSTA), self.has_ap
        if old_sta and not new_sta:
            self._stop_setup()
            self.sta.stop()
        if old_ap and not new_ap:
            self.ap.stop()
        if new_ap and not old_ap:
            self.ap.start()
        if new_sta and not old_sta and auto_connect and self.sta.config.ssid:
            self.sta.start(retry=True)

    def set_initialized(self, on: bool) -> None:
        """AT+CWINIT: take the Wi-Fi driver down, or bring it back up."""
        if on == self.initialized:
            return
        if not on:
            self._stop_setup()
            self.sta.stop()
            self.sta.state = StaState.IDLE
            self.ap.stop()
            self.initialized = False
            return
        self.initialized = True
        self._interfaces_up(auto_connect=self.autoconn)

    def _stop_setup(self) -> None:
        """SmartConfig and WPS end with the station interface."""
        self.smart.stop()
        self.wps.disable()

    def _interfaces_up(self, *, auto_connect: bool) -> None:
        if self.has_ap:
            self.ap.start()
        if self.has_sta and auto_connect and self.sta.config.ssid:
            self.sta.start(retry=True)

    def set_static_ip(self, info: IpInfo) -> None:
        """AT+CIPSTA: a static station address (station DHCP off)."""
        self.sta.use_static(info)
        self.persist(S.STA_IP.entry(info), S.DHCP.entry(self.dhcp_bits))

    @property
    def dhcp_bits(self) -> int:
        return int(self.sta.dhcp) | int(self.ap.dhcp_server) << 1

    def set_dhcp(self, enable: bool, which: int) -> None:
        """AT+CWDHCP: bit 0 the station's DHCP client, bit 1 the SoftAP's server."""
        if which & 1:
            self.sta.set_dhcp(enable)
        if which & 2:
            self.ap.set_dhcp_server(enable)
        self.persist(S.DHCP.entry(self.dhcp_bits))

    def channel_allowed(self, channel: int) -> bool:
        return channel in self.country.channels

    def mac_conflict(self, mac: str, other: str) -> bool:
        """Whether ``mac`` may not be given to an interface whose peer has ``other``."""
        return not settable_mac(mac) or mac_bytes(mac) == mac_bytes(other)

    # ---------------------------------------------------- for the web server
    async def connect(
        self, ssid: bytes, password: bytes, bssid: str | None = None
    ) -> JoinFailure | None:
        """Join like AT+CWJAP does (same URCs, same ``jap_timeout``, same storing);
        ``None`` once the station has an IP. :class:`WifiUnavailable` without a station."""
        self.apply_station(ssid, password, bssid)
        return await self.sta.join()

    def begin_connect(self, ssid: bytes, password: bytes, bssid: str | None = None) -> None:
        """Apply new credentials and start connecting in the background, reconnecting as
        AT+CWRECONNCFG says; poll :meth:`station_ip` for the result."""
        self.apply_station(ssid, password, bssid)
        self.sta.start(retry=True)

    def apply_station(self, ssid: bytes, password: bytes, bssid: str | None = None) -> None:
        """New station credentials, stored when AT+SYSSTORE=1."""
        if not self.has_sta:
            raise WifiUnavailable("the station interface is off")
        self.sta.config = replace(self.sta.config, ssid=ssid, password=password, bssid=bssid)
        self.persist_station()

    def persist_station(self) -> None:
        cfg = self.sta.config
        entries = S.station_entries(cfg.ssid, cfg.password, cfg.bssid, self._sta_numbers())
        self.persist(*entries, self.reconn_entry())

    def reconn_entry(self) -> S.Entry:
        return S.RECONN_CFG.entry((self.sta.reconn_interval, self.sta.reconn_repeat))

    def persist_phy(self) -> None:
        """Store the radio settings (and the station's listen interval, AT+CWCONFIG's)."""
        phy = self.phy
        self.persist(
            *S.phy_entries(phy.bandwidth, phy.protocol),
            S.CW_CONFIG.entry((phy.ap_inactive, phy.sta_inactive)),
            *S.station_options(self._sta_numbers()),
        )

    def _sta_numbers(self) -> S.Numbers:
        """The station's numeric options (AT+CWJAP's)."""
        cfg = self.sta.config
        return (cfg.authmode, cfg.listen_interval, cfg.scan_mode, cfg.jap_timeout, cfg.pmf)

    def persist_softap(self) -> None:
        cfg = self.ap.settings
        numbers = (cfg.channel, cfg.ecn, cfg.max_conn, int(cfg.hidden))
        self.persist(*S.softap_entries(cfg.ssid, cfg.password, numbers))

    def disconnect(self) -> None:
        """Drop the station link and stop reconnecting (AT+CWQAP)."""
        self.sta.stop()

    def stop_reconnecting(self) -> None:
        """Give up a connection attempt in progress (an established link stays)."""
        self.sta.stop_reconnecting()

    async def scan(
        self, ssid: bytes | None = None, bssid: str | None = None, channel: int | None = None
    ) -> list[ScanResult]:
        """A station scan as AT+CWLAP makes it: hidden APs included (SSID empty unless
        named), channels outside the country left out, strongest first."""
        if not self.has_sta:
            raise WifiUnavailable("the station interface is off")
        found = await self.module.radio.scan(ssid, bssid, channel or None, True)
        visible = [ap for ap in found if self.channel_allowed(ap.channel)]
        return sorted(visible, key=lambda ap: -ap.rssi)

    def station_ip(self) -> IpInfo | None:
        """The station's address once it has one (``WIFI GOT IP`` printed)."""
        return self.sta.ip() if self.sta.state is StaState.GOT_IP else None

    def cipstatus_code(self) -> int:
        """The station's part of AT+CIPSTATUS's ``STATUS:<stat>``: 0 no station interface,
        1 nothing started yet, 2 has an IP, 5 connecting, lost or without an IP (3 and 4
        depend on the TCP/IP links and are the TCP/IP commands' to add)."""
        if not self.has_sta:
            return 0
        if self.sta.state is StaState.IDLE:
            return 1
        return 2 if self.sta.state is StaState.GOT_IP else 5

    def softap_stations(self) -> list[SoftApStation]:
        """The stations on the SoftAP now, in the order they joined."""
        return self.ap.stations()


def default_ssid(ap_mac: str) -> bytes:
    """The SoftAP's factory SSID: ``ESP_`` and the last three bytes of its MAC."""
    return b"ESP_" + ap_mac.replace(":", "")[-6:].upper().encode()
