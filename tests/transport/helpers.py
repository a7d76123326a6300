"""A module served over each transport, with a client on the other end.

The ``port`` fixture (conftest.py) is parametrized over every transport: ``memory`` (the test calls
the transport directly), ``pty`` (a real pyserial client on the slave), ``tcp`` (an
asyncio client on 127.0.0.1) and ``serial`` (the ``serial:`` transport opens one side of
a PTY pair the test creates; the test talks on the other side). The module runs at time
scale 0, so nothing waits on real time but the I/O itself.
"""

from __future__ import annotations

import asyncio
import os
from typing import Protocol

import serial

from esp_at_sim.device.module import Module
from esp_at_sim.factory import create_module
from esp_at_sim.transport import (
    MemoryTransport,
    PtyTransport,
    SerialTransport,
    TcpTransport,
    Transport,
)

TIMEOUT = 5.0
KINDS = ("memory", "pty", "tcp", "serial")
# Transports where a client can go away and come back.
RECONNECTABLE = ("memory", "pty", "tcp")


class Inbox:
    """Bytes a client has received, and a way to wait for more."""

    def __init__(self) -> None:
        self.data = bytearray()
        self._more = asyncio.Event()

    def add(self, chunk: bytes) -> None:
        self.data += chunk
        self._more.set()

    async def read_until(self, marker: bytes, timeout: float = TIMEOUT) -> bytes:
        async def wait() -> bytes:
            while (index := self.data.find(marker)) < 0:
                self._more.clear()
                await self._more.wait()
            out = bytes(self.data[: index + len(marker)])
            del self.data[: index + len(marker)]
            return out

        try:
            return await asyncio.wait_for(wait(), timeout)
        except TimeoutError:
            raise AssertionError(f"{marker!r} never came; got {bytes(self.data)!r}") from None

    def take(self) -> bytes:
        out = bytes(self.data)
        self.data.clear()
        return out


class Client(Protocol):
    @property
    def inbox(self) -> Inbox | MemoryTransport: ...

    async def connect(self) -> None: ...
    async def send(self, data: bytes) -> None: ...
    async def disconnect(self) -> None: ...


class MemoryClient:
    """The test plays the client by calling the transport (its buffer is the inbox)."""

    def __init__(self, transport: MemoryTransport) -> None:
        self.transport = transport

    @property
    def inbox(self) -> MemoryTransport:
        return self.transport

    async def connect(self) -> None:
        self.transport.connected = True

    async def send(self, data: bytes) -> None:
        self.transport.send(data)

    async def disconnect(self) -> None:
        self.transport.connected = False


class PySerialClient:
    """A host driver's view: pyserial on the PTY's slave path.

    With ``plain=True`` the slave is opened as ``cat`` or ``screen`` would open it,
    without pyserial's flush of the input queue, so stale bytes would show.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.inbox = Inbox()
        self.plain = False
        self.port: serial.Serial | None = None
        self.fd = -1

    async def connect(self) -> None:
        if self.plain:
            self.fd = os.open(self.path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        else:
            self.port = serial.Serial(self.path, 115200, timeout=0)
            self.fd = self.port.fileno()
        asyncio.get_running_loop().add_reader(self.fd, self._readable)

    def _readable(self) -> None:
        data = self.port.read(4096) if self.port is not None else os.read(self.fd, 4096)
        if data:
            self.inbox.add(data)

    async def send(self, data: bytes) -> None:
        if self.port is not None:
            self.port.write(data)
        else:
            os.write(self.fd, data)

    async def disconnect(self) -> None:
        if self.fd < 0:
            return
        asyncio.get_running_loop().remove_reader(self.fd)
        if self.port is not None:
            self.port.close()
            self.port = None
        else:
            os.close(self.fd)
        self.fd = -1


class FdClient:
    """The far end of a serial line: the master side of a PTY pair."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.inbox = Inbox()

    async def connect(self) -> None:
        os.set_blocking(self.fd, False)
        asyncio.get_running_loop().add_reader(self.fd, self._readable)

    def _readable(self) -> None:
        try:
            data = os.read(self.fd, 4096)
        except OSError:
            return
        self.inbox.add(data)

    async def send(self, data: bytes) -> None:
        os.write(self.fd, data)

    async def disconnect(self) -> None:
        asyncio.get_running_loop().remove_reader(self.fd)


