"""The module's SoftAP as the phones around it see it: who joins, and which address each
phone gets from the SoftAP's DHCP server.

Phones join when asked (:meth:`SoftAp.join`) or on their scenario schedule (``join_at`` and
``leave_at`` count from the moment the SoftAP comes up). A joining phone is reported
``"connected"`` at once and ``"ip"`` a short DHCP exchange later, as ESP-AT prints
``+STA_CONNECTED`` then ``+DIST_STA_IP``. Addresses come from the pool the way ESP-IDF's
DHCP server hands them out: the lowest free address of the range, and the same address
again for a phone that comes back before its lease ran out.
"""

from __future__ import annotations

import asyncio
import ipaddress
from dataclasses import dataclass

from esp_at_sim.core.clock import Clock
from esp_at_sim.radio import fields as check
from esp_at_sim.radio.addresses import MAX_LEASE_MINUTES, DhcpPool
from esp_at_sim.radio.base import AuthMode, SoftApStation, StationCallback
from esp_at_sim.radio.fields import FieldError
from esp_at_sim.radio.tasks import TaskSet
from esp_at_sim.radio.world import PhoneConfig

PHONE_DHCP_DELAY = 0.3  # simulated seconds from association to the phone's lease
GENERATED_MAC_PREFIX = "02:a7:51"  # locally administered, like a phone's random MAC


@dataclass(frozen=True)
class SoftApConfig:
    """What the SoftAP was started with (AT+CWSAP's fields and its address)."""

    ssid: bytes
    password: bytes
    channel: int
    auth: AuthMode
    max_conn: int
    hidden: bool
    ip: str


@dataclass
class _Lease:
    ip: ipaddress.IPv4Address
    expires: float | None  # None while the phone is associated


