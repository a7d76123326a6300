"""Driving ``crash_module.py`` and judging what a killed module left in its flash file;
shared by the suite's few kills and by ``bench/soak_crash.py``'s hundreds."""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from childwait import run_child
from esp_at_sim.factory import create_module
from esp_at_sim.flash import FlashImage, boot
from esp_at_sim.testing import AtHarness

HERE = Path(__file__).resolve().parent
CHILD = HERE / "crash_module.py"
sys.path.insert(0, str(HERE.parent / "flash"))

from crash_ops import LAYOUT  # noqa: E402

FACTORY, UPDATE = "v4.1.1.0", "v9.0.0"
# The versions a module may run after a crash during each operation, and after it ends.
VERSIONS = {"ota": (FACTORY, UPDATE), "rollback": (UPDATE, FACTORY), "settings": (FACTORY,)}


@dataclass
class Plan:
    """An operation ready to be cut: its base flash, its write count, the settings it
    stores step by step."""

    op: str
    base: Path
    writes: int
    states: list[dict[str, Any]]


def child(*args: str, timeout: float = 120) -> str:
    done = run_child(
        [sys.executable, str(CHILD), *args], capture_output=True, text=True, timeout=timeout
    )
    if done.returncode != 0:
        raise RuntimeError(f"crash_module.py {' '.join(args[:2])} failed:\n{done.stderr}")
    return done.stdout


def plan(op: str, workdir: Path) -> Plan:
    base = workdir / f"{op}-base.flash"
    probe = workdir / f"{op}-probe.flash"
    lines = child("plan", op, str(base), str(probe)).splitlines()
    writes = int(lines[0].removeprefix("writes="))
    states = json.loads(lines[1].removeprefix("states="))
    outcome = judge(op, probe, states, finished=True)
    assert outcome == "", outcome
    return Plan(op, base, writes, states)


def kill(plan: Plan, points: list[tuple[int, bool]], workdir: Path) -> list[tuple[Path, int, int]]:
    """Run ``plan.op`` once per (write number, tear) on a copy of its base, each killed
    there; returns (flash, signal, exit status) for each."""
    specs = []
    for index, (limit, tear) in enumerate(points):
        path = workdir / f"{plan.op}-cut{index}-{limit}-{int(tear)}.flash"
        shutil.copyfile(plan.base, path)
        specs.append(f"{limit}:{int(tear)}:{path}")
    out = child("kill", plan.op, *specs, timeout=60 + 2 * len(specs))
    results = []
    for line in out.splitlines():
        path, sig, status = line.rsplit(" ", 2)
        results.append((Path(path), int(sig), int(status)))
    return results


def judge(op: str, path: Path, states: list[dict[str, Any]], *, finished: bool) -> str:
    """What is wrong with the flash a module left behind ("" when nothing): it must boot
    an image that verifies, of an allowed version (the final one when the operation
    finished), with settings the operation stored at one of its steps (the last one when
    it finished), and it must boot in a module, answer AT and store settings again."""
    # The bootloader's choice, predicted without writing (a boot that the application
    # does not confirm is a crash of its own: the next one rolls back).
    with FlashImage.open(path, LAYOUT, durable=False) as flash:
        result = boot(flash, dry_run=True)
        stored = flash.settings().load()
    if result.failures:  # otadata names a slot whose image does not verify
        return f"boot: {result.failures}"
    version = result.version
    allowed = VERSIONS[op]
    if version not in (allowed[-1:] if finished else allowed):
        return f"version {version}, expected one of {allowed}"
    settings = {k: v.hex() if isinstance(v, bytes) else v for k, v in sorted(stored.items())}
    if settings not in (states[-1:] if finished else states):
        return f"settings {settings} were never stored by the operation"
    return asyncio.run(_boots(path, version))


async def _boots(path: Path, version: str) -> str:
    module = create_module(time_scale=0, flash=path)
    at = AtHarness(module)
    try:
        await module.start()
        await at.wait_for(b"ready\r\n")
        if version.encode() not in await at.cmd("AT+GMR"):
            return "AT+GMR does not show the version the bootloader chose"
        if not (await at.cmd('AT+CWHOSTNAME="after"')).endswith(b"OK\r\n"):
            return "AT does not answer after the crash"
        if not (await at.cmd("AT+CWAUTOCONN=1")).endswith(b"OK\r\n"):
            return "settings cannot be stored after the crash"
        return ""
    finally:
        await module.close()


def verdicts(plan: Plan, results: list[tuple[Path, int, int]]) -> list[str]:
    """A line per cut whose outcome is wrong."""
    bad = []
    for path, sig, status in results:
        if sig not in (0, signal.SIGKILL) or status not in (0, -1):
            bad.append(f"{path.name}: ended by signal {sig}, status {status}")
            continue
        problem = judge(plan.op, path, plan.states, finished=sig == 0)
        if problem:
            bad.append(f"{path.name}: {problem}")
    return bad
