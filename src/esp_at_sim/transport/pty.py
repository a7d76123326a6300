"""The AT port on a pseudo-terminal: host drivers open the slave side like a serial port.

The simulator keeps the master side and never holds the slave open itself, so it can
tell whether a client is attached: with no client the master reports a hang-up. While
nobody listens, output is lost (and anything the kernel still buffered for the last
client is flushed), so a client that opens the port later does not read stale bytes.
Clients may close and reopen the slave as often as they like. The line is put in raw
mode once; clients such as pyserial set their own attributes on open anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import select
import termios
import tty
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..core.turns import give_priority
from .base import Transport, TransportError

if TYPE_CHECKING:
    from ..device.module import Module

log = logging.getLogger(__name__)

# How often to look for a client while none is attached (the kernel gives no event).
POLL_INTERVAL = 0.02
# Output queued for a client that does not read; beyond this it is lost (an overrun).
MAX_BUFFERED = 256 * 1024


class PtyTransport(Transport):
    """``pty[:LINK]``: a pseudo-terminal pair; ``LINK`` names a symlink to the slave."""

    def __init__(self, link: str | None = None, *, paced: bool = False) -> None:
        super().__init__(paced=paced)
        self.link = link
        self.path = ""
        self._master = -1
        self._connected = False
        self._out = bytearray()
        self._writing = False
        self._watch: asyncio.Task[None] | None = None
        self._change = asyncio.Event()
        self._closing = False
        self._module: Module | None = None
        self._revoke: Callable[[], None] | None = None

    @property
    def connected(self) -> bool:
        return self._connected

    async def start(self, module: Module) -> None:
        self._module = module
        master, slave = os.openpty()
        try:
            self.path = os.ttyname(slave)
            tty.setraw(slave)
        finally:
            os.close(slave)
        os.set_blocking(master, False)
        self._master = master
        try:
            self._make_link()
        except OSError:
            os.close(master)
            self._master = -1
            raise
        self._make_bridge(module, self._write, flow=self._flow).attach()
        self._hung_up(flush=False)

    def _make_link(self) -> None:
        if self.link is None:
            return
        if os.path.islink(self.link):
            os.unlink(self.link)  # left over from an earlier run
        try:
            os.symlink(self.path, self.link)
        except OSError as exc:
            raise TransportError(f"cannot create {self.link}: {exc.strerror}") from exc

    def describe(self) -> str:
        return f"AT port: {self.link or self.path}"

    async def wait_connected(self, state: bool = True) -> None:
        """Wait until a client has (or, with ``state=False``, no longer has) the slave open."""
        while self._connected != state:
            self._change.clear()
            await self._change.wait()

    def _flow(self, paused: bool) -> None:
        if not self._connected:
            return
        loop = asyncio.get_running_loop()
        if paused:
            loop.remove_reader(self._master)
        else:
            loop.add_reader(self._master, self._readable)

    # ------------------------------------------------------------ client presence
    def _hung_up(self, *, flush: bool = True) -> None:
        loop = asyncio.get_running_loop()
        if self._connected:
            loop.remove_reader(self._master)
            self._stop_writing()
            self._take_priority_back()
            self._connected = False
            self._change.set()
        self._out.clear()
        if self._bridge is not None:
            self._bridge.drop_output()
        if flush:
            self._flush_slave()
        if self._closing:
            return
        if self._watch is None or self._watch.done():
            self._watch = loop.create_task(self._wait_for_client(), name="pty-watch")

    def _flush_slave(self) -> None:
        """Discard what the kernel holds for a client that has gone."""
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        except OSError:
            return
        try:
            termios.tcflush(fd, termios.TCIOFLUSH)
        finally:
            os.close(fd)

    async def _wait_for_client(self) -> None:
        poller = select.poll()
        poller.register(self._master, select.POLLIN)
        while True:
            events = poller.poll(0)
            if not any(mask & select.POLLHUP for _, mask in events):
                break
            await asyncio.sleep(POLL_INTERVAL)
        self._connected = True
        self._change.set()
        asyncio.get_running_loop().add_reader(self._master, self._readable)
        if self._module is not None:
            self._revoke = give_priority(self._module, self._master, self._serve_waiting)

    def _take_priority_back(self) -> None:
        if self._revoke is not None:
            self._revoke()
            self._revoke = None

    def _serve_waiting(self) -> None:
        """Bytes wait on the line while other work of the loop runs: read them now
        (core/turns.py, PriorityInput), unless input read before still waits for its
        turn or reading is paused."""
        bridge = self._bridge
        if self._connected and bridge is not None and not bridge.waiting and not bridge.paused:
            self._readable()

    # ---------------------------------------------------------------------- I/O
    def _readable(self) -> None:
        try:
            data = os.read(self._master, 4096)
        except BlockingIOError:
            return
        except OSError as exc:
            if exc.errno != errno.EIO:
                log.warning("pty read failed: %s", exc)
            self._hung_up()
            return
        if not data:
            self._hung_up()
            return
        if self._bridge is not None:
            self._bridge.receive(data)

    def _write(self, data: bytes) -> None:
        if not self._connected:
            return
        if self._writing:
            if len(self._out) + len(data) <= MAX_BUFFERED:
                self._out += data
            return
        try:
            sent = os.write(self._master, data)
        except BlockingIOError:
            sent = 0
        except OSError:
            self._hung_up()
            return
        if sent < len(data):
            self._out += data[sent:]
            self._writing = True
            asyncio.get_running_loop().add_writer(self._master, self._writable)

    def _writable(self) -> None:
        try:
            sent = os.write(self._master, self._out)
        except BlockingIOError:
            return
        except OSError:
            self._hung_up()
            return
        del self._out[:sent]
        if not self._out:
            self._stop_writing()

    def _stop_writing(self) -> None:
        if self._writing:
            asyncio.get_running_loop().remove_writer(self._master)
            self._writing = False

    async def close(self) -> None:
        self._closing = True
        self._take_priority_back()
        if self._master >= 0:
            if self._connected:
                asyncio.get_running_loop().remove_reader(self._master)
            self._stop_writing()
            self._connected = False
        watch, self._watch = self._watch, None
        if watch is not None:
            watch.cancel()
            await asyncio.gather(watch, return_exceptions=True)
        await self._close_bridge()
        if self._master >= 0:
            os.close(self._master)
            self._master = -1
        if self.link is not None:
            with contextlib.suppress(FileNotFoundError):
                if os.path.islink(self.link) and os.readlink(self.link) == self.path:
                    os.unlink(self.link)