class SoftAp:
    """The SoftAP side of the simulated radio; :class:`~esp_at_sim.radio.sim.SimRadio`
    forwards the :class:`~esp_at_sim.radio.base.Radio` SoftAP methods here."""

    __slots__ = (
        "_clock",
        "_config",
        "_dhcp_server",
        "_dhcp_tasks",
        "_generated",
        "_ip",
        "_leases",
        "_phones",
        "_pool",
        "_schedule",
        "_stations",
        "_tasks",
        "callback",
    )

    def __init__(self, phones: tuple[PhoneConfig, ...], clock: Clock, tasks: TaskSet) -> None:
        self._phones = phones
        self._clock = clock
        self._tasks = tasks
        self.callback: StationCallback | None = None
        self._config: SoftApConfig | None = None
        self._ip = "192.168.4.1"
        self._pool: DhcpPool | None = None  # None: the default range for the address
        self._dhcp_server = True
        self._stations: dict[str, SoftApStation] = {}
        self._leases: dict[str, _Lease] = {}
        self._dhcp_tasks: dict[str, asyncio.Task[None]] = {}
        self._schedule: list[asyncio.Task[None]] = []
        self._generated = 0

    @property
    def config(self) -> SoftApConfig | None:
        """The running configuration, ``None`` while the SoftAP is down."""
        return self._config

    def start(self, config: SoftApConfig) -> None:
        """Bring the SoftAP up. Restarting it with another configuration first drops every
        station, as ESP-IDF does when the AP configuration changes; the same configuration
        again changes nothing."""
        ip = ipaddress.IPv4Address(config.ip)
        if config == self._config:
            return
        self.stop()
        self._config = config
        if str(ip) != self._ip:
            self._ip = str(ip)
            if self._pool is not None and not self._pool.fits(self._ip):
                self._pool = None
            self._leases.clear()
        started = self._clock.now()
        for phone in self._phones:
            if phone.join_at is not None or phone.leave_at is not None:
                self._schedule.append(self._tasks.spawn(self._follow(phone, started)))

    def stop(self) -> None:
        """Take the SoftAP down: every station leaves, in the order they joined."""
        self._tasks.cancel(self._schedule)
        self._schedule.clear()
        for mac in list(self._stations):
            self.leave(mac)
        self._config = None

    def stations(self) -> list[SoftApStation]:
        return list(self._stations.values())

    def join(self, mac: str | None = None) -> SoftApStation | None:
        """A phone associates now; see :meth:`esp_at_sim.radio.base.Radio.join_phone`.
        A phone already associated is returned as it is, without new events."""
        if self._config is None:
            return None
        mac = self._next_mac() if mac is None else _checked_mac(mac)
        if mac in self._stations:
            return self._stations[mac]
        if len(self._stations) >= self._config.max_conn:
            return None
        if self._dhcp_server:  # first, as it needs the event loop
            self._dhcp_tasks[mac] = self._tasks.spawn(self._lease_later(mac))
        station = self._stations[mac] = SoftApStation(mac)
        self._emit("connected", station)
        return station

    def leave(self, mac: str) -> bool:
        """A phone leaves; its lease is kept for the lease time."""
        station = self._stations.pop(mac.lower(), None)
        if station is None:
            return False
        task = self._dhcp_tasks.pop(station.mac, None)
        if task is not None:
            self._tasks.cancel([task])
        lease = self._leases.get(station.mac)
        if lease is not None:
            lease.expires = self._clock.now() + self.pool.lease_minutes * 60
        self._emit("disconnected", station)
        return True

    @property
    def pool(self) -> DhcpPool:
        """The DHCP range in use: the one set by :meth:`set_pool`, else ESP-IDF's default."""
        return self._pool or DhcpPool.default_for(self._ip)

    def set_pool(self, start_ip: str, end_ip: str, lease_minutes: int) -> None:
        """Set the DHCP range (AT+CWDHCPS=1,...); ``ValueError`` for a range ESP-IDF refuses:
        lease outside 1..2880 minutes, start after end, outside the SoftAP's /24, holding
        the SoftAP's own address, or more than 100 addresses."""
        if not 1 <= lease_minutes <= MAX_LEASE_MINUTES:
            raise ValueError(
                f"lease time must be 1..{MAX_LEASE_MINUTES} minutes, got {lease_minutes}"
            )
        pool = DhcpPool(
            str(ipaddress.IPv4Address(start_ip)), str(ipaddress.IPv4Address(end_ip)), lease_minutes
        )
        if not pool.fits(self._ip):
            raise ValueError(
                f"DHCP range {start_ip}..{end_ip} does not fit SoftAP address {self._ip}"
            )
        self._pool = pool
        self._drop_stale_leases()

    def reset_pool(self) -> None:
        """Go back to the default range (AT+CWDHCPS=0)."""
        self._pool = None
        self._drop_stale_leases()

    def set_dhcp_server(self, enabled: bool) -> None:
        """Turn the SoftAP's DHCP server on or off (AT+CWDHCP); phones joining while it is
        off get no address."""
        self._dhcp_server = enabled

    def _drop_stale_leases(self) -> None:
        pool = self.pool
        for mac, lease in list(self._leases.items()):
            if lease.ip not in pool and mac not in self._stations:
                del self._leases[mac]

    def _allocate(self, mac: str) -> str | None:
        now = self._clock.now()
        for other, lease in list(self._leases.items()):
            if lease.expires is not None and lease.expires <= now:
                del self._leases[other]
        pool = self.pool
        known = self._leases.get(mac)
        if known is not None and known.ip in pool:
            known.expires = None
            return str(known.ip)
        taken = {other.ip for m, other in self._leases.items() if m != mac}
        address = next((a for a in pool.addresses() if a not in taken), None)
        if address is None:
            return None
        self._leases[mac] = _Lease(address, None)
        return str(address)

    async def _lease_later(self, mac: str) -> None:
        await self._clock.sleep(PHONE_DHCP_DELAY)
        self._dhcp_tasks.pop(mac, None)
        if mac not in self._stations:
            return
        ip = self._allocate(mac)
        if ip is not None:
            station = self._stations[mac] = SoftApStation(mac, ip)
            self._emit("ip", station)

    async def _follow(self, phone: PhoneConfig, started: float) -> None:
        if phone.join_at is not None:
            await self._clock.sleep(started + phone.join_at - self._clock.now())
            self.join(phone.mac)
        if phone.leave_at is not None:
            await self._clock.sleep(started + phone.leave_at - self._clock.now())
            self.leave(phone.mac)

    def _next_mac(self) -> str:
        for phone in self._phones:
            if phone.mac not in self._stations:
                return phone.mac
        known = {phone.mac for phone in self._phones}
        while True:
            self._generated += 1
            n = self._generated
            mac = f"{GENERATED_MAC_PREFIX}:{n >> 16 & 0xFF:02x}:{n >> 8 & 0xFF:02x}:{n & 0xFF:02x}"
            if mac not in self._stations and mac not in known:
                return mac

    def _emit(self, kind: str, station: SoftApStation) -> None:
        if self.callback is not None:
            self.callback(kind, station)


def _checked_mac(mac: str) -> str:
    try:
        return check.mac("mac", mac)
    except FieldError as err:
        raise ValueError(f"phone {err}") from None
