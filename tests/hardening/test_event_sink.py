"""The event log (``run --events FILE``) as an attack surface: a full disk, a sink that
fails and then recovers, a record cut off by a file-size limit, and a flood against the
size cap. The module must keep answering; the log reports once and holds whole lines."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from childwait import run_child
from esp_at_sim.cli.eventlog import EventLog
from esp_at_sim.core.events import Event
from esp_at_sim.factory import create_module
from esp_at_sim.testing import AtHarness

from .conftest import no_tasks_left
from .simproc import SimProcess

LOGGER = "esp_at_sim.cli.eventlog"


def records(path: Path) -> list[dict[str, Any]]:
    """Every line of an event log, each of which must be a whole JSON object."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_a_full_device_never_stops_the_module(tmp_path: Path) -> None:
    sim = SimProcess(tmp_path, "--events", "/dev/full")
    try:
        for _ in range(20):
            sim.at_ok_within(5)
        assert sim.at("AT+CWMODE?").endswith(b"+CWMODE:3\r\n\r\nOK\r\n")
    finally:
        code = sim.stop()
    err = sim.stderr()
    assert code == 0
    assert "Traceback" not in err
    assert err.count("event log /dev/full: cannot write (No space left on device)") == 1, err


def log_fd(path: Path) -> int:
    """This process's descriptor open on ``path``."""
    for name in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{name}") == str(path):
                return int(name)
        except OSError:
            continue
    raise AssertionError(f"{path} is not open")


async def test_a_sink_that_fails_then_recovers(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The disk fills (the log's descriptor is swapped for /dev/full), the module goes on
    answering; space comes back and the log resumes, saying how many events it lost."""
    path = tmp_path / "events.jsonl"
    module = create_module(time_scale=0)
    log = EventLog(str(path))
    log.attach(module.bus)
    at = AtHarness(module)
    during: list[Event] = []
    try:
        await module.start()
        assert (await at.cmd("AT")).endswith(b"\r\nOK\r\n")
        fd = log_fd(path)
        saved, full = os.dup(fd), os.open("/dev/full", os.O_WRONLY)
        os.dup2(full, fd)
        unsubscribe = module.bus.subscribe(during.append)
        try:
            for _ in range(5):
                assert (await at.cmd("AT")).endswith(b"\r\nOK\r\n")
            assert (await at.cmd("AT+CWMODE=1")).endswith(b"\r\nOK\r\n")
        finally:
            unsubscribe()
            os.dup2(saved, fd)
            os.close(saved)
            os.close(full)
        assert (await at.cmd("AT+CWMODE?")).endswith(b"+CWMODE:1\r\n\r\nOK\r\n")
    finally:
        log.close()
        await module.close()
        await no_tasks_left()
    assert len(during) >= 12  # each command: at least its line in, and its answer out
    logged = records(path)
    gaps = [r for r in logged if r["kind"] == "log.lost"]
    assert [g["events"] for g in gaps] == [len(during)]
    after = logged[logged.index(gaps[0]) + 1 :]
    assert any("AT+CWMODE?" in json.dumps(r) for r in after)
    warnings = [r.getMessage() for r in caplog.records if r.name == LOGGER]
    assert len(warnings) == 2, warnings
    assert "cannot write (No space left on device)" in warnings[0]
    assert f"writing again after losing {len(during)} events" in warnings[1]


CUT_OFF = """
import json, resource, sys
from esp_at_sim.cli.eventlog import EventLog
from esp_at_sim.core.events import Event, EventBus
resource.setrlimit(resource.RLIMIT_FSIZE, (1000, resource.RLIM_INFINITY))
bus = EventBus()
log = EventLog(sys.argv[1])
log.attach(bus)
for n in range(40):
    bus.emit(Event("at.in", n * 0.5, {"line": "AT+GMR " + "x" * 40, "n": n}))
log.close()
print(log.lost)  # since the last gap record that was written
"""


def test_a_record_cut_off_by_a_full_file_is_taken_back(tmp_path: Path) -> None:
    """A file-size limit stops a record half-way: the file keeps whole lines only."""
    path = tmp_path / "events.jsonl"
    code = textwrap.dedent(CUT_OFF)
    done = run_child(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr
    every = records(path)
    logged = [r for r in every if r["kind"] != "log.lost"]
    lost = int(done.stdout) + sum(r["events"] for r in every if r["kind"] == "log.lost")
    assert len(logged) + lost == 40 and lost > 0
    assert [r["n"] for r in logged] == list(range(len(logged)))
    assert path.stat().st_size <= 1000
    assert done.stderr.count("cannot write (File too large)") == 1


async def test_the_size_cap_rotates(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    module = create_module(time_scale=0)
    log = EventLog(str(path), max_bytes=2048)
    log.attach(module.bus)
    seen: list[Event] = []
    module.bus.subscribe(seen.append)
    at = AtHarness(module)
    try:
        await module.start()
        for n in range(60):
            assert (await at.cmd(f'AT+CWHOSTNAME="host{n}"')).endswith(b"\r\nOK\r\n")
    finally:
        log.close()
        await module.close()
        await no_tasks_left()
    older, newer = Path(f"{path}.1"), path
    assert older.stat().st_size <= 2048 and newer.stat().st_size <= 2048
    kept = records(older) + records(newer)
    # the two files end with the newest events, in order and without a gap
    assert [(r["kind"], r["t"]) for r in kept] == [
        (e.kind, round(e.t, 6)) for e in seen[len(seen) - len(kept) :]
    ]
    assert "host59" in json.dumps(records(newer)[-4:])


def test_run_refuses_a_size_cap_without_a_file(tmp_path: Path) -> None:
    for extra, message in (
        (["--events-max-bytes", "4096"], "--events-max-bytes needs --events FILE"),
        (["--events", "/dev/null", "--events-max-bytes", "4096"], "needs a regular file"),
        (["--events", str(tmp_path / "e"), "--events-max-bytes", "10"], "at least 1024"),
    ):
        done = run_child(
            [sys.executable, "-m", "esp_at_sim", "run", "--at", "tcp:0", *extra],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert done.returncode == 2 and message in done.stderr, done.stderr
        assert "Traceback" not in done.stderr
