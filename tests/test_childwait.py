"""The test suite's bound on child processes: run_child waits past a timeout's first
second without losing input or output, and stops a child that outlives its time."""

from __future__ import annotations

import subprocess
import sys

import pytest

from childwait import run_child


def test_input_and_output_survive_waits_longer_than_one_poll() -> None:
    slow = "import sys, time; time.sleep(1.5); print(sys.stdin.read().upper())"
    done = run_child([sys.executable, "-c", slow], timeout=30, input=b"slow", capture_output=True)
    assert (done.returncode, done.stdout) == (0, b"SLOW\n")


def test_a_child_that_outlives_its_time_is_killed() -> None:
    with pytest.raises(subprocess.TimeoutExpired):
        run_child([sys.executable, "-c", "import time; time.sleep(30)"], timeout=0.5)


def test_check_raises_on_a_failing_child() -> None:
    with pytest.raises(subprocess.CalledProcessError):
        run_child([sys.executable, "-c", "raise SystemExit(3)"], timeout=30, check=True)
