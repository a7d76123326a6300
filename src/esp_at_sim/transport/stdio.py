"""The AT port on standard input and output.

On a terminal this is an interactive console: the terminal's own line editing
(backspace, Ctrl-U, Ctrl-W) works while a line is typed, each line is sent with CR LF
when Enter is pressed, and the module's output is shown as it arrives. The module's echo
of the line just typed is not shown a second time. Ctrl-D ends the session.

When standard input is not a terminal (a pipe or a file) bytes pass through unchanged
in both directions, and the end of input ends the session once the module has answered
what it was given.

Standard input is read from the moment the module has booted, as a host that waits for
``ready`` would send it: ``printf 'AT\r\n' | esp-at-sim run --at stdio`` gets its answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import select
from typing import TYPE_CHECKING

from .base import Transport

if TYPE_CHECKING:
    from ..device.module import Module

log = logging.getLogger(__name__)


class StdioTransport(Transport):
    """``stdio``: the process's own standard input and output."""

    def __init__(
        self,
        *,
        paced: bool = False,
        stdin_fd: int = 0,
        stdout_fd: int = 1,
        interactive: bool | None = None,
    ) -> None:
        super().__init__(paced=paced)
        self._in = stdin_fd
        self._out = stdout_fd
        self.interactive = os.isatty(stdin_fd) if interactive is None else interactive
        self.eof = asyncio.Event()
        self._skip = bytearray()  # the echo still to be hidden (interactive only)
        self._reader: asyncio.Task[None] | None = None
        self._watching = False

    async def start(self, module: Module) -> None:
        self._make_bridge(module, self._write, flow=self._flow).attach()
        self._reader = asyncio.get_running_loop().create_task(
            self._read_after_boot(module), name="stdio-in"
        )

    async def _read_after_boot(self, module: Module) -> None:
        await module.booted.wait()
        try:
            asyncio.get_running_loop().add_reader(self._in, self._readable)
            self._watching = True
        except (PermissionError, ValueError, OSError):
            # A regular file cannot be watched; it never blocks, so read it here.
            await self._read_file()

    def describe(self) -> str:
        return "AT port: stdio" + (" (console; Ctrl-D quits)" if self.interactive else "")

    # ----------------------------------------------------------------- input
    def _readable(self) -> None:
        try:
            data = os.read(self._in, 4096)
        except BlockingIOError:
            return
        except OSError as exc:
            log.warning("reading standard input failed: %s", exc)
            data = b""
        self._got(data)

    def _flow(self, paused: bool) -> None:
        if not self._watching:
            return
        loop = asyncio.get_running_loop()
        if paused:
            loop.remove_reader(self._in)
        else:
            loop.add_reader(self._in, self._readable)

    async def _read_file(self) -> None:
        while not self.eof.is_set():
            await self.bridge.drained()  # the module has taken what was read before
            data = os.read(self._in, 4096)
            self._got(data)
            await asyncio.sleep(0)

    def _got(self, data: bytes) -> None:
        if not data:
            self._stop_watching()
            self.eof.set()
            return
        if self.interactive:
            data = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
            self._skip += data
        if self._bridge is not None:
            self._bridge.receive(data)

    def _stop_watching(self) -> None:
        if self._watching:
            asyncio.get_running_loop().remove_reader(self._in)
            self._watching = False

    # ---------------------------------------------------------------- output
    def _write(self, data: bytes) -> None:
        if self._skip:
            data = self._strip_echo(data)
        if self.interactive:
            data = data.replace(b"\r\n", b"\n")  # the terminal turns LF into CR LF itself
        view = memoryview(data)
        while view:
            try:
                sent = os.write(self._out, view)
            except BlockingIOError:  # a non-blocking terminal that is momentarily full
                select.select([], [self._out], [], 1.0)
                continue
            except OSError as exc:
                if exc.errno != errno.EPIPE:
                    log.warning("writing standard output failed: %s", exc)
                return
            view = view[sent:]

    def _strip_echo(self, data: bytes) -> bytes:
        same = 0
        limit = min(len(data), len(self._skip))
        while same < limit and data[same] == self._skip[same]:
            same += 1
        if same < limit:  # not our echo (ATE0, or a URC came first): stop hiding
            self._skip.clear()
            return data
        del self._skip[:same]
        return data[same:]

    async def close(self) -> None:
        await self._close_bridge()
        self._stop_watching()
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
