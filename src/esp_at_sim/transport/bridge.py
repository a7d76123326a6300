"""The bridge between a module's AT port and a byte stream, with optional UART pacing.

Every transport moves bytes through a :class:`PortBridge`: what the client sends goes in
with :meth:`PortBridge.receive`, what the module transmits comes out through the
transport's ``write`` function. Unpaced, both directions are plain function calls.

Paced, the bridge behaves like the wire of a real UART: a byte reaches the other side
one character time (start bit, data bits, parity, stop bits, from
:meth:`UartConfig.char_time`) after the previous one. Rather than sleeping per byte, the
bridge computes a schedule (:func:`slice_schedule`): each burst is cut into slices of a
few milliseconds of wire time, and each slice is handed over when its last byte has
arrived, never before (:class:`WireTimer`: a Linux ``timerfd`` the event loop watches,
which wakes it on time to some microseconds, where the loop's own timer rounds every wait
up to a whole millisecond; elsewhere :func:`sleep_until`). Wire time is kept as
deadlines: the answer to a line starts on the wire when the line's last byte arrived on
it, however late the event loop handed the line over, so a slow wake-up does not add up
from one round trip to the next. The rate is the module's current UART configuration
(``module.system.uart_current``). Output produced while a received line is being
processed keeps the rate that was in force before the line arrived, so the ``OK`` of
``AT+UART_CUR`` still leaves at the old rate and everything after it at the new one,
as on the real firmware, which drains its TX FIFO before switching.

Input is handed to the module one line at a time, at most :data:`LINES_PER_TURN` lines
per turn of the event loop: the module shares its loop with the web server and the
captive DNS, and a client that pipelines commands as fast as it can must not starve
them. Lines beyond that wait in the bridge; while more than :data:`MAX_BACKLOG` bytes
wait, the transport stops reading (``flow``), so a flooding TCP client is held back by
TCP's own flow control instead of filling memory. Unpaced, what the module answers to
the lines of one turn leaves in one write (a system call per turn, not per line); the
transport still judges each answer on its own (``write_parts``), so a client that does
not read loses the same whole answers as before.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import ctypes
import logging
import os
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..core.lazy import LazyEvent
from ..device.system import UartConfig

if TYPE_CHECKING:
    from ..core.events import Event
    from ..device.module import Module

log = logging.getLogger(__name__)

# Wire time per slice: small enough to look continuous, large enough that 1000 bytes at
# 9600 baud take about 200 wake-ups rather than 1000.
SLICE_TIME = 0.005

# The event loop's selector sleeps in whole milliseconds, so its timer overshoots by up
# to one. With a timerfd (Linux, :class:`WireTimer`) the loop wakes when the kernel's
# timer fires, some 40 us late on a 2-core VM (the wake-up, then the loop's turn); the
# last TIMER_MARGIN of a wait is spun through by turns of the loop to take that up. Without
# one (:func:`sleep_until`), the last SPIN of a wait is slept by a thread, and the final
# WAKE_MARGIN, what waking the loop from that thread may take, spun. Either way a wait of
# at most WAKE_MARGIN is spun whole: a process that sleeps for less than that may wait
# milliseconds for a CPU on a loaded machine. Spinning through the whole last millisecond
# would keep the process busy, and a busy process on a loaded machine is preempted for
# milliseconds at a time.
TIMER_MARGIN = 0.00007
SPIN = 0.0011
WAKE_MARGIN = 0.00015

# Lines handed to the module per event-loop turn before the bridge lets others run.
LINES_PER_TURN = 8
# Bytes waiting in the bridge above which the transport is asked to stop reading.
MAX_BACKLOG = 16 * 1024

# The pacing clock: asyncio's loop.time() is this clock; uvloop's counts whole
# milliseconds, too coarse for a character at 115200 baud (87 us).
now = time.monotonic

# What a pipe hands over: the bytes, their UART configuration, and the wire time at
# which the last of them arrived.
Deliver = Callable[[bytes, UartConfig, float], None]


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


class _Itimerspec(ctypes.Structure):
    _fields_ = [("it_interval", _Timespec), ("it_value", _Timespec)]


_CLOCK_MONOTONIC = 1  # time.monotonic's clock on Linux
_TFD_TIMER_ABSTIME = 1


def _timerfd() -> tuple[Callable[..., int], Callable[..., int]] | None:
    """The C library's ``timerfd_create`` and ``timerfd_settime`` (Linux), or ``None``."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.timerfd_create, libc.timerfd_settime
    except (OSError, AttributeError):  # not Linux: the thread's sleep
        return None


