"""Idle memory per module and start-up time, for 1, 100 and 1000 modules in one process
(``create_module(time_scale=0)`` and ``await module.start()``: each with its flash in
memory, booted to ``ready``), measured as resident memory (/proc/self/status) and as
Python allocations (tracemalloc, in a second run: tracing slows everything down; not
for 1000). Each child runs with an empty ``TMPDIR`` and counts the files left in it
(the goal: no disk).
Baselines: an empty Python process with asyncio imported, and a bare asyncio object
(an Event, a Queue, a buffer and a task waiting on the event) per module.
Each count runs in a fresh process that first starts and closes one module (or object),
so the figures per module are what one more costs. Usage: python bench/bench_memory.py"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

from _common import ALLOCATOR_ENV, Goal, report

COUNTS = (1, 100, 1000)
TRACED = 100  # the largest count also run under tracemalloc


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")


class BareDevice:
    """What a do-nothing asyncio device costs: its state and one idle task."""

    def __init__(self) -> None:
        self.ready = asyncio.Event()
        self.inbox: asyncio.Queue[bytes] = asyncio.Queue()
        self.buffer = bytearray(256)
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self.ready.wait())  # type: ignore[arg-type]
        await asyncio.sleep(0)

    async def close(self) -> None:
        assert self.task is not None
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)


async def measure(kind: str, count: int, trace: bool) -> dict[str, float]:
    from esp_at_sim.factory import create_module

    warm = create_module(time_scale=0) if kind == "module" else BareDevice()
    await warm.start()  # one-time costs (lazy imports, tables, caches) come before
    await warm.close()
    if trace:
        tracemalloc.start()
    before = rss_kib()
    start = time.perf_counter()
    things: list[Any] = []
    for _ in range(count):
        thing = create_module(time_scale=0) if kind == "module" else BareDevice()
        await thing.start()
        things.append(thing)
    took = time.perf_counter() - start
    for _ in range(100):  # idle: let whatever a boot left pending settle
        await asyncio.sleep(0)
    result = {"seconds": took, "rss_kib": rss_kib() - before, "total_rss_kib": rss_kib()}
    result["tmp_files"] = sum(1 for _ in Path(tempfile.gettempdir()).rglob("*"))
    if trace:
        result["traced_kib"] = tracemalloc.get_traced_memory()[0] / 1024
        tracemalloc.stop()
    for thing in things:
        await thing.close()
    return result


def child(kind: str, count: int, trace: bool) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="esp-at-bench-mem-") as tmp:
        out = subprocess.run(
            [sys.executable, __file__, "--child", kind, str(count), str(int(trace))],
            capture_output=True,
            text=True,
            timeout=600,
            check=True,
            env={**os.environ, **ALLOCATOR_ENV, "TMPDIR": tmp},
        ).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


def empty_process_kib() -> int:
    here = str(Path(__file__).parent)
    code = f"import asyncio, sys; sys.path.insert(0, {here!r}); from bench_memory import rss_kib; "
    out = subprocess.run(
        [sys.executable, "-c", code + "print(rss_kib())"], capture_output=True, text=True
    )
    return int(out.stdout.strip())


def main() -> None:
    empty = empty_process_kib()
    for count in COUNTS:
        sim = child("module", count, False)
        bare = child("bare", count, False)
        largest = count == COUNTS[-1]
        report(
            f"{count:>4} modules: process resident memory",
            sim["total_rss_kib"] / 1024,
            "MiB",
            "empty python process",
            empty / 1024,
            digits=1,
        )
        report(
            f"{count:>4} modules: resident memory per module",
            sim["rss_kib"] / count,
            "KiB",
            "bare asyncio object",
            max(bare["rss_kib"] / count, 0.1),
            digits=1,
            goal=Goal("<=", 20, on="figure") if largest else None,
        )
        if count <= TRACED:
            sim_traced = child("module", count, True)
            bare_traced = child("bare", count, True)
            report(
                f"{count:>4} modules: Python allocations per module",
                sim_traced["traced_kib"] / count,
                "KiB",
                "bare asyncio object",
                bare_traced["traced_kib"] / count,
                digits=1,
            )
        report(
            f"{count:>4} modules: start-up per module",
            sim["seconds"] / count * 1000,
            "ms",
            "bare asyncio object",
            bare["seconds"] / count * 1000,
            digits=3,
            goal=Goal("<=", 3, on="figure") if largest else None,
        )
        report(
            f"{count:>4} modules: files left in TMPDIR",
            sim["tmp_files"],
            "files",
            "bare asyncio object",
            bare["tmp_files"],
            goal=Goal("<=", 0, on="figure") if largest else None,
        )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        kind, count, trace = sys.argv[2], int(sys.argv[3]), sys.argv[4] == "1"
        print(json.dumps(asyncio.run(measure(kind, count, trace))))
    else:
        main()
