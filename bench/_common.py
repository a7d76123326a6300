"""Shared helpers for the benchmark scripts: start processes, wait for their port lines."""

from __future__ import annotations

import os
import re
import select
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


class Proc:
    """A child process whose standard output is scanned for a line."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [*args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=ROOT,
        )
        self._pending = b""

    def wait_line(self, pattern: str, timeout: float = 20.0) -> re.Match[str]:
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            while b"\n" in self._pending:
                raw, _, self._pending = self._pending.partition(b"\n")
                if m := re.fullmatch(pattern, raw.decode().rstrip()):
                    return m
            ready, _, _ = select.select([fd], [], [], 0.1)
            if ready:
                chunk = os.read(fd, 65536)
                if not chunk:
                    break
                self._pending += chunk
        raise RuntimeError(f"no line like {pattern!r} from {self.proc.args}")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def simulator(*args: str) -> Proc:
    return Proc(sys.executable, "-m", "esp_at_sim", "run", *args)


def report(name: str, figure: float, unit: str, baseline_name: str, baseline: float) -> None:
    ratio = figure / baseline if baseline else float("nan")
    print(
        f"{name}: {figure:,.0f} {unit}   baseline ({baseline_name}): {baseline:,.0f} {unit}"
        f"   ratio {ratio:.2f}"
    )
