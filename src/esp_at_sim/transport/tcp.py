"""The AT port on a TCP socket: raw bytes, one client at a time.

A second client that connects while one is attached is closed at once (the port is a
single UART). Output while nobody is connected is lost. Port 0 picks a free port;
:meth:`TcpTransport.describe` reports the real one.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING, cast

from ..core.acceptor import Acceptor, listen
from ..core.lazy import LazyEvent
from ..core.turns import give_priority
from .base import Transport, TransportError

if TYPE_CHECKING:
    from ..device.module import Module

log = logging.getLogger(__name__)

# Output held for a client that does not read: beyond this the UART "overflows" and the
# surplus is lost instead of piling up in memory.
MAX_BUFFERED = 256 * 1024
# Bytes read at once when the port's input is served ahead of the loop's turn.
READ_SIZE = 64 * 1024


class _Client(asyncio.Protocol):
    def __init__(self, owner: TcpTransport) -> None:
        self.owner = owner
        self.transport: asyncio.Transport | None = None
        self._fd = -1
        self._revoke: Callable[[], None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # a stream transport (uvloop's are not subclasses of asyncio.Transport)
        transport = cast(asyncio.Transport, transport)
        if self.owner._client is not None or self.owner._closing:
            log.info("AT port busy: refusing %s", transport.get_extra_info("peername"))
            transport.abort()
            return
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if sock is not None and self.owner._module is not None:
            self._fd = sock.fileno()
            self._revoke = give_priority(self.owner._module, self._fd, self._serve_waiting)
        self.owner._client = self
        self.owner._client_changed()
        if self.owner._bridge is not None and self.owner._bridge.paused:
            transport.pause_reading()  # input from the last client still waits

    def data_received(self, data: bytes) -> None:
        if self.owner._client is self and self.owner._bridge is not None:
            self.owner._bridge.receive(data)

    def _serve_waiting(self) -> None:
        """Bytes wait on the socket while other work of the loop runs: read them now
        and hand them on (core/turns.py, PriorityInput), unless input read before still
        waits for its turn or reading is paused."""
        transport, bridge = self.transport, self.owner._bridge
        if self.owner._client is not self or bridge is None or bridge.waiting:
            return
        if transport is None or transport.is_closing() or not transport.is_reading():
            return
        try:
            data = os.read(self._fd, READ_SIZE)
        except OSError:  # nothing after all, or an error the transport's read will see
            return
        if data:  # (an end of stream is left to the transport)
            bridge.receive(data)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._revoke is not None:
            self._revoke()
            self._revoke = None
        if self.owner._acceptor is not None:
            self.owner._acceptor.restore()  # its descriptor is free: the spare again
        if self.owner._client is self:
            self.owner._client = None
            self.owner._client_changed()
            if self.owner._bridge is not None:
                self.owner._bridge.drop_output()

    def write(self, data: bytes) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        if self.transport.get_write_buffer_size() > MAX_BUFFERED:
            return  # the client is not reading: the bytes are lost, as on an overrun
        self.transport.write(data)

    def write_parts(self, parts: list[bytes]) -> None:
        """Several answers in one write; each is kept or lost as :meth:`write` would."""
        if self.transport is None or self.transport.is_closing():
            return
        held = self.transport.get_write_buffer_size()
        kept = 0
        for part in parts:
            if held > MAX_BUFFERED:
                break  # the client is not reading: this answer and the rest are lost
            held += len(part)
            kept += 1
        if kept:
            self.transport.write(b"".join(parts[:kept]) if kept > 1 else parts[0])


class TcpTransport(Transport):
    """``tcp:HOST:PORT``: a listening socket for one AT client."""

    def __init__(self, host: str, port: int, *, paced: bool = False) -> None:
        super().__init__(paced=paced)
        self.host = host
        self.port = port
        self._acceptor: Acceptor | None = None
        self._client: _Client | None = None
        self._closing = False
        self._change = LazyEvent()  # a fleet's modules rarely wait on it
        self._module: Module | None = None

    @property
    def connected(self) -> bool:
        return self._client is not None

    @property
    def address(self) -> tuple[str, int]:
        """Where the server listens (the real port when 0 was asked for)."""
        return self.host, self.port

    async def start(self, module: Module) -> None:
        self._module = module
        bridge = self._make_bridge(
            module, self._write, flow=self._flow, write_parts=self._write_parts
        )
        try:
            sock = listen(self.host, self.port)
        except OSError as exc:
            raise TransportError(f"cannot listen on {self.host}:{self.port}: {exc}") from exc
        self.port = sock.getsockname()[1]
        # the AT port keeps a spare descriptor: at the open-file limit (an HTTP flood) its
        # next client still gets in
        self._acceptor = Acceptor(sock, lambda: _Client(self), "AT port", reserve=True)
        self._acceptor.start()
        bridge.attach()

    def describe(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"AT port: tcp://{host}:{self.port}"

    def _write(self, data: bytes) -> None:
        if self._client is not None:
            self._client.write(data)

    def _write_parts(self, parts: list[bytes]) -> None:
        if self._client is not None:
            self._client.write_parts(parts)

    def _flow(self, paused: bool) -> None:
        client = self._client
        if client is None or client.transport is None or client.transport.is_closing():
            return
        if paused:
            client.transport.pause_reading()
        else:
            client.transport.resume_reading()

    def _client_changed(self) -> None:
        self._change.set()

    async def wait_connected(self, state: bool = True) -> None:
        """Wait until a client is (or, with ``state=False``, is no longer) attached."""
        while self.connected != state:
            self._change.clear()
            await self._change.wait()

    async def close(self) -> None:
        self._closing = True
        await self._close_bridge()
        client = self._client
        if client is not None and client._revoke is not None:
            client._revoke()
        if client is not None and client.transport is not None:
            client.transport.abort()
        self._client = None
        acceptor, self._acceptor = self._acceptor, None
        if acceptor is not None:
            await acceptor.close()
