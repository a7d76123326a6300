"""The module's clock: simulated time that a time scale speeds up.

Every simulated delay (association, DHCP, the reboot pause, protocol timeouts) is awaited
through :meth:`Clock.sleep`, in simulated seconds. With a scale ``F > 0`` a delay of ``d``
simulated seconds takes ``d * F`` real seconds. With ``F == 0`` delays take no real time
at all, but their order is kept: timers fire one at a time, earliest deadline first, after
the event loop has had a chance to run whatever the previous timer woke up. So a DHCP
server that answers after 30 s still loses against a 25 s timeout at scale 0.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from dataclasses import dataclass, field
from typing import Any

# How many event-loop iterations the scale-0 driver lets pass before it fires the next
# timer: enough for a woken task to run through a few awaits and set its next timer.
_SETTLE_ITERATIONS = 12


@dataclass(order=True)
class _Timer:
    deadline: float
    seq: int
    future: asyncio.Future[None] = field(compare=False)


class Clock:
    """Simulated monotonic time in seconds, starting at 0 when the clock is made."""

    def __init__(self, scale: float = 1.0) -> None:
        if scale < 0:
            raise ValueError("time scale must be >= 0")
        self._scale = scale
        self._virtual = 0.0
        self._real_base: float | None = None
        self._timers: list[_Timer] = []
        self._seq = itertools.count()
        self._driver: asyncio.Task[None] | None = None

    @property
    def scale(self) -> float:
        return self._scale

    def now(self) -> float:
        """Simulated seconds since the clock was made."""
        if self._scale == 0:
            return self._virtual
        loop_time = self._loop_time()
        if loop_time is None:
            return self._virtual
        if self._real_base is None:
            self._real_base = loop_time
        return self._virtual + (loop_time - self._real_base) / self._scale

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of simulated time."""
        if self._scale > 0:
            self.now()  # pin the real base before the first sleep
            await asyncio.sleep(max(0.0, seconds) * self._scale)
            return
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        loop = asyncio.get_running_loop()
        timer = _Timer(self._virtual + seconds, next(self._seq), loop.create_future())
        heapq.heappush(self._timers, timer)
        if self._driver is None or self._driver.done():
            self._driver = loop.create_task(self._drive())
        await timer.future

    async def wait_for(self, aw: asyncio.Future[Any], seconds: float) -> bool:
        """Wait until ``aw`` is done or ``seconds`` of simulated time pass; True if done.
        ``aw`` is left running either way."""
        timeout: asyncio.Future[Any] = asyncio.ensure_future(self.sleep(seconds))
        try:
            done, _ = await asyncio.wait({aw, timeout}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            timeout.cancel()
        return aw in done

    async def _drive(self) -> None:
        while self._timers:
            for _ in range(_SETTLE_ITERATIONS):
                await asyncio.sleep(0)
            if not self._timers:
                break
            timer = heapq.heappop(self._timers)
            if timer.future.done():  # cancelled sleeper
                continue
            self._virtual = max(self._virtual, timer.deadline)
            timer.future.set_result(None)

    @staticmethod
    def _loop_time() -> float | None:
        try:
            return asyncio.get_running_loop().time()
        except RuntimeError:
            return None
