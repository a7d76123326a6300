"""The module's connections: link IDs 0..4 and what arrives on them.

Each open connection holds a link ID (always 0 in single-connection mode). Data from the
remote is reported at once as ``+IPD`` (active receive, at most 2920 bytes each) or kept
in a buffer of 5760 bytes that the host reads with AT+CIPRECVDATA (passive receive,
announced once by ``+IPD,<id>,<len>`` until read). A connection the remote ends prints
``CLOSED`` (``<id>,CLOSED``), held back in passive mode while unread data remains.

Sockets belong to the radio backend's network capability
(:class:`~esp_at_sim.radio.network.Network`); this module only keeps the table.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..core.events import Event
from ..radio.network import Datagram, Network, Stream, network_of
from .net import MAX_LINKS

if TYPE_CHECKING:
    from .module import Module

IPD_MAX = 2920  # bytes of payload in one +IPD
PASSIVE_WINDOW = 5760  # the socket receive window that passive mode buffers
SEND_MAX = 8192  # AT+CIPSEND's and AT+CIPSENDEX's longest data


@dataclass
class Link:
    """One connection as AT+CIPSTATE shows it, with its receive state."""

    id: int
    kind: str  # "TCP", "UDP" or "SSL"
    remote_ip: str
    remote_port: int
    local_port: int
    server: bool = False  # accepted by AT+CIPSERVER (<tetype> 1)
    stream: Stream | None = None
    datagram: Datagram | None = None
    udp_mode: int = 0
    udp_moved: bool = False  # <mode> 1: the remote has moved to another sender once
    buffer: bytearray = field(default_factory=bytearray)  # passive: the receive window
    backlog: bytearray = field(default_factory=bytearray)  # passive TCP: beyond the window
    notified: bool = False  # passive: +IPD reported, not read since
    remote_closed: bool = False  # passive: CLOSED held back while data remains
    # passive UDP: each datagram in ``buffer``, in order (its size and its sender)
    datagrams: deque[tuple[int, str, int]] = field(default_factory=deque)
    over_station: bool = True
    sent: int = 0  # bytes sent on the link
    received: int = 0  # bytes that arrived on it (read or not)

    def state_fields(self) -> str:
        return (
            f'{self.id},"{self.kind}","{self.remote_ip}",{self.remote_port},'
            f"{self.local_port},{int(self.server)}"
        )


class _Events:
    """What the network reports for one link, handed to the table."""

    def __init__(self, links: Links, link: Link) -> None:
        self._links = links
        self._link = link

    def on_data(self, data: bytes) -> None:
        self._links.received(self._link, data)

    def on_closed(self) -> None:
        self._links.remote_closed(self._link)

    def on_datagram(self, data: bytes, ip: str, port: int) -> None:
        link = self._link
        other = (ip, port) != (link.remote_ip, link.remote_port)
        if link.udp_mode == 2 or (link.udp_mode == 1 and other and not link.udp_moved):
            link.udp_moved = link.udp_moved or other
            link.remote_ip, link.remote_port = ip, port
        self._links.received(link, data, (ip, port))


class Links:
    """The link table of one module (``module.links``)."""

    __slots__ = ("_slots", "ever_opened", "module")

    def __init__(self, module: Module) -> None:
        self.module = module
        self._slots: list[Link | None] = [None] * MAX_LINKS
        self.ever_opened = False
        module.on_reset(self._on_reset)
        module.bus.subscribe(self._on_event, kinds=("wifi.disconnected", "wifi.link_lost"))

    # ------------------------------------------------------------------ queries
    @property
    def network(self) -> Network | None:
        return network_of(self.module.radio)

    def get(self, link_id: int) -> Link | None:
        return self._slots[link_id] if 0 <= link_id < MAX_LINKS else None

    def open_links(self) -> list[Link]:
        return [link for link in self._slots if link is not None]

    def count(self) -> int:
        return len(self.open_links())

    def free_id(self) -> int | None:
        return next((i for i, link in enumerate(self._slots) if link is None), None)

    def status_code(self) -> int:
        """AT+CIPSTATUS's ``<stat>``: 3 with a connection, 4 once all have closed."""
        code = self.module.wifi.cipstatus_code()
        if code != 2:
            return code
        if self.count():
            return 3
        return 4 if self.ever_opened else 2

    # ---------------------------------------------------------------- changes
    def add(self, link: Link) -> _Events:
        self._slots[link.id] = link
        self.ever_opened = True
        self.module.emit(
            "net.connect",
            link=link.id,
            type=link.kind,
            remote=link.remote_ip,
            port=link.remote_port,
            server=link.server,
        )
        return _Events(self, link)

    def prefix(self, link: Link) -> str:
        return f"{link.id}," if self.module.net.mux else ""

    def close(self, link_id: int) -> bool:
        """Close a link we end ourselves (AT+CIPCLOSE); ``False`` when none is open."""
        link = self.get(link_id)
        if link is None:
            return False
        self._drop(link)
        return True

    def _drop(self, link: Link) -> None:
        if self._slots[link.id] is link:
            self._slots[link.id] = None
        if link.stream is not None:
            link.stream.close()
        if link.datagram is not None:
            link.datagram.close()
        self.module.emit("net.close", link=link.id)

    def remote_closed(self, link: Link) -> None:
        """The remote ended the connection (or a fault did): ``CLOSED`` unless unread
        passive data holds it back."""
        if self._slots[link.id] is not link:
            return
        passthrough = self.module.passthrough
        if passthrough.active and link is passthrough.link:
            self._drop(link)  # silently: passthrough mode connects again
            passthrough.link_lost(link)
            return
        if link.buffer or link.backlog:
            link.remote_closed = True
            return
        self._drop(link)
        self.module.urc(f"{self.prefix(link)}CLOSED")

    def close_station_links(self) -> None:
        """The station lost its link or its address: its connections end."""
        passthrough = self.module.passthrough
        persist = self.module.net.conn_persist
        for link in self.open_links():
            if link.over_station and not (link.kind != "UDP" and persist[link.id]):
                self._drop(link)
                if passthrough.active and link is passthrough.link:
                    passthrough.link_lost(link)
                else:
                    self.module.urc(f"{self.prefix(link)}CLOSED")

    async def _on_reset(self) -> None:
        for link in self.open_links():
            self._drop(link)

    def _on_event(self, event: Event) -> None:
        if event.kind in ("wifi.disconnected", "wifi.link_lost") and self.count():
            # after the WIFI DISCONNECT line that follows this event
            asyncio.get_running_loop().call_soon(self.close_station_links)

    # ------------------------------------------------------------------ data
    async def send(self, link: Link, data: bytes, to: tuple[str, int] | None = None) -> None:
        """Send on a link; :class:`~esp_at_sim.radio.network.NetError` on failure."""
        if link.stream is not None:
            await link.stream.send(data)
        elif link.datagram is not None:
            ip, port = to or (link.remote_ip, link.remote_port)
            await link.datagram.send(data, ip, port)
        link.sent += len(data)
        self.module.emit("net.tx", link=link.id, size=len(data))

    def received(self, link: Link, data: bytes, source: tuple[str, int] | None = None) -> None:
        if self._slots[link.id] is not link:
            return
        link.received += len(data)
        self.module.emit("net.rx", link=link.id, size=len(data))
        if self.module.passthrough.owns(link):
            self.module.passthrough.deliver(data)
            return
        if self.module.net.recv_types[link.id] == 1:
            self._buffer(link, data, source)
            return
        ip, port = source or (link.remote_ip, link.remote_port)
        for start in range(0, len(data), IPD_MAX):
            chunk = data[start : start + IPD_MAX]
            info = f',"{ip}",{port}' if self.module.net.dinfo else ""
            head = f"\r\n+IPD,{self.prefix(link)}{len(chunk)}{info}:".encode()
            self.module.notify(head + chunk, size=len(chunk))

    def _buffer(self, link: Link, data: bytes, source: tuple[str, int] | None) -> None:
        if link.stream is None:  # UDP: what does not fit the window is lost
            kept = data[: PASSIVE_WINDOW - len(link.buffer)]
            if kept:
                link.buffer += kept
                link.datagrams.append((len(kept), *(source or (link.remote_ip, link.remote_port))))
        else:  # TCP: the rest waits in the socket and holds the sender back
            link.backlog += data
            self._fill(link)
        self._announce(link)

    def _fill(self, link: Link) -> None:
        room = PASSIVE_WINDOW - len(link.buffer)
        link.buffer += link.backlog[:room]
        del link.backlog[:room]
        if link.stream is not None:
            if link.backlog:
                link.stream.pause_reading()
            else:
                link.stream.resume_reading()

    def _announce(self, link: Link) -> None:
        if link.buffer and not link.notified:
            link.notified = True
            self.module.urc(f"+IPD,{self.prefix(link)}{self.pending(link)}")

    def pending(self, link: Link) -> int:
        """The length ``+IPD`` and AT+CIPRECVLEN report: the bytes buffered, or with
        AT+CIPRECVTYPE's <data_len_report_mode> 1 a UDP link's next datagram."""
        if self.module.net.recv_reports[link.id] and link.datagrams:
            return link.datagrams[0][0]
        return len(link.buffer)

    def read(self, link: Link, size: int, *, whole: bool = False) -> tuple[bytes, str, int]:
        """Take up to ``size`` buffered bytes (AT+CIPRECVDATA), with the sender of the
        first of them; ``whole``: exactly the next datagram of a UDP link, ``ValueError``
        when it is longer than ``size``."""
        ip, port = link.remote_ip, link.remote_port
        if link.datagrams:
            first, ip, port = link.datagrams[0]
            if whole:
                if first > size:
                    raise ValueError(f"the next datagram has {first} bytes")
                size = first
        data = bytes(link.buffer[:size])
        del link.buffer[:size]
        left = len(data)
        while left and link.datagrams:
            length, sender, sender_port = link.datagrams.popleft()
            if length > left:
                link.datagrams.appendleft((length - left, sender, sender_port))
            left = max(0, left - length)
        link.notified = False
        if link.backlog:
            self._fill(link)
            asyncio.get_running_loop().call_soon(self._announce, link)
        if not link.buffer and not link.backlog and link.remote_closed:
            asyncio.get_running_loop().call_soon(self.remote_closed, link)
        return data, ip, port