TIMERFD = _timerfd()


class WireTimer:
    """Waits until a time of :data:`now` on the event loop, to some microseconds: a Linux
    ``timerfd`` set to that time less TIMER_MARGIN (absolute, on ``CLOCK_MONOTONIC``,
    the clock of :data:`now`), watched by the loop like a socket, then turns of the loop
    for the rest (for all of a wait of at most WAKE_MARGIN). No thread. :meth:`create`
    gives ``None`` where there is no ``timerfd``."""

    def __init__(
        self, fd: int, settime: Callable[..., int], loop: asyncio.AbstractEventLoop
    ) -> None:
        self._fd = fd
        self._settime = settime
        self._loop = loop
        self._waiter: asyncio.Future[None] | None = None
        loop.add_reader(fd, self._fired)

    @classmethod
    def create(cls) -> WireTimer | None:
        """A timer on the running loop, or ``None`` without ``timerfd``."""
        if TIMERFD is None:
            return None
        create, settime = TIMERFD
        fd = create(_CLOCK_MONOTONIC, os.O_NONBLOCK | os.O_CLOEXEC)
        if fd < 0:
            log.warning("timerfd_create failed: %s", os.strerror(ctypes.get_errno()))
            return None
        return cls(fd, settime, asyncio.get_running_loop())

    async def sleep_until(self, when: float) -> None:
        """Return once :data:`now` has reached ``when``, never before."""
        while (delay := when - now()) > 0:
            if delay <= WAKE_MARGIN:
                await asyncio.sleep(0)
                continue
            wake = when - TIMER_MARGIN
            seconds = int(wake)
            spec = _Itimerspec(_Timespec(0, 0), _Timespec(seconds, int((wake - seconds) * 1e9)))
            if self._settime(self._fd, _TFD_TIMER_ABSTIME, ctypes.byref(spec), None):
                raise OSError(ctypes.get_errno(), "timerfd_settime failed")
            self._waiter = self._loop.create_future()
            await self._waiter

    def _fired(self) -> None:
        try:
            os.read(self._fd, 8)  # the count of expirations
        except BlockingIOError:
            return
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def close(self) -> None:
        self._loop.remove_reader(self._fd)
        os.close(self._fd)
        if self._waiter is not None:
            self._waiter.cancel()


async def sleep_until(when: float, sleeper: concurrent.futures.Executor | None = None) -> None:
    """Return once the loop's clock has reached ``when``, never before: the loop's timer
    for all but the last millisecond or so, then a thread of ``sleeper`` (when given)
    for all but the last WAKE_MARGIN, then turns of the loop (other callbacks run
    meanwhile)."""
    while (delay := when - now()) > 0:
        if delay > SPIN:
            await asyncio.sleep(delay - SPIN)
        elif sleeper is not None and delay > WAKE_MARGIN:
            await asyncio.get_running_loop().run_in_executor(
                sleeper, time.sleep, delay - WAKE_MARGIN
            )
        else:
            await asyncio.sleep(0)


def slice_schedule(
    size: int, start: float, char_time: float, slice_time: float = SLICE_TIME
) -> list[tuple[float, int]]:
    """When the bytes of a burst of ``size`` bytes arrive, as ``(time, count)`` slices.

    The burst starts at ``start`` (the line is free then); slice ``i`` is complete when its
    last byte has crossed the wire. The last time is ``start + size * char_time``.
    """
    if size <= 0:
        return []
    step = max(1, int(slice_time / char_time)) if char_time > 0 else size
    out: list[tuple[float, int]] = []
    sent = 0
    while sent < size:
        count = min(step, size - sent)
        sent += count
        out.append((start + sent * char_time, count))
    return out


