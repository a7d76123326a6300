"""The module's wall clock and its SNTP client (AT+CIPSNTPCFG, AT+CIPSNTPINTV).

The wall clock is the ESP32's system time: it starts at the Unix epoch when the module
powers on, runs with the module's clock, survives a software reset (the RTC keeps it),
and is set by ``AT+SYSTIMESTAMP`` and by each SNTP synchronisation.

With SNTP enabled the module asks its servers in turn (``AT+CIPSNTPCFG``'s, or ESP-AT's
three defaults) over UDP port 123, through the module's network: each request waits
:data:`RECV_TIMEOUT` for its answer, a round without an answer is retried after
:data:`RETRY_INTERVAL`, and a successful synchronisation is repeated every
``AT+CIPSNTPINTV`` seconds. The first one after ``AT+CIPSNTPCFG`` or after boot prints
``+TIME_UPDATED``. Nothing is sent while the station has no IP address.

At time scale 0 these waits take real seconds: a client that re-synchronised on the
simulated clock would make simulated time run away whenever nothing else waits.
"""

from __future__ import annotations

import asyncio
import struct
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..core.events import Event
from ..core.lazy import LazyEvent
from ..core.settings import SettingValue
from ..radio.network import Datagram, NetError, Network, network_of
from .settings_schema import SNTP_CFG, SntpSetting, utc_offset

if TYPE_CHECKING:
    from .module import Module

NTP_PORT = 123
NTP_EPOCH_OFFSET = 2_208_988_800  # seconds from 1900-01-01 to 1970-01-01
DEFAULT_SERVERS = ("cn.ntp.org.cn", "ntp.sjtu.edu.cn", "us.pool.ntp.org")
DEFAULT_TIMEZONE = 8
DEFAULT_INTERVAL = 3600  # seconds (ESP-IDF's SNTP update interval)
RECV_TIMEOUT = 15.0  # seconds a request waits for its answer (lwIP's SNTP_RECV_TIMEOUT)
RETRY_INTERVAL = 15.0  # seconds before a round with no answer is tried again
PACKET = 48


@dataclass(frozen=True, slots=True)
class SntpConfig:
    """AT+CIPSNTPCFG's settings."""

    enabled: bool = False
    timezone: int = DEFAULT_TIMEZONE  # as given
    servers: tuple[str, ...] = ()  # none given: ESP-AT's defaults

    @property
    def offset(self) -> int:
        return utc_offset(self.timezone) or 0

    @property
    def shown_timezone(self) -> int:
        """What the query prints: the hours (a ``hhmm`` value loses its minutes)."""
        if -12 <= self.timezone <= 14:
            return self.timezone
        return int(self.timezone / 100)

    @property
    def effective_servers(self) -> tuple[str, ...]:
        return self.servers or DEFAULT_SERVERS

    def setting(self) -> SntpSetting:
        return self.enabled, self.timezone, self.servers

    @classmethod
    def stored(cls, saved: Mapping[str, SettingValue]) -> SntpConfig:
        enabled, timezone, servers = SNTP_CFG.read(saved)
        return cls(enabled, timezone, servers)


def ntp_request() -> bytes:
    """A client request as lwIP sends it: version 4, mode 3, every other field zero."""
    return bytes([(4 << 3) | 3]) + bytes(PACKET - 1)


def ntp_reply_time(reply: bytes) -> float | None:
    """The server's transmit time (Unix seconds) from an answer lwIP accepts: server mode
    (4), a stratum other than 0 (a kiss-o'-death), a transmit timestamp that is set."""
    if len(reply) < PACKET or reply[0] & 0x07 != 4 or reply[1] == 0:
        return None
    seconds, fraction = (int(x) for x in struct.unpack("!II", reply[40:48]))
    if seconds == 0:
        return None
    return float(seconds - NTP_EPOCH_OFFSET + fraction / 2**32)


class _Answer:
    """Datagram events of one request's socket: the first datagram from the server."""

    def __init__(self, ip: str, future: asyncio.Future[bytes]) -> None:
        self._ip = ip
        self._future = future

    def on_datagram(self, data: bytes, ip: str, port: int) -> None:
        if ip == self._ip and port == NTP_PORT and not self._future.done():
            self._future.set_result(data)


