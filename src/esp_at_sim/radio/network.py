"""The network capability: what the module's TCP/IP stack asks of the world around it.

A radio backend that can carry data offers a :class:`Network` as its ``network``
attribute (see :func:`network_of`). The device layer opens streams (TCP, or TLS on top),
datagram sockets and listeners through it and never touches a socket itself; the
simulated backend (:mod:`esp_at_sim.radio.simnet`) implements it with asyncio sockets on
a sandboxed network.

Addresses are as the module sees them: the remote of a stream is the address the module
asked for (``203.0.113.10``), wherever the route really leads on this machine.
"""

from __future__ import annotations

import enum
import ssl
from collections.abc import Callable
from typing import Protocol, runtime_checkable


class NetFailure(enum.Enum):
    """Why opening or using a connection failed."""

    UNREACHABLE = "unreachable"  # no route, no internet: nothing answers until the timeout
    REFUSED = "refused"  # the remote answered with a reset
    TLS = "tls"  # the TLS handshake failed
    CLOSED = "closed"  # the connection ended while sending


class NetError(Exception):
    """A network operation failed; ``failure`` says why."""

    def __init__(self, failure: NetFailure, reason: str = "") -> None:
        super().__init__(reason or failure.value)
        self.failure = failure


class StreamEvents(Protocol):
    """What a stream reports: data as it arrives, then its end (once)."""

    def on_data(self, data: bytes) -> None: ...

    def on_closed(self) -> None: ...


class DatagramEvents(Protocol):
    """What a datagram socket reports: each datagram with its sender."""

    def on_datagram(self, data: bytes, ip: str, port: int) -> None: ...


class Stream(Protocol):
    """A TCP (or TLS) connection."""

    local_port: int

    async def send(self, data: bytes) -> None:
        """Hand ``data`` to the network; :class:`NetError` when the stream is gone."""

    def pause_reading(self) -> None:
        """Stop reporting data (the receive window is full) until :meth:`resume_reading`."""

    def resume_reading(self) -> None: ...

    def close(self) -> None:
        """End the connection; no ``on_closed`` follows a close we make ourselves."""


class Datagram(Protocol):
    """A UDP socket."""

    local_port: int

    async def send(self, data: bytes, ip: str, port: int) -> None: ...

    def close(self) -> None: ...


class Listener(Protocol):
    """A listening TCP (or TLS) socket; ``address`` is where it really listens."""

    address: tuple[str, int]

    def close(self) -> None: ...


# A new incoming stream, with the remote as the module sees it; return its events.
AcceptCallback = Callable[[Stream, str, int], StreamEvents | None]


@runtime_checkable
class Network(Protocol):
    """The data path of one module."""

    async def resolve(self, name: str) -> str | None:
        """The IPv4 address of a name (or of a dotted quad), ``None`` when it does not
        resolve."""

    async def open_stream(
        self,
        ip: str,
        port: int,
        events: StreamEvents,
        *,
        timeout: float,
        tls: ssl.SSLContext | None = None,
        server_hostname: str | None = None,
    ) -> Stream:
        """Connect to ``ip:port`` within ``timeout`` simulated seconds; :class:`NetError`
        when that fails."""

    async def open_datagram(self, local_port: int, events: DatagramEvents) -> Datagram:
        """A UDP socket for the module's ``local_port`` (0: any)."""

    async def listen(
        self, port: int, accept: AcceptCallback, *, tls: ssl.SSLContext | None = None
    ) -> Listener:
        """Accept connections for the module's ``port``; ``OSError`` when it cannot."""


@runtime_checkable
class Pinger(Protocol):
    """A network that answers ICMP echo requests."""

    async def ping(self, ip: str, timeout: float, *, local: bool = False) -> float | None:
        """The round trip to ``ip`` in simulated seconds, or ``None`` after ``timeout``
        when nothing answers. ``local``: ``ip`` is on the module's own LAN (its
        gateway), reachable without internet."""


@runtime_checkable
class RouteControl(Protocol):
    """A network whose routes can be added while it runs (the pytest plugin's)."""

    def add_route(self, dest: str, port: int | None, target: tuple[str, int]) -> str:
        """Route ``dest`` (an address, or a name that then resolves to a free test
        address) on ``port`` (``None``: any) to ``target`` on this machine; the
        address the module sees."""


@runtime_checkable
class NetFaultControl(Protocol):
    """A network that takes injected faults on its data path. A destination is
    ``ADDR[:PORT]`` as the module sees it; ``ValueError`` for a malformed one."""

    def refuse(self, dest: str, on: bool = True) -> None: ...

    def blackhole(self, dest: str, on: bool = True) -> None: ...

    def stall(self, dest: str, on: bool = True) -> None: ...

    def close_all(self) -> int:
        """End every open stream as a remote reset would; how many there were."""


@runtime_checkable
class HasNetwork(Protocol):
    """A radio backend that carries data."""

    @property
    def network(self) -> Network: ...


def network_of(radio: object) -> Network | None:
    """The radio's network capability, ``None`` for a radio without one."""
    return radio.network if isinstance(radio, HasNetwork) else None
