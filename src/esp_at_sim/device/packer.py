"""Host bytes in data mode turned into network packets, as the firmware packs them.

Shared by passthrough and AT+CIPSENDL: a full packet (``size`` bytes) goes out at once,
a shorter rest once no byte has come for ``interval`` milliseconds (AT+TRANSINTVL; 0:
at once). ``+++`` alone, with at least :data:`GUARD` of silence before the first ``+``
and after the last and less than :data:`GUARD` between them, is no data: it calls
``on_escape``. Any other ``+`` is data. The pauses are the host's (:mod:`.hosttime`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING

from .hosttime import host_now, host_sleep

if TYPE_CHECKING:
    from .module import Module

GUARD = 0.020  # seconds of silence around +++, and the most between its characters
PLUS = 0x2B


class Packer:
    """One data-mode session's packing and ``+++`` detection."""

    def __init__(
        self,
        module: Module,
        size: int,
        interval_ms: int,
        on_packet: Callable[[bytes], None],
        on_escape: Callable[[], None],
    ) -> None:
        self.module = module
        self.size = size
        self.interval_ms = interval_ms
        self._on_packet = on_packet
        self._on_escape = on_escape
        self._pending = bytearray()
        self._plus = bytearray()
        self._last_rx = host_now(module.clock)
        self._flush_timer: asyncio.Task[None] | None = None
        self._plus_timer: asyncio.Task[None] | None = None

    def feed(self, data: bytes) -> None:
        """Bytes from the host, as they came."""
        now = host_now(self.module.clock)
        gap, self._last_rx = now - self._last_rx, now
        pluses = all(byte == PLUS for byte in data)
        if self._plus:
            if pluses and gap < GUARD and len(self._plus) + len(data) <= 3:
                self._plus += data
                self._restart_plus_timer()
                return
            self._give_up_plus()
        elif pluses and gap >= GUARD and len(data) <= 3:
            self._plus += data
            self._restart_plus_timer()
            return
        self._queue(data)

    def flush(self) -> None:
        """Send what waits now (pluses that might still have become ``+++`` included)."""
        if self._plus:
            self._give_up_plus()
        self._cancel(self._flush_timer)
        self._flush_timer = None
        self._send_pending()

    def _send_pending(self) -> None:
        if self._pending:
            self._on_packet(bytes(self._pending))
            self._pending.clear()

    def stop(self) -> None:
        """Forget the timers (what waits is dropped unless flushed first)."""
        self._cancel(self._flush_timer)
        self._cancel(self._plus_timer)
        self._flush_timer = self._plus_timer = None
        self._pending.clear()
        self._plus.clear()

    @staticmethod
    def _cancel(task: asyncio.Task[None] | None) -> None:
        if task is not None and task is not asyncio.current_task():
            task.cancel()

    def _restart_plus_timer(self) -> None:
        self._cancel(self._plus_timer)
        self._plus_timer = self.module.spawn(self._plus_expires(), name="plus-guard")

    async def _plus_expires(self) -> None:
        await host_sleep(self.module.clock, GUARD)
        self._plus_timer = None
        if bytes(self._plus) == b"+++":
            self._plus.clear()
            self._on_escape()
        else:
            self._give_up_plus()

    def _give_up_plus(self) -> None:
        """The pluses were data after all."""
        self._cancel(self._plus_timer)
        self._plus_timer = None
        data = bytes(self._plus)
        self._plus.clear()
        self._queue(data)

    def _queue(self, data: bytes) -> None:
        self._pending += data
        while len(self._pending) >= self.size:
            self._on_packet(bytes(self._pending[: self.size]))
            del self._pending[: self.size]
        self._cancel(self._flush_timer)
        self._flush_timer = None
        if self._pending:
            if self.interval_ms == 0:
                self.flush()
            else:
                self._flush_timer = self.module.spawn(self._flush_later(), name="transintvl")

    async def _flush_later(self) -> None:
        await host_sleep(self.module.clock, self.interval_ms / 1000)
        self._flush_timer = None
        # The data that waited goes; pluses still within their guard time stay pluses
        # (with AT+TRANSINTVL longer than the guard, the interval may end between a
        # "+++" and the silence after it).
        self._send_pending()
