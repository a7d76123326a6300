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
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any


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

    def watch(self, pid: int, *, whole: bool = False) -> None:
        """Also discount the CPU waiting of ``pid`` (a child started after the deadline):
        from now on, or with ``whole`` all of it (one found after it started)."""
        if pid in self._waited:
            return
        delay = _run_delay(pid)
        if delay is not None:
            self._waited[pid] = (0.0 if whole else delay, delay)

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


def run_child(
    args: Sequence[str | os.PathLike[str]],
    *,
    timeout: float,
    check: bool = False,
    input: str | bytes | None = None,
    capture_output: bool = False,
    **popen: Any,
) -> subprocess.CompletedProcess[Any]:
    """:func:`subprocess.run`, with ``timeout`` counted as a :class:`Deadline` (the time
    the child and this process could run) instead of wall time."""
    if capture_output:
        popen["stdout"] = popen["stderr"] = subprocess.PIPE
    if input is not None:
        popen["stdin"] = subprocess.PIPE
    with subprocess.Popen(args, **popen) as proc:
        deadline = Deadline(timeout, proc.pid)
        while True:
            try:
                out, err = proc.communicate(input, timeout=min(1.0, deadline.remaining()))
                break
            except subprocess.TimeoutExpired:
                input = None  # handed over already: a second communicate() may not repeat it
                if deadline.expired():
                    proc.kill()
                    out, err = proc.communicate()
                    raise subprocess.TimeoutExpired(args, timeout, out, err) from None
    result = subprocess.CompletedProcess(args, proc.returncode, out, err)
    if check:
        result.check_returncode()
    return result
