"""The simulated air: a :class:`~esp_at_sim.radio.base.Radio` driven by a scenario.

The access points of a :class:`~esp_at_sim.radio.world.Scenario` are on the air in file
order; the phones join the SoftAP (see :mod:`esp_at_sim.radio.sim_softap`). Every wait is
simulated time on the module's :class:`~esp_at_sim.core.clock.Clock`: a scan takes
0.12 s per channel, an association the AP's ``assoc_delay``, DHCP its ``dhcp_delay``.

Joining follows ESP-IDF. The station picks the strongest visible AP with the SSID (and
BSSID, when given) whose security fits the password: an OPEN AP does not fit a station
that has a password, and WPA2-Enterprise and WAPI APs fit none (ESP-AT joins them only
through other commands), so those end as ``NOT_FOUND`` after a full search, as ESP-IDF's
"no AP found with compatible security" does. A refused attempt (``refuse_first``) ends as
``FAILED``, a wrong password as ``WRONG_PASSWORD``, both after the association delay.

Faults can be injected while running: :meth:`SimRadio.vanish`, :meth:`~SimRadio.appear`,
:meth:`~SimRadio.set_password`, :meth:`~SimRadio.refuse_next`, :meth:`~SimRadio.drop_link`,
:meth:`~SimRadio.stall_dhcp`, :meth:`~SimRadio.add_ap` and :meth:`~SimRadio.remove_ap`.
When scheduled times and run-time calls disagree about an AP, the latest one wins.

Not reproduced: RSSI is constant; the country code does not limit the channels scanned
(1 to 13); a silent AP is noticed at once (reason 200, beacon timeout) rather than after
ESP-IDF's ~6 s of missed beacons; the SoftAP keeps its channel when the station joins an AP
on another one (a real ESP32 has one radio and moves the SoftAP).
"""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass, field

from esp_at_sim.core.clock import Clock
from esp_at_sim.radio.addresses import DhcpPool, parse_mac
from esp_at_sim.radio.base import (
    Association,
    AuthMode,
    DhcpServerControl,
    FaultControl,
    IpInfo,
    JoinFailure,
    LinkLostCallback,
    Radio,
    ScanResult,
    SmartConfigAir,
    SmartConfigCallback,
    SmartConfigPacket,
    SoftApStation,
    StationCallback,
    WpsAir,
    WpsCredentials,
)
from esp_at_sim.radio.sim_setup import SetupAir
from esp_at_sim.radio.sim_softap import SoftAp, SoftApConfig
from esp_at_sim.radio.simnet import LinkConditions, SimNetwork
from esp_at_sim.radio.tasks import TaskSet
from esp_at_sim.radio.world import ApConfig, Scenario

SCAN_TIME_PER_CHANNEL = 0.12  # ESP-IDF's default active scan time per channel
CHANNELS = 13
SEARCH_TIME = CHANNELS * SCAN_TIME_PER_CHANNEL  # a join's search before NOT_FOUND
DHCP_GIVE_UP = 60.0  # how long dhcp() waits for a server that never answers
REASON_ASSOC_LEAVE = 8  # ESP-IDF wifi_err_reason_t values
REASON_BEACON_TIMEOUT = 200

_NO_PSK_JOIN = frozenset({AuthMode.WPA2_ENTERPRISE, AuthMode.WAPI_PSK})
_CIPHERS: dict[AuthMode, tuple[int, int]] = {  # (pairwise, group), wifi_cipher_type_t
    AuthMode.OPEN: (0, 0),
    AuthMode.WPA_PSK: (3, 3),
    AuthMode.WPA_WPA2_PSK: (5, 3),
    AuthMode.WAPI_PSK: (7, 7),
}


@dataclass(slots=True)
class _Ap:
    """One access point on the air, with what happened to it at run time."""

    config: ApConfig
    refusals_left: int
    override: tuple[float, bool] | None = None  # (when, present) of the last appear/vanish
    dhcp_stalled: bool = False


@dataclass(slots=True)
class _Link:
    ap: _Ap
    assoc: Association
    tasks: list[asyncio.Task[None]] = field(default_factory=list)