class Sntp:
    """The wall clock and SNTP client of one module (``module.sntp``)."""

    __slots__ = ("_got_ip", "_task", "config", "interval", "module")

    def __init__(self, module: Module) -> None:
        self.module = module
        self.config = SntpConfig()
        self.interval = DEFAULT_INTERVAL
        self._task: asyncio.Task[None] | None = None
        self._got_ip = LazyEvent()
        module.on_boot(self._boot)
        module.bus.subscribe(self._on_event, kinds=("wifi.got_ip",))

    # ------------------------------------------------------------------ the wall clock
    def wall_time(self) -> float:
        """Unix seconds of the module's system time."""
        system = self.module.system
        return system.timestamp_base + (self.module.clock.now() - system.timestamp_set_at)

    def set_wall_time(self, unix: float) -> None:
        system = self.module.system
        system.timestamp_base = unix
        system.timestamp_set_at = self.module.clock.now()

    def local_asctime(self) -> str:
        """The local time as C's ``asctime`` prints it (without its newline)."""
        local = int(self.wall_time()) + self.config.offset
        return time.asctime(time.gmtime(local))

    # ----------------------------------------------------------------- configuration
    def configure(self, config: SntpConfig) -> None:
        """AT+CIPSNTPCFG: keep it (across power cycles) and (re)start synchronising."""
        self.config = config
        self.module.persist(SNTP_CFG.entry(config.setting()), always=True)
        self._restart(announce=True)

    def set_interval(self, seconds: int) -> None:
        """AT+CIPSNTPINTV: the next synchronisations follow the new interval."""
        self.interval = seconds
        if self._task is not None and not self._task.done():
            self._restart(announce=False)

    def _boot(self) -> None:
        self.config = SntpConfig.stored(self.module.saved)
        self.interval = DEFAULT_INTERVAL
        self._task = None  # a reset ended the old one
        self._restart(announce=True)

    def _restart(self, *, announce: bool) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None
        if self.config.enabled:
            self._task = self.module.spawn(self._run(announce), name="sntp")

    def _on_event(self, event: Event) -> None:
        if event.kind == "wifi.got_ip":
            self._got_ip.set()

    # -------------------------------------------------------------------- the client
    async def _wait(self, seconds: float) -> None:
        if self.module.clock.scale > 0:
            await self.module.clock.sleep(seconds)
        else:
            await asyncio.sleep(seconds)

    async def _within(self, future: asyncio.Future[bytes], seconds: float) -> bool:
        if self.module.clock.scale > 0:
            return await self.module.clock.wait_for(future, seconds)
        try:
            await asyncio.wait_for(asyncio.shield(future), seconds)
        except TimeoutError:
            return False
        return True

    async def _run(self, announce: bool) -> None:
        while True:
            while self.module.wifi.station_ip() is None:
                self._got_ip.clear()
                await self._got_ip.wait()
            if await self._sync():
                if announce:
                    self.module.urc("+TIME_UPDATED")
                    announce = False
                await self._wait(self.interval)
            else:
                await self._wait(RETRY_INTERVAL)

    async def _sync(self) -> bool:
        network = network_of(self.module.radio)
        if network is None:
            return False
        for name in self.config.effective_servers:
            ip = await network.resolve(name)
            if ip is None:
                continue
            unix = await self._ask(network, ip)
            self.module.emit("net.sntp", server=name, ok=unix is not None)
            if unix is not None:
                self.set_wall_time(unix)
                return True
        return False

    async def _ask(self, network: Network, ip: str) -> float | None:
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        sock: Datagram | None = None
        try:
            sock = await network.open_datagram(0, _Answer(ip, future))
            await sock.send(ntp_request(), ip, NTP_PORT)
            if not await self._within(future, RECV_TIMEOUT):
                return None
            return ntp_reply_time(future.result())
        except (NetError, OSError):
            return None
        finally:
            future.cancel()
            if sock is not None:
                sock.close()