class Pipe:
    """One direction of a paced UART: bytes go in with :meth:`put` and come out through
    ``deliver`` at the times :func:`slice_schedule` gives."""

    def __init__(self, deliver: Deliver, *, slice_time: float = SLICE_TIME) -> None:
        self._deliver = deliver
        self._slice_time = slice_time
        self._queue: deque[tuple[float, bytes, UartConfig]] = deque()
        self._free_at = 0.0
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self._timer: WireTimer | None = None  # made at need
        self._sleeper: concurrent.futures.ThreadPoolExecutor | None = None  # (no timerfd)

    @property
    def free_at(self) -> float:
        """Time (:data:`now`) at which the last queued byte will have crossed the wire."""
        return self._free_at

    @property
    def idle(self) -> bool:
        """Nothing is queued."""
        return not self._queue

    def put(self, data: bytes, config: UartConfig, ready: float | None = None) -> None:
        """Queue ``data``; it starts on the wire when the bytes before it are through,
        and not before ``ready`` (:data:`now` when not given)."""
        if self._closed or not data:
            return
        loop = asyncio.get_running_loop()
        start = max(now() if ready is None else ready, self._free_at)
        offset = 0
        for when, count in slice_schedule(len(data), start, config.char_time(), self._slice_time):
            self._queue.append((when, data[offset : offset + count], config))
            offset += count
        self._free_at = self._queue[-1][0]
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._drain(), name="uart-pipe")

    async def _drain(self) -> None:
        while self._queue:
            when = self._queue[0][0]
            if when > now():
                await self._wait(when)
                continue
            # Hand over everything that is due, as one write.
            when, chunk, config = self._queue.popleft()
            parts = [chunk]
            due = now()
            while self._queue and self._queue[0][0] <= due and self._queue[0][2] == config:
                when, chunk, _ = self._queue.popleft()
                parts.append(chunk)
            try:
                self._deliver(b"".join(parts), config, when)
            except Exception:
                log.exception("delivering paced bytes failed")

    async def _wait(self, when: float) -> None:
        if self._timer is None and self._sleeper is None:
            self._timer = WireTimer.create()
            if self._timer is None:
                self._sleeper = concurrent.futures.ThreadPoolExecutor(
                    1, thread_name_prefix="uart-pacer"
                )
        if self._timer is not None:
            await self._timer.sleep_until(when)
        else:
            await sleep_until(when, self._sleeper)

    def clear(self) -> None:
        """Drop whatever has not been delivered yet. The line stays busy until those
        bytes would have been through, as a UART keeps sending to nobody."""
        self._queue.clear()

    async def close(self) -> None:
        """Drop pending bytes and stop the drain task."""
        self._closed = True
        self._queue.clear()
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        timer, self._timer = self._timer, None
        if timer is not None:
            timer.close()
        sleeper, self._sleeper = self._sleeper, None
        if sleeper is not None:
            sleeper.shutdown()  # its thread sleeps a millisecond at most


