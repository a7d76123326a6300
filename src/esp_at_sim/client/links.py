"""Links: the byte pipes an :class:`~esp_at_sim.client.AtClient` talks through.

:func:`open_link` picks one from a target:

==============================================  =========================================
``tcp:HOST:PORT``, ``tcp://HOST:PORT``          a TCP socket (asyncio streams); IPv6 as
                                                ``tcp:[::1]:PORT``
``serial:DEVICE[:BAUD]``                        a serial device at BAUD (default 115200)
anything else: ``/dev/ttyUSB0``, ``COM3``,      pyserial's ``serial_for_url``, bridged into
``socket://HOST:PORT``, ``rfc2217://…``,        asyncio by a reader thread
``loop://``
an object with ``feed(bytes)`` and              an in-process module: bytes are handed
``set_output(callable)``                        over by function calls
==============================================  =========================================

Nothing here knows about the simulator; a real ESP32 on a USB serial adapter works the same.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol, runtime_checkable

import serial

from .errors import AtConnectionError

DEFAULT_BAUD = 115200
_READ_SIZE = 4096
_POLL = 0.05  # the serial reader thread looks for a stop request this often (seconds)


class Link(ABC):
    """A bidirectional byte stream to one AT port.

    :meth:`read` returns the next chunk, ``b""`` once the other side has closed.
    Failures raise :class:`AtConnectionError`.
    """

    name: str = "link"

    @abstractmethod
    async def read(self) -> bytes:
        """The next bytes received (at least one), or ``b""`` at end of stream."""

    @abstractmethod
    async def write(self, data: bytes) -> None:
        """Send ``data``; returns once it has been handed to the operating system."""

    @abstractmethod
    async def close(self) -> None:
        """Release everything (sockets, fds, threads); a pending :meth:`read` ends."""


@runtime_checkable
class InProcessPort(Protocol):
    """What an in-process module offers: input with ``feed``, output through a sink."""

    def feed(self, data: bytes) -> None: ...

    def set_output(self, sink: Callable[[bytes], None] | None) -> None: ...


class ModuleLink(Link):
    """A link to an object in this process that behaves like an AT port. It takes the
    object's output sink for itself (and sets it to ``None`` when closed)."""

    def __init__(self, port: InProcessPort, name: str = "in-process module") -> None:
        self.name = name
        self._port = port
        self._inbox: asyncio.Queue[bytes] = asyncio.Queue()
        self._closed = False
        port.set_output(self._received)

    def _received(self, data: bytes) -> None:
        if data and not self._closed:
            self._inbox.put_nowait(bytes(data))

    async def read(self) -> bytes:
        if self._closed and self._inbox.empty():
            return b""
        return await self._inbox.get()

    async def write(self, data: bytes) -> None:
        if self._closed:
            raise AtConnectionError(f"{self.name} is closed")
        self._port.feed(data)

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._port.set_output(None)
            self._inbox.put_nowait(b"")


