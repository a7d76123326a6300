"""Crash safety: interrupt OTA, otadata switches and settings saves at every write.

Two harnesses. The first is real: a child process does the operation with fsync on and
SIGKILLs itself just before raw write N (optionally after half of it). The second models
a power cut, which SIGKILL cannot: everything written since the last fsync may be lost,
kept, or kept in part, in any combination; it checks the fsync ordering.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from crash_ops import LAYOUT, NEW, OLD, OPS, V1, V2, check, prepare, run

from esp_at_sim.flash import FlashImage
from esp_at_sim.flash.flashio import FlashDevice

CHILD = Path(__file__).with_name("crash_child.py")


def _assert_consistent(op: str, path: Path, finished: bool) -> None:
    version, stored = check(path)
    assert version in (V1, V2)
    assert stored in (OLD, NEW)
    if op == "settings":
        assert version == V1 and (stored == NEW or not finished)
    else:
        assert stored == OLD and (version == V2 or not finished)
    with FlashImage.open(path, LAYOUT, durable=False) as flash:  # still usable afterwards
        flash.settings().save({"after": 1})
        assert flash.settings().load() == {**stored, "after": 1}


def _points(total: int, limit: int) -> list[int]:
    if total <= limit:
        return list(range(total))
    picks = {0, 1, 2, total - 1, total - 2, total - 3, total - 4}
    picks |= set(random.Random(total).sample(range(total), limit - len(picks)))
    return sorted(picks)


@pytest.mark.parametrize("op", OPS)
def test_sigkill_at_every_write(tmp_path: Path, op: str) -> None:
    base = tmp_path / "base.flash"
    prepare(op, base)
    probe = tmp_path / "probe.flash"
    shutil.copyfile(base, probe)
    command = [sys.executable, str(CHILD)]
    done = subprocess.run(
        [*command, "count", op, str(probe)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    total = int(done.stdout.strip().split("=")[1])
    assert total >= 2
    _assert_consistent(op, probe, finished=True)
    specs = []
    for n in _points(total, 14):
        for tear in (0, 1):
            path = tmp_path / f"cut{n}_{tear}.flash"
            shutil.copyfile(base, path)
            specs.append(f"{n}:{tear}:{path}")
    half = len(specs) // 2
    children = [
        subprocess.Popen([*command, "kill", op, *part], stdout=subprocess.PIPE, text=True)
        for part in (specs[:half], specs[half:])
    ]
    outcomes = []
    for child in children:
        out, _ = child.communicate(timeout=60)
        assert child.returncode == 0
        outcomes += [line.rsplit(" ", 1) for line in out.splitlines()]
    assert len(outcomes) == len(specs)
    for path, sig in outcomes:
        assert int(sig) == signal.SIGKILL, path
        _assert_consistent(op, Path(path), finished=False)


class PowerCut(BaseException):
    """Raised instead of the write during which the power fails."""


class PowerCutDevice(FlashDevice):
    """Remembers what is durable; writes since the last sync are at the kernel's mercy."""

    def __init__(self, path: Path, cut_at: int) -> None:
        fd = os.open(path, os.O_RDWR)
        super().__init__(fd, os.fstat(fd).st_size, writable=True, durable=False)
        self.durable_bytes = bytearray(path.read_bytes())
        self.pending: list[tuple[int, bytes]] = []
        self.cut_at = cut_at
        self.count = 0

    def write_raw(self, offset: int, data: bytes) -> None:
        if self.count == self.cut_at:
            self.pending.append((offset, bytes(data)))
            raise PowerCut
        self.count += 1
        super().write_raw(offset, data)
        self.pending.append((offset, bytes(data)))

    def sync(self) -> None:
        for offset, data in self.pending:
            self.durable_bytes[offset : offset + len(data)] = data
        self.pending.clear()

    def after_cut(self, rng: random.Random) -> bytes:
        image = bytearray(self.durable_bytes)
        for offset, data in self.pending:
            fate = rng.random()
            if fate < 0.35:
                continue  # never reached the disk
            if fate < 0.6:
                data = data[: rng.randrange(len(data) + 1)]  # torn
            image[offset : offset + len(data)] = data
        return bytes(image)


@pytest.mark.parametrize("op", OPS)
def test_power_cut_at_every_write(tmp_path: Path, op: str) -> None:
    base = tmp_path / "base.flash"
    prepare(op, base)
    work = tmp_path / "work.flash"
    cut = tmp_path / "cut.flash"
    total = None
    for cut_at in range(10_000):
        if total is not None and cut_at > total:
            break
        if total is not None and total > 40 and cut_at not in _points(total, 30):
            continue
        shutil.copyfile(base, work)
        device = PowerCutDevice(work, cut_at)
        with FlashImage(work, device, LAYOUT) as flash:
            try:
                run(op, flash)
                total = device.count
                finished = True
            except PowerCut:
                finished = False
        for seed in range(4):
            cut.write_bytes(device.after_cut(random.Random(seed * 1000 + cut_at)))
            _assert_consistent(op, cut, finished=finished and not device.pending)