class TcpClient:
    def __init__(self, host: str, port: int) -> None:
        self.addr = (host, port)
        self.inbox = Inbox()
        self.writer: asyncio.StreamWriter | None = None
        self._pump: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        reader, self.writer = await asyncio.open_connection(*self.addr)
        self._pump = asyncio.create_task(self._read(reader))

    async def _read(self, reader: asyncio.StreamReader) -> None:
        while data := await reader.read(4096):
            self.inbox.add(data)

    async def send(self, data: bytes) -> None:
        assert self.writer is not None
        self.writer.write(data)
        await self.writer.drain()

    async def disconnect(self) -> None:
        if self.writer is not None:
            self.writer.close()
            await self.writer.wait_closed()
            self.writer = None
        if self._pump is not None:
            await asyncio.wait_for(self._pump, TIMEOUT)
            self._pump = None


class Port:
    """A module behind a transport, and a client at the other end."""

    def __init__(self, kind: str, module: Module, transport: Transport, client: Client) -> None:
        self.kind = kind
        self.module = module
        self.transport = transport
        self.client = client

    async def send(self, data: bytes) -> None:
        await self.client.send(data)

    async def read_until(self, marker: bytes, timeout: float = TIMEOUT) -> bytes:
        try:
            return await self.client.inbox.read_until(marker, timeout)
        except TimeoutError:
            raise AssertionError(f"{marker!r} never came over {self.kind}") from None

    async def command(self, line: bytes) -> bytes:
        """Send a line with CR LF; everything up to its final OK or ERROR."""
        await self.send(line + b"\r\n")
        out = await self.read_until(b"\r\n", TIMEOUT)
        while not out.endswith((b"\r\nOK\r\n", b"\r\nERROR\r\n")):
            out += await self.read_until(b"\r\n", TIMEOUT)
        return out

    async def settle(self, seconds: float = 0.05) -> bytes:
        """Whatever arrives within ``seconds`` (to prove that nothing more comes)."""
        await asyncio.sleep(seconds)
        return self.client.inbox.take()

    async def wait_connected(self, state: bool = True) -> None:
        async def wait() -> None:
            while self.transport.connected != state:
                await asyncio.sleep(0.002)

        await asyncio.wait_for(wait(), TIMEOUT)

    async def reconnect(self) -> None:
        await self.client.connect()
        await self.wait_connected(True)


async def open_port(kind: str, *, paced: bool = False) -> tuple[Port, list[int]]:
    """A transport of ``kind`` serving a fresh module, its client connected, not booted."""
    module = create_module(time_scale=0)
    extra_fds: list[int] = []
    transport: Transport
    client: Client
    if kind == "memory":
        transport = MemoryTransport(paced=paced)
        client = MemoryClient(transport)
    elif kind == "pty":
        transport = PtyTransport(paced=paced)
    elif kind == "tcp":
        transport = TcpTransport("127.0.0.1", 0, paced=paced)
    elif kind == "serial":
        master, slave = os.openpty()
        transport = SerialTransport(os.ttyname(slave))
        client = FdClient(master)
        extra_fds = [master, slave]
    else:
        raise ValueError(kind)
    await transport.start(module)
    if isinstance(transport, PtyTransport):
        client = PySerialClient(transport.path)
    elif isinstance(transport, TcpTransport):
        client = TcpClient(*transport.address)
    if kind == "serial":
        os.close(extra_fds.pop())  # the transport holds the slave open itself now
    port = Port(kind, module, transport, client)
    await port.reconnect()
    return port, extra_fds


async def close_port(port: Port, extra_fds: list[int]) -> None:
    await port.client.disconnect()
    await port.transport.close()
    await port.module.close()
    for fd in extra_fds:
        os.close(fd)
