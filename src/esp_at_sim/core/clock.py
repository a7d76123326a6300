"""The module's clock: simulated time that a time scale speeds up.

Every simulated delay (association, DHCP, the reboot pause, protocol timeouts) is awaited
through :meth:`Clock.sleep`, in simulated seconds. With a scale ``F > 0`` a delay of ``d``
simulated seconds takes ``d * F`` real seconds.

With ``F == 0`` delays take no real time at all, by one rule: **simulated time stands still
while the event loop has work ready, and jumps to the next deadline when it has none.**
The loop has work ready when a callback is queued to run (a task that can go on, a
future's callbacks, a due real-time timer) or a socket has an event to hand over. When
neither is the case, the one timer with the earliest deadline fires (the one made first
among equal deadlines; the timers of every scale-0 clock on one loop take their turns in
one queue, each deadline on its own clock), and nothing else happens until the loop has
run out of work again. So whatever a timer wakes runs to its next wait before later
timers fire, however many loop turns that takes, and the order of events at scale 0
follows from the deadlines alone: a DHCP server that answers after 30 s loses against a
25 s timeout.

Something that waits with ``await asyncio.sleep(0)`` in a loop keeps the loop busy and
so stops simulated time; code that waits for the module waits on an event or on the clock
instead (:meth:`Clock.wait_for`, :meth:`Clock.sleep`). Work the loop cannot see (a thread,
a program in another process) does not hold simulated time back.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import weakref
from dataclasses import dataclass, field
from typing import Any


@dataclass(order=True)
class _Timer:
    deadline: float
    seq: int
    clock: Clock = field(compare=False)
    future: asyncio.Future[None] = field(compare=False)


class _Scheduler:
    """The scale-0 timers of every clock on one event loop, fired by one task by the
    rule of this module (a driver per clock would keep the others' loop busy)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.timers: list[_Timer] = []
        self.driver: asyncio.Task[None] | None = None

    def add(self, clock: Clock, deadline: float) -> asyncio.Future[None]:
        future: asyncio.Future[None] = self.loop.create_future()
        heapq.heappush(self.timers, _Timer(deadline, next(_SEQ), clock, future))
        if self.driver is None or self.driver.done():
            self.driver = self.loop.create_task(self._drive())
        return future

    async def _drive(self) -> None:
        while True:
            while self.timers and self.timers[0].future.done():  # cancelled sleepers
                heapq.heappop(self.timers)
            if not self.timers:
                return
            # Yield one turn: the loop polls its sockets (without blocking, since this
            # task is ready) and queues what they deliver behind this task.
            await asyncio.sleep(0)
            if _work_ready(self.loop):
                continue
            timer = heapq.heappop(self.timers)
            if not timer.future.done():
                timer.clock._advance(timer.deadline)
                timer.future.set_result(None)


_SEQ = itertools.count()  # creation order, across clocks: it breaks ties between deadlines
_SCHEDULERS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Scheduler] = (
    weakref.WeakKeyDictionary()
)


def _work_ready(loop: asyncio.AbstractEventLoop) -> bool:
    """Whether ``loop`` has a callback queued to run, besides the task asking: the
    callbacks a turn has queued (ready tasks, I/O events, due timers) wait in
    ``BaseEventLoop._ready``; asyncio keeps no public count of them."""
    ready: object = getattr(loop, "_ready", None)
    if ready is None:
        raise RuntimeError(f"time scale 0 needs an asyncio event loop, not {type(loop)!r}")
    return bool(ready)


class Clock:
    """Simulated monotonic time in seconds, starting at 0 when the clock is made."""

    __slots__ = ("_real_base", "_scale", "_virtual")

    def __init__(self, scale: float = 1.0) -> None:
        if scale < 0:
            raise ValueError("time scale must be >= 0")
        self._scale = scale
        self._virtual = 0.0
        self._real_base: float | None = None

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
        scheduler = _SCHEDULERS.get(loop)
        if scheduler is None:
            _work_ready(loop)  # refuses, here in the sleeper, a loop it cannot read
            scheduler = _SCHEDULERS[loop] = _Scheduler(loop)
        await scheduler.add(self, self._virtual + seconds)

    async def wait_for(self, aw: asyncio.Future[Any], seconds: float) -> bool:
        """Wait until ``aw`` is done or ``seconds`` of simulated time pass; True if done.
        ``aw`` is left running either way."""
        timeout: asyncio.Future[Any] = asyncio.ensure_future(self.sleep(seconds))
        try:
            done, _ = await asyncio.wait({aw, timeout}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            timeout.cancel()
        return aw in done

    def _advance(self, deadline: float) -> None:
        self._virtual = max(self._virtual, deadline)

    @staticmethod
    def _loop_time() -> float | None:
        try:
            return asyncio.get_running_loop().time()
        except RuntimeError:
            return None
