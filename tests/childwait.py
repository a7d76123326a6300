"""A bound for waiting on a child process that a busy machine does not use up.

A wall-clock timeout on ``esp-at-sim`` run as a child process fails when the CPUs are
shared by many busy processes: starting Python and importing the simulator takes half a
second of CPU, which at a load of 15 on two cores is ten seconds of wall time. What the
bound is there to catch is a child that makes no progress (it waits for something that
never comes), not one that waits for a CPU. Linux counts, per thread, the time it was
ready to run but waited for a CPU (``run_delay``, the second field of
``/proc/<pid>/task/<tid>/schedstat``). :class:`Deadline` takes that waiting, of the child
and of this test process, out of the wall time; what is left is the time the child had.
Where the kernel does not report it, the bound is plain wall time.
"""

from __future__ import annotations

import os
import time
from pathlib import Path


def _run_delay(pid: int) -> float | None:
    """Seconds the threads of ``pid`` have waited for a CPU so far; ``None`` once it is
    gone or where the kernel does not say."""
    total = 0
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            fields = (task / "schedstat").read_text().split()
            total += int(fields[1])
    except (OSError, IndexError, ValueError):
        return None
    return total / 1e9


class Deadline:
    """``seconds`` of time in which the watched processes could run."""

    def __init__(self, seconds: float, *pids: int) -> None:
        self.seconds = seconds
        self._start = time.monotonic()
        self._waited: dict[int, tuple[float, float]] = {}  # pid → (first, last) run_delay
        for pid in (os.getpid(), *pids):
            self.watch(pid)

    def watch(self, pid: int) -> None:
        """Also discount the CPU waiting of ``pid`` (a child started after the deadline)."""
        delay = _run_delay(pid)
        if delay is not None:
            self._waited[pid] = (delay, delay)

    def elapsed(self) -> float:
        """Wall seconds since the start, less the longest CPU wait of a watched process."""
        longest = 0.0
        for pid, (first, last) in list(self._waited.items()):
            now = _run_delay(pid)
            if now is not None:
                last = now
                self._waited[pid] = (first, last)
            longest = max(longest, last - first)
        return time.monotonic() - self._start - longest

    def remaining(self) -> float:
        return max(0.0, self.seconds - self.elapsed())

    def expired(self) -> bool:
        return self.remaining() <= 0.0
