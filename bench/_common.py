"""Shared helpers for the benchmark scripts: start processes (stopped by PID, even on
error), wait for their port lines, start a module with its web server, the baselines
(an AT echo responder, a bare aiohttp server), and the report line."""

from __future__ import annotations

import contextlib
import os
import re
import select
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _terminated(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds, so every child process is stopped


signal.signal(signal.SIGTERM, _terminated)
BENCH = Path(__file__).resolve().parent
WEB_SCRIPT = "AT+CWMODE=3\nAT+WEBSERVER=1,80,25\n"


class Proc:
    """A child process whose standard output is scanned for a line. Standard error goes
    to a temporary file (shown when the child fails), so a chatty child never blocks on
    a full pipe."""

    def __init__(self, *args: str, cwd: Path = ROOT) -> None:
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - closed by stop()
        self.proc = subprocess.Popen(
            [*args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            cwd=cwd,
        )
        self._pending = b""

    @property
    def pid(self) -> int:
        return self.proc.pid

    def __enter__(self) -> Proc:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stderr(self) -> str:
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace")

    def wait_line(self, pattern: str, timeout: float = 20.0) -> re.Match[str]:
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            while b"\n" in self._pending:
                raw, _, self._pending = self._pending.partition(b"\n")
                if m := re.fullmatch(pattern, raw.decode(errors="replace").rstrip()):
                    return m
            ready, _, _ = select.select([fd], [], [], 0.1)
            if ready:
                chunk = os.read(fd, 65536)
                if not chunk:
                    break
                self._pending += chunk
        raise RuntimeError(
            f"no line like {pattern!r} from {self.proc.args}\n{self.stderr()[-2000:]}"
        )

    def stop(self) -> None:
        """SIGTERM to our child, SIGKILL if it does not go within 10 s."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self._stderr.close()


def simulator(*args: str) -> Proc:
    return Proc(sys.executable, "-m", "esp_at_sim", "run", *args)


@dataclass
class WebModule:
    """``esp-at-sim run`` with its web server up (mode 3, ``AT+WEBSERVER=1,80,25``)."""

    proc: Proc
    url: str  # without the trailing slash
    dns_port: int
    at_port: int


@contextlib.contextmanager
def web_module(*extra: str) -> Iterator[WebModule]:
    """A module in a subprocess at time scale 0, AT on TCP, web and DNS on free ports."""
    with tempfile.TemporaryDirectory(prefix="esp-at-bench-") as tmp:
        script = Path(tmp) / "web.at"
        script.write_text(WEB_SCRIPT)
        with simulator(
            "--at",
            "tcp:127.0.0.1:0",
            "--time-scale",
            "0",
            "--port-map",
            "80=0",
            "--port-map",
            "53=0",
            "--script",
            str(script),
            *extra,
        ) as proc:
            url = proc.wait_line(r"Web server: (http://\S+)").group(1).rstrip("/")
            dns = int(proc.wait_line(r"Captive DNS: udp://127\.0\.0\.1:(\d+)").group(1))
            at = int(proc.wait_line(r"AT port: tcp://127\.0\.0\.1:(\d+)").group(1))
            yield WebModule(proc, url, dns, at)


@contextlib.contextmanager
def bare_http() -> Iterator[str]:
    """The baseline web server (bench/_bare_http.py) in its own process; its URL."""
    with Proc(sys.executable, str(BENCH / "_bare_http.py")) as proc:
        yield proc.wait_line(r"Bare server: (http://\S+)").group(1).rstrip("/")


# A minimal AT responder: answers every line with the module's answer to "AT".
RESPONDER = r"""
import os, pty, socket, sys, tty
ANSWER = b"AT\r\n\r\nOK\r\n"
kind = sys.argv[1]
def serve(read, write):
    buf = b""
    while True:
        data = read()
        if not data:
            return
        buf += data
        while b"\r\n" in buf:
            _, _, buf = buf.partition(b"\r\n")
            write(ANSWER)
if kind == "tcp":
    srv = socket.create_server(("127.0.0.1", 0))
    print(f"AT port: tcp://127.0.0.1:{srv.getsockname()[1]}", flush=True)
    while True:
        conn, _ = srv.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        serve(lambda: conn.recv(65536), conn.sendall)
else:
    master, slave = pty.openpty()
    tty.setraw(slave)
    print(f"AT port: {os.ttyname(slave)}", flush=True)
    def read():
        try:
            return os.read(master, 65536)
        except OSError:
            return b"x"
    serve(read, lambda d: os.write(master, d))
"""


def echo_responder(kind: str = "tcp") -> Proc:
    return Proc(sys.executable, "-c", RESPONDER, kind)


class AtSocket:
    """A TCP connection to an AT port, one command at a time."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.seen = b""  # everything received, for URC checks
        time.sleep(0.2)  # the module attaches the client before it reads

    def close(self) -> None:
        self.sock.close()

    def roundtrip(self, line: bytes = b"AT\r\n", final: bytes = b"OK\r\n") -> float:
        """Seconds from sending ``line`` to receiving ``final``."""
        start = time.perf_counter()
        self.sock.sendall(line)
        got = b""
        while not got.endswith(final):
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("the AT port closed")
            got += chunk
        self.seen += got
        return time.perf_counter() - start

    def drain(self, wait: float = 0.2) -> bytes:
        """Whatever arrives within ``wait`` seconds."""
        self.sock.settimeout(wait)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    break
                self.seen += chunk
        except TimeoutError:
            pass
        finally:
            self.sock.settimeout(10)
        return self.seen


def require(tool: str) -> str:
    """The path of an external tool, or exit with how to get it."""
    path = shutil.which(tool)
    if path is None:
        sys.exit(
            f"{Path(sys.argv[0]).name}: needs {tool!r} (Debian package {tool}): "
            f"apt-get install {tool}, or run `make bench` as root"
        )
    return path


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentile(samples: Sequence[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


def median(samples: Sequence[float]) -> float:
    return statistics.median(samples)


def seconds_arg(default: float) -> float:
    """The optional first argument: seconds per measurement."""
    return float(sys.argv[1]) if len(sys.argv) > 1 else default


def report(
    name: str,
    figure: float,
    unit: str,
    baseline_name: str,
    baseline: float,
    *,
    digits: int = 0,
) -> None:
    ratio = figure / baseline if baseline else float("nan")
    print(
        f"{name}: {figure:,.{digits}f} {unit}   baseline ({baseline_name}): "
        f"{baseline:,.{digits}f} {unit}   ratio {ratio:.2f}",
        flush=True,
    )
