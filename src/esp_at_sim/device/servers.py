"""The module's TCP server (AT+CIPSERVER), its connection limit and idle timeout.

One server at most, on a port of the module. It really listens on this machine, on the
host port the port rule gives (:meth:`Servers.expose`: below 1024 → +8000 unless a port
map says otherwise), and says where in one line (``Server <port>: tcp://HOST:PORT``).
Each client that connects takes the lowest free link ID and is announced with
``<id>,CONNECT``; a client beyond AT+CIPSERVERMAXCONN, or when every link ID is taken,
is closed at once. A server client that neither sends nor receives for AT+CIPSTO seconds
(of the module's clock, :mod:`.hosttime`) is closed with ``<id>,CLOSED``.

Clients reach the server only while the module has an address (a station IP, or its
SoftAP up); they appear with the address this machine gives them (loopback).
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from ..core.events import Event
from ..core.lazy import LazyEvent
from ..radio.network import Listener, Stream, StreamEvents
from .hosttime import host_now, host_wait
from .links import Link

if TYPE_CHECKING:
    from .module import Module

DEFAULT_PORT = 333
DEFAULT_TIMEOUT = 180  # AT+CIPSTO, seconds
DEFAULT_MAX_CONN = 5  # AT+CIPSERVERMAXCONN
Announce = Callable[[str], None]
# The TLS context of an SSL server (``ca``: ask the client for its certificate); None
# when the module has no server certificate. Set by whoever provides the module's PKI.
TlsFactory = Callable[[bool], ssl.SSLContext | None]


@runtime_checkable
class ListenExposure(Protocol):
    """A network whose listeners can be placed on a host address and port rule."""

    def expose(self, host: str, port_map: Callable[[int], int]) -> None: ...


@dataclass(frozen=True)
class ServerConfig:
    """What AT+CIPSERVER? reports."""

    port: int
    kind: str = "TCP"
    ca: int = 0
    netif: int = 0

    def fields(self) -> str:
        return f'{self.port},"{self.kind}",{self.ca},{self.netif}'


class Servers:
    """The module's server state (``module.servers``)."""

    __slots__ = (
        "_activity",
        "_listener",
        "_wake",
        "_watcher",
        "announce",
        "config",
        "max_conn",
        "module",
        "timeout",
        "tls_factory",
    )

    def __init__(self, module: Module) -> None:
        self.module = module
        self.config: ServerConfig | None = None
        self.max_conn = DEFAULT_MAX_CONN
        self.timeout = DEFAULT_TIMEOUT
        self.announce: Announce | None = None
        self.tls_factory: TlsFactory | None = None
        self._listener: Listener | None = None
        self._activity: dict[int, float] = {}  # server link ID → last time data moved
        self._wake = LazyEvent()
        self._watcher: asyncio.Task[None] | None = None
        module.on_reset(self._on_reset)
        module.bus.subscribe(self._on_event, kinds=("net.rx", "net.tx", "net.close"))

    # ------------------------------------------------------------------ queries
    @property
    def running(self) -> bool:
        return self.config is not None

    @property
    def address(self) -> tuple[str, int] | None:
        """Where the server really listens on this machine."""
        return self._listener.address if self._listener is not None else None

    def expose(self, host: str, port_map: Callable[[int], int], announce: Announce | None) -> None:
        """Listen on ``host``, on the host port ``port_map`` gives for a module port (0:
        any free port), and tell ``announce`` where each server listens."""
        network = self.module.links.network
        if isinstance(network, ListenExposure):
            network.expose(host, port_map)
        self.announce = announce

    # ---------------------------------------------------------------- changes
    async def start(self, config: ServerConfig, tls: ssl.SSLContext | None) -> None:
        """Listen; ``OSError`` when this machine refuses the port."""
        network = self.module.links.network
        if network is None:
            raise OSError("this radio carries no data")
        self._listener = await network.listen(config.port, self._accept, tls=tls)
        self.config = config
        host, port = self._listener.address
        scheme = "ssl" if tls is not None else "tcp"
        self.module.emit("net.listen", port=config.port, host=host, host_port=port)
        if self.announce is not None:
            self.announce(f"Server {config.port}: {scheme}://{host}:{port}")
        self._watcher = self.module.spawn(self._watch(), name="cipsto")

    def stop(self, close_clients: bool) -> list[int]:
        """Stop listening; with ``close_clients`` close the links it accepted too (their
        IDs, in order)."""
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        self.config = None
        if self._watcher is not None:
            self._watcher.cancel()
            self._watcher = None
        self.module.emit("net.unlisten")
        if not close_clients:
            return []
        closed = [link.id for link in self.module.links.open_links() if link.server]
        for link_id in closed:
            self.module.links.close(link_id)
        return closed

    def set_timeout(self, seconds: int) -> None:
        self.timeout = seconds
        now = self._now()
        for link_id in self._activity:
            self._activity[link_id] = now
        self._wake.set()

    def _accept(self, stream: Stream, ip: str, port: int) -> StreamEvents | None:
        links = self.module.links
        config = self.config
        if config is None:
            return None
        clients = sum(1 for link in links.open_links() if link.server)
        link_id = links.free_id()
        wifi = self.module.wifi
        has_ip = wifi.station_ip() is not None or (wifi.has_ap and wifi.ap.address.ip != "0.0.0.0")
        if link_id is None or clients >= self.max_conn or not has_ip:
            self.module.emit("net.refused", port=config.port, remote=ip, clients=clients)
            return None
        over_station = wifi.station_ip() is not None
        link = Link(link_id, config.kind, ip, port, config.port, server=True, stream=stream)
        link.over_station = over_station
        events = links.add(link)
        self._activity[link_id] = self._now()
        self._wake.set()
        if not self.module.passthrough.adopt(link):
            self.module.urc(f"{link_id},CONNECT")
        return events

    # ------------------------------------------------------------ idle timeout
    def _on_event(self, event: Event) -> None:
        if event.kind in ("net.rx", "net.tx"):
            link_id = event.data.get("link")
            if isinstance(link_id, int) and link_id in self._activity:
                self._activity[link_id] = self._now()
        elif event.kind == "net.close":
            self._activity.pop(event.data.get("link"), None)  # type: ignore[arg-type]

    def _now(self) -> float:
        return host_now(self.module.clock)

    async def _wait_wake(self, seconds: float) -> None:
        wake = asyncio.ensure_future(self._wake.wait())
        try:
            await host_wait(self.module.clock, wake, seconds)
        finally:
            wake.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await wake

    async def _watch(self) -> None:
        while True:
            self._wake.clear()
            links = self.module.links
            for link_id in list(self._activity):
                link = links.get(link_id)
                if link is None or not link.server:
                    self._activity.pop(link_id, None)
            if not self.timeout or not self._activity:
                await self._wake.wait()
                continue
            now = self._now()
            expired = [i for i, t in self._activity.items() if now - t >= self.timeout]
            for link_id in expired:
                self._activity.pop(link_id, None)
                if links.close(link_id):
                    self.module.emit("net.idle_timeout", link=link_id)
                    self.module.urc(f"{link_id},CLOSED")
            if expired:
                continue
            await self._wait_wake(min(self._activity.values()) + self.timeout - now)

    async def _on_reset(self) -> None:
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        self.config = None
        self._watcher = None
        self._activity.clear()
        self.max_conn = DEFAULT_MAX_CONN
        self.timeout = DEFAULT_TIMEOUT