class TcpLink(Link):
    """A TCP connection (the simulator's ``--at tcp:…``, or a serial-to-TCP bridge)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, name: str):
        self.name = name
        self._reader = reader
        self._writer = writer

    @classmethod
    async def connect(cls, host: str, port: int, timeout: float = 5.0) -> TcpLink:
        name = f"tcp:{host}:{port}"
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
        except TimeoutError as exc:
            raise AtConnectionError(f"cannot connect to {name}: timed out") from exc
        except OSError as exc:
            raise AtConnectionError(f"cannot connect to {name}: {exc.strerror or exc}") from exc
        return cls(reader, writer, name)

    async def read(self) -> bytes:
        try:
            return await self._reader.read(_READ_SIZE)
        except OSError as exc:
            raise AtConnectionError(f"{self.name}: {exc}") from exc

    async def write(self, data: bytes) -> None:
        try:
            self._writer.write(data)
            await self._writer.drain()
        except (OSError, RuntimeError) as exc:
            raise AtConnectionError(f"{self.name}: {exc}") from exc

    async def close(self) -> None:
        self._writer.close()
        with contextlib.suppress(OSError):
            await self._writer.wait_closed()


class SerialLink(Link):
    """A pyserial port (device path or URL). A reader thread feeds the event loop; writes
    run on one worker thread, so a slow UART never blocks the loop."""

    def __init__(self, port: serial.SerialBase, name: str, writer: ThreadPoolExecutor) -> None:
        self.name = name
        self._port = port
        self._loop = asyncio.get_running_loop()
        self._inbox: asyncio.Queue[bytes | BaseException] = asyncio.Queue()
        self._stop = threading.Event()
        self._writer = writer
        self._reader = threading.Thread(target=self._read_loop, name="at-serial-rx", daemon=True)
        self._reader.start()
        self._closed = False

    @classmethod
    async def open(cls, url: str, baudrate: int = DEFAULT_BAUD) -> SerialLink:
        def make() -> serial.SerialBase:
            return serial.serial_for_url(url, baudrate=baudrate, timeout=_POLL, write_timeout=10)

        writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="at-serial-tx")
        try:
            port = await asyncio.get_running_loop().run_in_executor(writer, make)
        except (serial.SerialException, OSError, ValueError) as exc:
            writer.shutdown(wait=True)
            raise AtConnectionError(f"cannot open {url}: {exc}") from exc
        return cls(port, url, writer)

    def _read_loop(self) -> None:
        port = self._port
        while not self._stop.is_set():
            try:
                waiting: int = getattr(port, "in_waiting", 0)  # every pyserial port has it
                data = port.read(max(1, min(waiting, _READ_SIZE)))
            except Exception as exc:  # pyserial raises several kinds; all end the link
                if not self._stop.is_set():
                    self._post(exc)
                return
            if data:
                self._post(bytes(data))

    def _post(self, item: bytes | BaseException) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is already closed
            self._loop.call_soon_threadsafe(self._inbox.put_nowait, item)

    async def read(self) -> bytes:
        if self._closed and self._inbox.empty():
            return b""
        item = await self._inbox.get()
        if isinstance(item, BaseException):
            self._inbox.put_nowait(b"")
            raise AtConnectionError(f"{self.name}: {item}") from item
        return item

    async def write(self, data: bytes) -> None:
        if self._closed:
            raise AtConnectionError(f"{self.name} is closed")
        try:
            await self._loop.run_in_executor(self._writer, self._port.write, data)
        except (serial.SerialException, OSError) as exc:
            raise AtConnectionError(f"{self.name}: {exc}") from exc

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        await self._loop.run_in_executor(self._writer, self._reader.join)
        self._writer.shutdown(wait=True)
        with contextlib.suppress(Exception):
            self._port.close()
        self._inbox.put_nowait(b"")


def _host_port(rest: str, spec: str) -> tuple[str, int]:
    if rest.startswith("["):
        host, sep, port = rest[1:].partition("]:")
    else:
        host, sep, port = rest.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise AtConnectionError(f"bad TCP address {spec!r}: use tcp:HOST:PORT")
    return host, int(port)


async def open_link(
    target: str | InProcessPort | Link, *, baudrate: int = DEFAULT_BAUD, timeout: float = 5.0
) -> Link:
    """Open a link to ``target`` (see the module docstring for the forms).

    Raises :class:`AtConnectionError` when the port cannot be opened.
    """
    if isinstance(target, Link):
        return target
    if not isinstance(target, str):
        if isinstance(target, InProcessPort):
            return ModuleLink(target)
        raise TypeError(f"cannot open a link to {target!r}")
    for prefix in ("tcp://", "tcp:"):
        if target.startswith(prefix):
            host, port = _host_port(target[len(prefix) :], target)
            return await TcpLink.connect(host, port, timeout)
    if target.startswith("serial:"):
        device, _, rate = target[len("serial:") :].rpartition(":")
        if device and rate.isdigit():
            return await SerialLink.open(device, int(rate))
        return await SerialLink.open(target[len("serial:") :], baudrate)
    if not target:
        raise AtConnectionError("no port given")
    return await SerialLink.open(target, baudrate)