class PortBridge:
    """Joins a module's AT port to a transport.

    ``write`` receives what the module transmits (the transport drops it when nobody
    listens). ``on_config`` is called, in stream order, when the paced line switches to a
    new UART configuration: before the first byte sent with it, or once the output sent
    with the old one has drained (a real serial port applies it to the hardware then).
    """

    def __init__(
        self,
        module: Module,
        write: Callable[[bytes], None],
        *,
        paced: bool = False,
        on_config: Callable[[UartConfig], None] | None = None,
        flow: Callable[[bool], None] | None = None,
        write_parts: Callable[[list[bytes]], None] | None = None,
    ) -> None:
        self.module = module
        self._flow = flow
        self._write_parts = write_parts or (lambda parts: write(b"".join(parts)))
        self._turn_out: list[bytes] | None = None  # output of the turn being fed
        self._backlog = bytearray()
        self._paused = False
        self._turn: asyncio.Handle | None = None
        self._drained = LazyEvent()  # a fleet's modules rarely wait on it
        self._drained.set()
        self.paced = paced
        self._write = write
        self._on_config = on_config
        self._feeding = False
        self._wire_time = 0.0  # when the input being fed arrived on the wire (paced)
        self._latched = module.system.uart_current
        self._applied = module.system.uart_current
        self._rx = Pipe(self._deliver_input) if paced else None
        self._tx = Pipe(self._deliver_output) if paced else None
        self._attached = False
        self._unsubscribe: Callable[[], None] | None = None

    @property
    def tx(self) -> Pipe | None:
        """The paced output pipe (``None`` when unpaced)."""
        return self._tx

    @property
    def rx(self) -> Pipe | None:
        """The paced input pipe (``None`` when unpaced)."""
        return self._rx

    def attach(self) -> None:
        """Start taking the module's output."""
        self.module.set_output(self._on_output)
        self._attached = True
        if self.paced and self._on_config is not None:
            self._unsubscribe = self.module.bus.subscribe(self._on_event, kinds=("uart",))

    def _on_event(self, event: Event) -> None:
        # The module switched its UART; if nothing is on the wire, the switch is immediate.
        if event.kind == "uart" and (self._tx is None or self._tx.idle):
            self._apply(self.module.system.uart_current)

    def receive(self, data: bytes) -> None:
        """Bytes from the client, bound for the module."""
        if not data:
            return
        if self._rx is not None:
            self._rx.put(data, self.module.system.uart_current)
        else:
            self._feed(data)

    def drop_output(self) -> None:
        """Forget output still on the wire (the listener went away)."""
        if self._tx is not None:
            self._tx.clear()

    def _deliver_input(self, data: bytes, config: UartConfig, when: float) -> None:
        self._wire_time = when
        self._feed(data)

    def _feed(self, data: bytes) -> None:
        self._backlog += data
        self._drained.clear()
        if self._turn is None and self._turn_out is None:  # (not from inside a turn)
            self._feed_turn()

    def _feed_turn(self) -> None:
        """Hand the module up to LINES_PER_TURN lines. One line at a time: on a real wire
        a line is answered long before the next has arrived, so a burst of lines must
        not look like lines piling up in the buffer."""
        self._turn = None
        backlog = self._backlog
        out = self._turn_out = [] if self._tx is None else None
        try:
            for _ in range(LINES_PER_TURN):
                if not backlog:
                    break
                end = backlog.find(b"\n") + 1 or len(backlog)
                line = bytes(backlog[:end])
                del backlog[:end]
                self._latched = self.module.system.uart_current
                self._feeding = True
                try:
                    self.module.feed(line)
                finally:
                    self._feeding = False
        finally:
            self._turn_out = None
            if out:
                self._write_parts(out)
        if backlog:
            self._turn = asyncio.get_running_loop().call_soon(self._feed_turn)
        else:
            self._drained.set()
        self._set_paused(len(backlog) > MAX_BACKLOG)

    def _set_paused(self, paused: bool) -> None:
        if paused != self._paused and self._flow is not None:
            self._paused = paused
            self._flow(paused)

    @property
    def waiting(self) -> int:
        """Bytes received and not yet handed to the module."""
        return len(self._backlog)

    @property
    def paused(self) -> bool:
        """The transport was asked to stop reading (too much input waits)."""
        return self._paused

    async def drained(self) -> None:
        """Wait until every byte received so far has been handed to the module."""
        await self._drained.wait()

    def _on_output(self, data: bytes) -> None:
        if self._tx is None:
            if self._turn_out is not None:
                self._turn_out.append(data)  # written at the end of the turn
            else:
                self._write(data)
            return
        if self._feeding:  # the answer to a line: it starts when the line had arrived
            self._tx.put(data, self._latched, self._wire_time)
        else:
            self._tx.put(data, self.module.system.uart_current)

    def _deliver_output(self, data: bytes, config: UartConfig, when: float) -> None:
        self._apply(config)
        self._write(data)
        if self._tx is not None and self._tx.idle:
            # The line is quiet: a switch made after the last answer takes effect now.
            self._apply(self.module.system.uart_current)

    def _apply(self, config: UartConfig) -> None:
        if config != self._applied:
            self._applied = config
            if self._on_config is not None:
                self._on_config(config)

    async def close(self) -> None:
        """Detach from the module and drop whatever is still on the wire."""
        if self._turn is not None:
            self._turn.cancel()
            self._turn = None
        self._backlog.clear()
        self._drained.set()
        if self._attached:
            self.module.set_output(None)
            self._attached = False
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        for pipe in (self._rx, self._tx):
            if pipe is not None:
                await pipe.close()
