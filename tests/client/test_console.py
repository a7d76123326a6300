"""``esp-at-sim console`` in a subprocess, against ``esp-at-sim run`` on a TCP port."""

from __future__ import annotations

import os
import select
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from childwait import Deadline

from .test_links import _free_port

CONSOLE = [sys.executable, "-m", "esp_at_sim.cli.console"]
SIM = [sys.executable, "-m", "esp_at_sim"]
WAIT = 15.0


def _read_until(
    fd: int, marker: bytes, *pids: int, timeout: float = WAIT, already: bytes = b""
) -> bytes:
    """Read ``fd`` until ``marker`` has been seen (bounded), after what was read
    ``already`` (the part of an earlier read that followed its marker); ``pids`` are the
    processes that write it."""
    out = already
    deadline = Deadline(timeout, *pids)  # less the time they (or we) waited for a CPU
    while marker not in out:
        left = deadline.remaining()
        assert left > 0, f"{marker!r} never came; got {out!r}"
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # a PTY master whose slave is closed
                chunk = b""
            assert chunk, f"end of output before {marker!r}; got {out!r}"
            out += chunk
    return out


@pytest.fixture
def sim() -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """``esp-at-sim run`` on a free TCP port at time scale 0, and its AT port spec."""
    proc = subprocess.Popen(
        [*SIM, "run", "--at", "tcp:127.0.0.1:0", "--time-scale", "0"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert proc.stdout is not None
        line = _read_until(proc.stdout.fileno(), b"\n", proc.pid).decode()
        assert line.startswith("AT port: tcp://127.0.0.1:")
        yield proc, "tcp:" + line.strip().removeprefix("AT port: tcp://")
    finally:
        proc.terminate()
        proc.wait(WAIT)
        if proc.stdout is not None:
            proc.stdout.close()


def _console(spec: str, text: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CONSOLE, spec], input=text, capture_output=True, text=True, timeout=WAIT, check=False
    )


def test_piped_session(sim: tuple[subprocess.Popen[bytes], str]) -> None:
    lines = [
        "AT",
        "AT+GMR",
        "",
        "AT+CWMODE=3",
        'AT+CWJAP="HomeNet","sunflower42"',
        'AT+CWJAP="HomeNet","nope"',
        "BOGUS",
        'AT+SYSFLASH=0,"mfg_nvs",0,4096',
        'AT+SYSFLASH=1,"mfg_nvs",0,4',
        "a,b\\",
        'AT+SYSFLASH=2,"mfg_nvs",0,4',
        "AT+RST",
        "AT+CWMODE?",
    ]
    result = _console(sim[1], "\n".join(lines) + "\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "AT",
        "OK",
        "AT+GMR",
        *result.stdout.splitlines()[3:7],
        "OK",
        "AT+CWMODE=3",
        "OK",
        'AT+CWJAP="HomeNet","sunflower42"',
        "WIFI CONNECTED",
        "WIFI GOT IP",
        "OK",
        'AT+CWJAP="HomeNet","nope"',
        "WIFI DISCONNECT",
        "+CWJAP:2",
        "ERROR",
        "BOGUS",
        "ERROR",
        'AT+SYSFLASH=0,"mfg_nvs",0,4096',
        "OK",
        'AT+SYSFLASH=1,"mfg_nvs",0,4',
        ">",
        "a,b\\",
        "OK",
        'AT+SYSFLASH=2,"mfg_nvs",0,4',
        "+SYSFLASH:4,a,b\\",
        "OK",
        "AT+RST",
        "OK",
        "ready",
        "AT+CWMODE?",
        "+CWMODE:3",  # stored, as AT+SYSSTORE is 1
        "OK",
    ]
    assert result.stdout.splitlines()[3].startswith("AT version:4.1.1.0(")
    assert result.stderr == ""


def test_exit_ends_the_session(sim: tuple[subprocess.Popen[bytes], str]) -> None:
    result = _console(sim[1], "AT\nexit\nAT+GMR\n")
    assert result.returncode == 0
    assert result.stdout.splitlines() == ["AT", "OK"]


def test_unreachable_port() -> None:
    result = _console(f"tcp:127.0.0.1:{_free_port()}", "AT\n")
    assert result.returncode == 2
    assert "cannot connect to tcp:127.0.0.1:" in result.stderr
    assert result.stdout == ""
    missing = _console("/dev/esp-at-sim-no-such-port", "AT\n")
    assert missing.returncode == 2
    assert "cannot open /dev/esp-at-sim-no-such-port" in missing.stderr


def test_port_lost_during_the_session(sim: tuple[subprocess.Popen[bytes], str]) -> None:
    proc, spec = sim
    console = subprocess.Popen(
        [*CONSOLE, spec], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        assert console.stdin is not None and console.stdout is not None
        console.stdin.write(b"AT\n")
        console.stdin.flush()
        assert _read_until(console.stdout.fileno(), b"OK\n", console.pid, proc.pid) == b"AT\nOK\n"
        proc.terminate()
        proc.wait(WAIT)
        console.stdin.write(b"AT\n")
        console.stdin.close()
        assert console.wait(WAIT) == 1
        assert console.stderr is not None
        assert b"closed" in console.stderr.read()
    finally:
        if console.poll() is None:
            console.kill()
            console.wait(WAIT)
        for stream in (console.stdout, console.stderr):
            if stream is not None:
                stream.close()


def test_interactive_terminal_keeps_history(
    sim: tuple[subprocess.Popen[bytes], str], tmp_path: Path
) -> None:
    master, slave = os.openpty()
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path), "TERM": "dumb"}
    console = subprocess.Popen([*CONSOLE, sim[1]], stdin=slave, stdout=slave, stderr=slave, env=env)
    try:
        os.close(slave)
        slave = -1
        _read_until(master, b"AT> ", console.pid, sim[0].pid)
        os.write(master, b"AT+CWMODE?\r")
        answer = _read_until(master, b"OK", console.pid, sim[0].pid)
        assert b"+CWMODE:1" in answer
        # readline is waiting again (its prompt may have come, whole or in part, with
        # the answer's last read)
        _read_until(master, b"AT> ", console.pid, sim[0].pid, already=answer.partition(b"OK")[2])
        os.write(master, b"\x04")  # Ctrl-D
        assert console.wait(WAIT) == 0
    finally:
        if console.poll() is None:
            console.kill()
            console.wait(WAIT)
        if slave >= 0:
            os.close(slave)
        os.close(master)
    history = tmp_path / "esp-at-sim" / "history"
    assert "AT+CWMODE?" in history.read_text()
