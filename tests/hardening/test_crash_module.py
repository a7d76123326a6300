"""A whole module killed (SIGKILL) in the middle of an OTA upload through the web
server, an ``AT+SYSROLLBACK`` otadata switch, and a run of settings saves, at a few
raw flash writes; the flash it leaves boots a verified image of an allowed version with
settings it stored at some step. ``tests/flash`` cuts the flash library at every write;
``bench/soak_crash.py`` does this at every write, torn and whole, and at random times."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from .crash_check import Plan, kill, plan, verdicts

POINTS = 3  # random writes per operation, plus its last one


@pytest.mark.parametrize("op", ["ota", "rollback", "settings"])
def test_killed_module_leaves_a_bootable_flash(tmp_path: Path, op: str) -> None:
    prepared: Plan = plan(op, tmp_path)
    assert prepared.writes >= 3
    rng = random.Random(op)
    picks = sorted(rng.sample(range(prepared.writes), min(POINTS, prepared.writes)))
    points = [(n, rng.random() < 0.5) for n in picks] + [(prepared.writes - 1, True)]
    results = kill(prepared, points, tmp_path)
    assert len(results) == len(points)
    assert sum(1 for _, sig, _ in results if sig) == len(points)  # every one was killed
    assert verdicts(prepared, results) == []