def scan_result(config: ApConfig, reveal: bool = True) -> ScanResult:
    """How ``config`` looks in a scan; a hidden AP's SSID is empty unless ``reveal``."""
    if config.auth is AuthMode.WEP:
        wep = 1 if len(config.password or "") in (5, 10) else 2
        pairwise, group = wep, wep
    else:
        pairwise, group = _CIPHERS.get(config.auth, (4, 4))
    return ScanResult(
        ssid=config.ssid_bytes if reveal or not config.hidden else b"",
        bssid=config.bssid,
        channel=config.channel,
        rssi=config.rssi,
        auth=config.auth,
        hidden=config.hidden,
        pairwise_cipher=pairwise,
        group_cipher=group,
        wps=int(config.wps),
    )


class SimRadio(Radio, DhcpServerControl, FaultControl, SmartConfigAir, WpsAir):
    """The air of one scenario, on one clock; it has every capability."""

    def __init__(self, scenario: Scenario, clock: Clock) -> None:
        self._scenario = scenario
        self._clock = clock
        self._aps = [_Ap(config, config.refuse_first) for config in scenario.aps]
        self._tasks = TaskSet()
        self._softap = SoftAp(scenario.phones, clock, self._tasks)
        self._link: _Link | None = None
        self._link_lost: LinkLostCallback | None = None
        self._network = SimNetwork(scenario.net, clock, self._link_conditions)
        self._setup = SetupAir(scenario.phones, clock, self._tasks, self._on_air)

    @property
    def network(self) -> SimNetwork:
        """The data path (the network capability), sandboxed by the scenario's ``[net]``."""
        return self._network

    def _link_conditions(self) -> LinkConditions | None:
        if self._link is None:
            return None
        config = self._link.ap.config
        return LinkConditions(config.internet, config.latency, config.bandwidth, config.loss)

    @property
    def scenario(self) -> Scenario:
        return self._scenario

    @property
    def access_points(self) -> tuple[ApConfig, ...]:
        """The APs on the air now (visible or not), with run-time changes applied."""
        return tuple(ap.config for ap in self._aps)

    @property
    def link(self) -> Association | None:
        """The station's association, while it lasts."""
        return None if self._link is None else self._link.assoc

    def is_visible(self, ssid_or_bssid: str | bytes) -> bool:
        """Whether any AP with this SSID or BSSID is on the air now."""
        return any(self._visible(ap) for ap in self._select(ssid_or_bssid))

    # -- the station ------------------------------------------------------------------

    async def scan(
        self,
        ssid: bytes | None = None,
        bssid: str | None = None,
        channel: int | None = None,
        show_hidden: bool = False,
    ) -> list[ScanResult]:
        await self._clock.sleep((1 if channel else CHANNELS) * SCAN_TIME_PER_CHANNEL)
        found = []
        for ap in self._aps:
            config = ap.config
            if not self._visible(ap) or (channel and config.channel != channel):
                continue
            if bssid is not None and config.bssid != bssid.lower():
                continue
            if ssid is not None and config.ssid_bytes != ssid:
                continue
            if config.hidden and ssid is None and not show_hidden:
                continue
            found.append(scan_result(config, reveal=ssid is not None))
        return found

    async def associate(
        self, ssid: bytes, password: bytes, bssid: str | None = None
    ) -> Association | JoinFailure:
        self.disconnect()
        fitting = [
            ap
            for ap in self._aps
            if self._visible(ap)
            and ap.config.ssid_bytes == ssid
            and (bssid is None or ap.config.bssid == bssid.lower())
            and ap.config.auth not in _NO_PSK_JOIN
            and not (ap.config.auth is AuthMode.OPEN and password)
        ]
        if not fitting:
            await self._clock.sleep(SEARCH_TIME)
            return JoinFailure.NOT_FOUND
        ap = max(fitting, key=lambda candidate: candidate.config.rssi)
        await self._clock.sleep(ap.config.assoc_delay)
        if ap not in self._aps or not self._visible(ap):
            return JoinFailure.NOT_FOUND
        if ap.refusals_left > 0:
            ap.refusals_left -= 1
            return JoinFailure.FAILED
        if password != (ap.config.password or "").encode():
            return JoinFailure.WRONG_PASSWORD
        self.disconnect()  # another caller may have joined meanwhile
        link = self._link = _Link(ap, Association(scan_result(ap.config)))
        link.tasks.append(self._tasks.spawn(self._watch_schedule(link)))
        if ap.config.drop_after is not None:
            drop = self._drop_later(link, ap.config.drop_after, ap.config.drop_reason)
            link.tasks.append(self._tasks.spawn(drop))
        return link.assoc

    async def dhcp(self, assoc: Association) -> IpInfo | None:
        """Wait for the lease; a silent server (``no_ip``, :meth:`stall_dhcp`) is asked
        again with DHCP's doubling back-off until :data:`DHCP_GIVE_UP` seconds passed."""
        link = self._link
        if link is None or link.assoc is not assoc:
            return None
        deadline = self._clock.now() + DHCP_GIVE_UP
        backoff = 2.0
        while self._link is link:
            config = link.ap.config
            if not config.no_ip and not link.ap.dhcp_stalled:
                await self._clock.sleep(config.dhcp_delay)
                if self._link is not link:
                    return None
                return IpInfo(config.ip, config.gateway, config.netmask)
            remaining = deadline - self._clock.now()
            if remaining <= 0:
                return None
            await self._clock.sleep(min(backoff, remaining))
            backoff *= 2
        return None

    def disconnect(self) -> None:
        link, self._link = self._link, None
        if link is not None:
            self._tasks.cancel(link.tasks)

    def on_link_lost(self, callback: LinkLostCallback | None) -> None:
        self._link_lost = callback

    # -- faults injected at run time --------------------------------------------------

    def vanish(self, ssid_or_bssid: str | bytes) -> None:
        """Switch the matching APs off now; a station joined to one loses its link
        (reason 200, beacon timeout). ``KeyError`` when nothing matches."""
        for ap in self._select(ssid_or_bssid):
            ap.override = (self._clock.now(), False)
            self._lose(ap, REASON_BEACON_TIMEOUT)

    def appear(self, ssid_or_bssid: str | bytes) -> None:
        """Switch the matching APs on now, whatever their schedule said."""
        for ap in self._select(ssid_or_bssid):
            ap.override = (self._clock.now(), True)

    def set_password(
        self, ssid_or_bssid: str | bytes, password: str | None, auth: AuthMode | None = None
    ) -> None:
        """Change the matching APs' password for the next associations (a joined station
        stays). Without ``auth``, an OPEN AP given a password becomes WPA2_PSK, an AP
        given ``None`` becomes OPEN, others keep theirs. ``ValueError`` for a bad pair."""
        for ap in self._select(ssid_or_bssid):
            if auth is None:
                old = ap.config.auth
                new = AuthMode.OPEN if password is None else old
                if password is not None and old is AuthMode.OPEN:
                    new = AuthMode.WPA2_PSK
            else:
                new = auth
            ap.config = dataclasses.replace(ap.config, password=password, auth=new)

    def refuse_next(self, ssid_or_bssid: str | bytes, count: int) -> None:
        """The matching APs refuse the next ``count`` association attempts (``FAILED``)."""
        if count < 0:
            raise ValueError(f"count must be >= 0, got {count}")
        for ap in self._select(ssid_or_bssid):
            ap.refusals_left = count

    def drop_link(self, reason: int = REASON_ASSOC_LEAVE) -> bool:
        """The AP drops the station now, reporting ``reason``; ``False`` without a link."""
        if self._link is None:
            return False
        self._lose(self._link.ap, reason)
        return True

    def stall_dhcp(self, ssid_or_bssid: str | bytes, on: bool = True) -> None:
        """Silence (or revive) the matching APs' DHCP servers; a waiting :meth:`dhcp`
        gets its lease at its next retry after the server is revived."""
        for ap in self._select(ssid_or_bssid):
            ap.dhcp_stalled = on

    def add_ap(self, config: ApConfig) -> None:
        """Put another AP on the air, after the others; ``ValueError`` for a BSSID in use."""
        if any(ap.config.bssid == config.bssid for ap in self._aps):
            raise ValueError(f"BSSID {config.bssid} is already on the air")
        self._aps.append(_Ap(config, config.refuse_first))

    def remove_ap(self, ssid_or_bssid: str | bytes) -> None:
        """Take the matching APs off the air for good (a joined station loses its link)."""
        for ap in self._select(ssid_or_bssid):
            self._aps.remove(ap)
            self._lose(ap, REASON_BEACON_TIMEOUT)

    # -- provisioning: SmartConfig and WPS (see esp_at_sim.radio.sim_setup) ---------------

    def listen_smartconfig(self, callback: SmartConfigCallback | None) -> None:
        self._setup.listen(callback)

    def send_smartconfig(self, packet: SmartConfigPacket) -> bool:
        return self._setup.send(packet)

    def wps_active(self) -> list[str]:
        return [
            ap.config.bssid
            for ap in self._aps
            if self._visible(ap) and self._setup.active(ap.config)
        ]

    async def wps_register(self, bssid: str) -> WpsCredentials | None:
        return await self._setup.register(bssid)

    def press_wps_button(self, ssid_or_bssid: str) -> None:
        for ap in self._select(ssid_or_bssid):
            self._setup.press(ap.config)

    def _on_air(self, bssid: str) -> ApConfig | None:
        return next(
            (ap.config for ap in self._aps if ap.config.bssid == bssid and self._visible(ap)), None
        )

    # -- the SoftAP -----------------------------------------------------------------------

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
        self._softap.start(SoftApConfig(ssid, password, channel, auth, max_conn, hidden, ip))

    def softap_stop(self) -> None:
        self._softap.stop()

    def on_station_event(self, callback: StationCallback | None) -> None:
        self._softap.callback = callback

    def softap_stations(self) -> list[SoftApStation]:
        return self._softap.stations()

    def join_phone(self, mac: str | None = None) -> SoftApStation | None:
        return self._softap.join(mac)

    def leave_phone(self, mac: str) -> bool:
        return self._softap.leave(mac)

    @property
    def softap_config(self) -> SoftApConfig | None:
        """The SoftAP's configuration while it is up."""
        return self._softap.config

    def dhcp_pool(self) -> DhcpPool:
        """The SoftAP's DHCP range (AT+CWDHCPS?)."""
        return self._softap.pool

    def set_dhcp_pool(self, start_ip: str, end_ip: str, lease_minutes: int) -> None:
        """Set the SoftAP's DHCP range (AT+CWDHCPS=1,...); ``ValueError`` when ESP-IDF
        would refuse it (see :meth:`esp_at_sim.radio.sim_softap.SoftAp.set_pool`)."""
        self._softap.set_pool(start_ip, end_ip, lease_minutes)

    def reset_dhcp_pool(self) -> None:
        """Back to the default DHCP range (AT+CWDHCPS=0)."""
        self._softap.reset_pool()

    def set_softap_dhcp(self, enabled: bool) -> None:
        """Turn the SoftAP's DHCP server on or off (AT+CWDHCP)."""
        self._softap.set_dhcp_server(enabled)

    async def close(self) -> None:
        self.disconnect()
        await self._network.close()
        await self._tasks.close()

    # -- internals ----------------------------------------------------------------------

    def _select(self, key: str | bytes) -> list[_Ap]:
        bssid = parse_mac(key) if isinstance(key, str) else None
        if bssid is not None:
            found = [ap for ap in self._aps if ap.config.bssid == bssid]
        else:
            ssid = key.encode() if isinstance(key, str) else key
            found = [ap for ap in self._aps if ap.config.ssid_bytes == ssid]
        if not found:
            raise KeyError(f"no access point {key!r} in the scenario")
        return found

    def _visible(self, ap: _Ap, at: float | None = None) -> bool:
        """Whether ``ap`` is on the air at ``at`` (now): the latest event decides."""
        when = self._clock.now() if at is None else at
        config = ap.config
        events: list[tuple[float, int, bool]] = []
        if config.appear_at is not None and config.appear_at <= when:
            events.append((config.appear_at, 0, True))
        if config.vanish_at is not None and config.vanish_at <= when:
            events.append((config.vanish_at, 0, False))
        if ap.override is not None:
            events.append((ap.override[0], 1, ap.override[1]))
        if not events:
            return config.appear_at is None
        return max(events)[2]

    def _lose(self, ap: _Ap, reason: int) -> None:
        if self._link is None or self._link.ap is not ap:
            return
        self.disconnect()
        if self._link_lost is not None:
            self._link_lost(reason)

    async def _watch_schedule(self, link: _Link) -> None:
        while True:
            now = self._clock.now()
            config = link.ap.config
            upcoming = [
                t for t in (config.appear_at, config.vanish_at) if t is not None and t > now
            ]
            if not upcoming:
                return
            moment = min(upcoming)
            await self._clock.sleep(moment - now)
            if self._link is not link:
                return
            if not self._visible(link.ap, at=max(moment, self._clock.now())):
                self._lose(link.ap, REASON_BEACON_TIMEOUT)
                return

    async def _drop_later(self, link: _Link, after: float, reason: int) -> None:
        await self._clock.sleep(after)
        if self._link is link:
            self._lose(link.ap, reason)
