"""Soak: kill a module hundreds of times in the middle of an OTA upload (through the web
server, then ``AT+RST``), an otadata switch (``AT+SYSROLLBACK``, ``AT+RST``) and a run
of settings saves, and boot what it left behind every time.

Two kinds of kill: at every raw flash write of each operation, whole and torn in half
(SIGKILL from inside, as ``tests/flash`` does, but around the whole module), and at a
random moment of a real ``esp-at-sim run --flash`` process driven over its AT port and
HTTP (SIGKILL from outside, at a time drawn from the operation's own duration).
Each result must boot a verified image of an allowed version with settings the
operation stored at one of its steps, answer AT and store settings again
(``tests/hardening/crash_check.py``). Loopback only; every child is killed by its PID.
Usage: python bench/soak_crash.py [timed-kills-per-operation]   (default 40)"""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import signal
import sys
import tempfile
import threading
import time
from http.client import HTTPConnection
from pathlib import Path

from _common import ROOT, AtSocket, web_module

sys.path.insert(0, str(ROOT / "tests"))

from hardening.crash_check import Plan, judge, kill, plan, verdicts
from hardening.crash_module import IMAGE, SETTINGS_STEPS

OPS = ("ota", "rollback", "settings")


def every_write(prepared: Plan, workdir: Path) -> tuple[int, list[str]]:
    points = [(n, tear) for n in range(prepared.writes) for tear in (False, True)]
    results = kill(prepared, points, workdir)
    bad = verdicts(prepared, results)
    for path, _, _ in results:
        path.unlink(missing_ok=True)
    return len(results), bad


class Driver:
    """Runs an operation on a module process; ``pid`` and ``started`` let another
    thread kill that process while it works."""

    def __init__(self) -> None:
        self.pid = 0
        self.started = threading.Event()
        self.finished = False

    def drive(self, op: str, flash: Path) -> float:
        """Run ``op`` on a module process using ``flash``; seconds from the module's
        first answer to the end of the operation. OSError when the module is killed."""
        with web_module("--flash", str(flash)) as module:
            self.pid = module.proc.pid
            at = AtSocket(module.at_port)
            start = time.monotonic()
            self.started.set()
            try:
                if op == "ota":
                    host, port = module.url.removeprefix("http://").split(":")
                    http = HTTPConnection(host, int(port), timeout=10)
                    http.request("POST", "/setotadata", body=IMAGE, headers={"Object": "ota"})
                    answer = http.getresponse()
                    http.close()
                    if answer.status != 200:
                        raise RuntimeError(f"upload: {answer.status}")
                if op == "rollback":
                    at.roundtrip(b"AT+SYSROLLBACK\r\n")
                if op in ("ota", "rollback"):
                    at.roundtrip(b"AT+RST\r\n")
                    at.roundtrip(b"", b"ready\r\n")  # the image is confirmed by then
                else:
                    for line in SETTINGS_STEPS:
                        at.roundtrip(line.encode() + b"\r\n")
                self.finished = True
                return time.monotonic() - start
            finally:
                at.close()


def timed_kill(op: str, prepared: Plan, flash: Path, delay: float) -> tuple[bool, str]:
    """Drive ``op`` and SIGKILL the module ``delay`` seconds after it started; whether
    the operation finished first, and what is wrong with the flash ("" if nothing)."""
    shutil.copyfile(prepared.base, flash)
    driver = Driver()

    def run() -> None:
        with contextlib.suppress(OSError, RuntimeError):  # killed under our feet
            driver.drive(op, flash)

    worker = threading.Thread(target=run)
    worker.start()
    if driver.started.wait(20):
        time.sleep(delay)
        if not driver.finished:
            with contextlib.suppress(ProcessLookupError):
                os.kill(driver.pid, signal.SIGKILL)
    worker.join(60)
    return driver.finished, judge(op, flash, prepared.states, finished=driver.finished)


def main() -> None:
    per_op = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    rng = random.Random(int(os.environ.get("SOAK_SEED", "1")))
    failures: list[str] = []
    trials = 0
    with tempfile.TemporaryDirectory(prefix="esp-at-soak-") as tmp:
        workdir = Path(tmp)
        for op in OPS:
            prepared = plan(op, workdir)
            count, bad = every_write(prepared, workdir)
            trials += count
            failures += [f"{op} (write kill) {line}" for line in bad]
            print(
                f"{op}: killed at each of {prepared.writes} writes, whole and torn: "
                f"{count} trials, {len(bad)} failures",
                flush=True,
            )
            flash = workdir / f"{op}-timed.flash"
            shutil.copyfile(prepared.base, flash)
            duration = Driver().drive(op, flash)  # how long an uncut run takes
            done = 0
            for _ in range(per_op):
                finished, problem = timed_kill(op, prepared, flash, rng.uniform(0, duration))
                trials += 1
                done += finished
                if problem:
                    failures.append(f"{op} (timed kill) {problem}")
            print(
                f"{op}: killed at random times within {duration:.2f} s: {per_op} trials "
                f"({done} finished first), failures so far {len(failures)}",
                flush=True,
            )
    print(json.dumps({"trials": trials, "failures": failures}, indent=1))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
