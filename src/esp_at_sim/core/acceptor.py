"""Accepting TCP connections when the process runs out of file descriptors.

asyncio's own servers meet the open-file limit by logging an error with a traceback for
every failed ``accept()`` (many lines a second while a flood lasts) and retrying a second
later. :class:`Acceptor` accepts on a listening socket itself: at the limit it logs one
line, waits a moment and tries again, logging nothing more until it has accepted again
(and at most one line a minute). With ``reserve`` it also keeps one spare descriptor
open, and gives it up for its own next client when the limit is reached: the AT port
keeps its own slot however many HTTP clients crowd the process.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import select
import socket
from collections.abc import Callable

log = logging.getLogger(__name__)

OUT_OF_RESOURCES = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}
RETRY_SECONDS = 0.25  # real seconds between accept attempts while out of descriptors
REPORT_EVERY = 60.0  # real seconds between two reports of running out


def listen(host: str, port: int, backlog: int = 16) -> socket.socket:
    """A listening, non-blocking TCP socket on ``host``:``port``; ``OSError`` when that
    fails."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    family, address = infos[0][0], infos[0][4]
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(backlog)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


class Acceptor:
    """Accepts connections on ``sock`` (listening, non-blocking) and gives each to a
    protocol made by ``factory``, until :meth:`close`. ``name`` names the service in
    the log line."""

    def __init__(
        self,
        sock: socket.socket,
        factory: Callable[[], asyncio.BaseProtocol],
        name: str,
        *,
        reserve: bool = False,
    ) -> None:
        self.sock = sock
        self._factory = factory
        self._name = name
        self._reserve = reserve
        self._spare: int | None = None
        self._starved = False
        self._reported_at: float | None = None
        self._refused = 0  # accept attempts that failed since the last report
        # While nobody connects, a reader callback waits for a client (a task would cost
        # a kilobyte per listening socket, a fleet has thousands); the task that accepts
        # runs only while clients come.
        self._loop: asyncio.AbstractEventLoop | None = None
        self._watching = False
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self.restore()

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._watch()

    def _watch(self) -> None:
        assert self._loop is not None
        self._loop.add_reader(self.sock.fileno(), self._client_waits)
        self._watching = True

    def _unwatch(self) -> None:
        if self._watching and self._loop is not None:
            self._loop.remove_reader(self.sock.fileno())
        self._watching = False

    def _client_waits(self) -> None:
        self._unwatch()
        if not self._closed and self._loop is not None:
            self._task = self._loop.create_task(self._run())

    async def close(self) -> None:
        """Stop accepting and close the listening socket (accepted connections stay)."""
        self._closed = True
        self._unwatch()
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.sock.close()
        if self._spare is not None:
            os.close(self._spare)
            self._spare = None

    def restore(self) -> None:
        """Take the spare descriptor back if it was given up (call when a client of
        ours has closed: its descriptor is free again)."""
        if self._reserve and self._spare is None and not self._closed:
            with contextlib.suppress(OSError):
                self._spare = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)

    async def _run(self) -> None:
        """Accept while clients wait; then hand the waiting back to :meth:`_watch`."""
        loop = asyncio.get_running_loop()
        while True:
            try:
                conn, _ = self.sock.accept()
            except (BlockingIOError, InterruptedError):
                self._task = None
                if not self._closed:
                    self._watch()
                return
            except OSError as exc:
                if exc.errno not in OUT_OF_RESOURCES:  # a client gone before we took it
                    log.debug("%s: accept failed: %s", self._name, exc)
                elif not self._pending():
                    # Linux refuses accept() at the limit even with nobody waiting:
                    # wait for a client before trying again
                    await self._readable()
                    continue
                elif self._spare is not None:  # our own slot: free it for this client
                    os.close(self._spare)
                    self._spare = None
                    continue
                else:
                    self._starving(loop.time(), exc)
                await asyncio.sleep(RETRY_SECONDS)
                continue
            self._starved = False
            conn.setblocking(False)
            try:
                await loop.connect_accepted_socket(self._factory, conn)
            except OSError as exc:
                conn.close()
                log.debug("%s: connection lost while accepted: %s", self._name, exc)

    def _pending(self) -> bool:
        """Whether a client waits to be accepted (asks the kernel without a new
        descriptor)."""
        poller = select.poll()
        poller.register(self.sock, select.POLLIN)
        return bool(poller.poll(0))

    async def _readable(self) -> None:
        loop = asyncio.get_running_loop()
        ready = loop.create_future()
        fd = self.sock.fileno()

        def wake() -> None:
            if not ready.done():
                ready.set_result(None)

        loop.add_reader(fd, wake)
        try:
            await ready
        finally:
            loop.remove_reader(fd)

    def _starving(self, now: float, exc: OSError) -> None:
        self._refused += 1
        if self._starved:
            return
        self._starved = True
        if self._reported_at is not None and now - self._reported_at < REPORT_EVERY:
            return
        since = f" ({self._refused} attempts so far)" if self._refused > 1 else ""
        log.warning(
            "%s: cannot accept new connections: %s; they wait until others close%s",
            self._name,
            exc.strerror or exc,
            since,
        )
        self._reported_at = now
        self._refused = 0
