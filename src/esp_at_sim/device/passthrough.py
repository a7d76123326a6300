"""Passthrough (AT+CIPMODE=1): the AT port and one link joined byte for byte.

With ``AT+CIPMODE=1`` whatever the link receives goes to the AT port as it is, without
``+IPD`` (passthrough receiving mode). ``AT+CIPSEND`` without parameters then prints
``>`` and everything the host sends is data for the link (passthrough mode), packed as
the firmware packs it (:mod:`.packer`: 2920 bytes at once, a shorter rest after
AT+TRANSINTVL milliseconds of silence); ``+++`` with its guard times leaves passthrough
mode (the link stays open). The port carries nothing but data
meanwhile: system messages (``WIFI GOT IP``...) are not printed.

If the link breaks while in passthrough mode, the module says nothing: as a client it
connects again every AT+CIPRECONNINTV until it succeeds or ``+++`` comes; as a server it
takes the next client that connects. Data sent while no link is there is lost.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..radio.network import NetError
from .links import Link
from .packer import Packer
from .servers import ServerConfig
from .settings_schema import SAVE_TRANS
from .tls import TlsSetupError, client_context

if TYPE_CHECKING:
    from .module import Module

PACKET_MAX = 2920  # bytes the module hands the network at most at a time
DEFAULT_INTERVAL = 20  # AT+TRANSINTVL, ms
RECONNECT_TIMEOUT = 5.0  # seconds one connect attempt of passthrough may take


@dataclass(frozen=True)
class Target:
    """Where a client link in passthrough connects again (its AT+CIPSTART); ``host`` is
    an address or a name."""

    kind: str
    host: str
    port: int
    local_port: int = 0


@dataclass(frozen=True)
class SavedLink:
    """AT+SAVETRANSLINK: passthrough at power-up as a client (``mode`` 1: ``host``,
    ``port``, ``extra`` the keep-alive, or the local port for UDP) or as a server
    (``mode`` 3: ``port``, ``extra`` the CA flag, ``netif``)."""

    mode: int
    kind: str
    host: str
    port: int
    extra: int = 0
    netif: int = 0

    def text(self) -> str:
        return f"{self.mode},{self.kind},{self.port},{self.extra},{self.netif},{self.host}"

    @classmethod
    def parse(cls, value: object) -> SavedLink | None:
        """The stored text back, ``None`` for anything else."""
        if not isinstance(value, str):
            return None
        parts = value.split(",", 5)
        if len(parts) != 6 or not all(p.isdigit() for p in (parts[0], *parts[2:5])):
            return None
        mode, kind, port, extra, netif, host = parts
        if mode not in ("1", "3") or kind not in ("TCP", "UDP", "SSL"):
            return None
        return cls(int(mode), kind, host, int(port), int(extra), int(netif))


class Passthrough:
    """The module's transmission mode (``module.passthrough``)."""

    __slots__ = (
        "_packer",
        "_packets",
        "_reconnect",
        "_saved_server",
        "_sender",
        "_target",
        "active",
        "interval",
        "link",
        "mode",
        "module",
    )

    def __init__(self, module: Module) -> None:
        self.module = module
        self.mode = 0  # AT+CIPMODE
        self.interval = DEFAULT_INTERVAL  # AT+TRANSINTVL
        self.active = False  # in passthrough mode (after AT+CIPSEND's ">")
        self.link: Link | None = None
        self._target: Target | None = None
        self._packer: Packer | None = None
        self._packets: deque[bytes] | None = None  # made at the first packet
        self._sender: asyncio.Task[None] | None = None
        self._reconnect: asyncio.Task[None] | None = None
        self._saved_server = False
        module.on_reset(self._on_reset)
        module.on_boot(self._on_boot)

    # ------------------------------------------------------------------ queries
    def candidate(self) -> Link | None:
        """The link passthrough would use: link 0 in single connection mode, the one
        client of a server limited to one client otherwise."""
        links = self.module.links
        if not self.module.net.mux:
            return links.get(0)
        servers = self.module.servers
        clients = [link for link in links.open_links() if link.server]
        if servers.running and servers.max_conn == 1 and len(clients) == 1:
            return clients[0]
        return None

    def owns(self, link: Link) -> bool:
        """Whether what ``link`` receives goes to the AT port raw."""
        if self.mode != 1:
            return False
        if self.active:
            return link is self.link
        return link is self.candidate()

    # ---------------------------------------------------------------- entering
    def enter(self, link: Link) -> None:
        """Passthrough mode on ``link`` (the ``>`` has been printed)."""
        target = None
        if not link.server:
            target = Target(link.kind, link.remote_ip, link.remote_port, link.local_port)
        self._start(link, target)

    def _start(self, link: Link | None, target: Target | None) -> None:
        self.active = True
        self.link = link
        self._target = target
        if self._packer is not None:
            self._packer.stop()
        self._packer = Packer(self.module, PACKET_MAX, self.interval, self._packet, self.leave)
        self.module.emit("net.passthrough", on=True, link=link.id if link else None)
        self.module.expect_stream(self._packer.feed, quiet=True)

    # ------------------------------------------------------- AT+SAVETRANSLINK
    def save(self, saved: SavedLink | None) -> None:
        """Store the power-up passthrough link (``None``: none); it applies at boot."""
        entry = SAVE_TRANS.entry(saved.text()) if saved else SAVE_TRANS.cleared()
        self.module.persist(entry, always=True)

    def _on_boot(self) -> None:
        saved = SavedLink.parse(SAVE_TRANS.read(self.module.saved))
        if saved is None:
            return
        self.mode = 1
        if saved.mode == 1:
            if saved.kind != "UDP" and saved.extra:
                self.module.net.set_keep_alive(0, saved.extra)
            local = saved.extra if saved.kind == "UDP" else 0
            self._start(None, Target(saved.kind, saved.host, saved.port, local))
            self.link_lost(None)
            return
        self.module.net.mux = True
        self.module.servers.max_conn = 1
        self._saved_server = True
        self._start(None, None)
        config = ServerConfig(saved.port, saved.kind, saved.extra, saved.netif)
        self.module.spawn(self._serve(config), name="passthrough-server")

    async def _serve(self, config: ServerConfig) -> None:
        servers = self.module.servers
        tls = None
        if config.kind == "SSL":
            tls = servers.tls_factory(bool(config.ca)) if servers.tls_factory else None
            if tls is None:
                self.module.emit("net.passthrough_failed", port=config.port, why="no certificate")
                return
        try:
            await servers.start(config, tls)
        except OSError as exc:
            self.module.emit("net.passthrough_failed", port=config.port, why=str(exc))

    # ------------------------------------------------------------ host → link
    def _packet(self, packet: bytes) -> None:
        if self._packets is None:
            self._packets = deque()
        self._packets.append(packet)
        if self._sender is None or self._sender.done():
            self._sender = self.module.spawn(self._send_packets(), name="passthrough-send")

    async def _send_packets(self) -> None:
        while self._packets:
            packet = self._packets.popleft()
            link = self.link
            if link is None or self.module.links.get(link.id) is not link:
                self.module.emit("net.passthrough_lost", size=len(packet))
                continue
            try:
                await self.module.links.send(link, packet)
            except NetError:
                self.module.emit("net.passthrough_lost", size=len(packet))

    # ------------------------------------------------------------ link → host
    def deliver(self, data: bytes) -> None:
        """Data the passthrough link received, to the AT port as it is."""
        engine = self.module.engine
        if self.active:
            engine.raw(data)
        else:
            engine.notify(data)
        self.module.flush()

    def link_lost(self, link: Link | None) -> None:
        """The passthrough link broke while in passthrough mode: connect again (client)
        or wait for the server's next client."""
        if self._target is not None and (self._reconnect is None or self._reconnect.done()):
            self._reconnect = self.module.spawn(self._connect_again(), name="passthrough-reconnect")

    def adopt(self, link: Link) -> bool:
        """A server client that arrives while passthrough waits for one takes its place."""
        if not self.active or self._target is not None:
            return False
        current = self.link
        if current is not None and self.module.links.get(current.id) is current:
            return False
        self.link = link
        return True

    async def _connect_again(self) -> None:
        target = self._target
        assert target is not None
        links = self.module.links
        network = links.network
        while self.active and network is not None:
            await self.module.clock.sleep(self.module.net.reconn_interval / 10)
            if not self.active or links.get(0) is not None:
                return
            if self.module.wifi.station_ip() is None:
                continue
            ip = await network.resolve(target.host)
            if ip is None:
                continue
            link = Link(0, target.kind, ip, target.port, target.local_port)
            events = links.add(link)
            try:
                if target.kind == "UDP":
                    link.datagram = await network.open_datagram(target.local_port, events)
                    link.local_port = target.local_port or link.datagram.local_port
                else:
                    tls, sni = (
                        client_context(self.module, 0) if target.kind == "SSL" else (None, None)
                    )
                    link.stream = await network.open_stream(
                        ip,
                        target.port,
                        events,
                        timeout=RECONNECT_TIMEOUT,
                        tls=tls,
                        server_hostname=sni,
                    )
                    link.local_port = link.stream.local_port
            except (NetError, OSError, TlsSetupError):
                links.close(0)
                continue
            if not self.active:
                links.close(0)
                return
            self.link = link
            self.module.emit("net.passthrough_connected", remote=ip, port=target.port)
            return

    # ---------------------------------------------------------------- leaving
    def leave(self) -> None:
        """Passthrough mode ends (``+++``): pending data goes out, the AT port takes
        commands again."""
        if not self.active:
            return
        if self._packer is not None:
            self._packer.flush()
            self._packer.stop()
            self._packer = None
        if self._reconnect is not None and self._reconnect is not asyncio.current_task():
            self._reconnect.cancel()
        self._reconnect = None
        self.active = False
        self._target = None
        if self._saved_server:  # the server goes on in normal transmission mode
            self._saved_server = False
            self.mode = 0
        self.module.emit("net.passthrough", on=False)
        self.module.end_stream()

    async def _on_reset(self) -> None:
        self.active = False
        self.link = None
        self._target = None
        if self._packer is not None:
            self._packer.stop()
            self._packer = None
        if self._packets is not None:
            self._packets.clear()
        self._saved_server = False
        self.mode = 0
        self.interval = DEFAULT_INTERVAL
