"""Shared helpers for the benchmark scripts: start processes (stopped by PID, even on
error), wait for their port lines, start a module with its web server, the baselines
(AT echo responders, a bare aiohttp server), interleaved repeats with the server's CPU
time per operation, and the report line (also appended to ``$BENCH_RESULTS`` for the
table ``bench/summary.py`` prints at the end of ``make bench``).

Every child process starts with glibc's mmap threshold fixed (:data:`ALLOCATOR_ENV`):
without it, a process that once frees a large block (asyncio's 256 KiB read buffers,
a flash image) raises the threshold for good and stops mapping and unmapping memory on
every packet, while a fresh baseline keeps doing it. Fixed, the module and every
baseline start in the same allocator state."""

from __future__ import annotations

import contextlib
import json
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
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _terminated(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds, so every child process is stopped


signal.signal(signal.SIGTERM, _terminated)
BENCH = Path(__file__).resolve().parent
WEB_SCRIPT = "AT+CWMODE=3\nAT+WEBSERVER=1,80,25\n"

# glibc's mmap threshold, fixed for every child (see the module's docstring): blocks of
# up to 4 MiB come from the heap, in the module and in every baseline alike.
ALLOCATOR_ENV = {"MALLOC_MMAP_THRESHOLD_": str(4 * 1024 * 1024)}
CLOCK_TICK = os.sysconf("SC_CLK_TCK")


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
            env={**os.environ, **ALLOCATOR_ENV},
        )
        self._pending = b""

    @property
    def pid(self) -> int:
        return self.proc.pid

    def __enter__(self) -> Proc:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def cpu(self) -> float:
        """CPU seconds (user + system, every thread) the child has used so far."""
        return cpu_seconds(self.proc.pid)

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


@dataclass
class BareHttp:
    """The baseline web server's process and URL (without the trailing slash)."""

    proc: Proc
    url: str


@contextlib.contextmanager
def bare_http() -> Iterator[BareHttp]:
    """The baseline web server (bench/_bare_http.py) in its own process."""
    with Proc(sys.executable, str(BENCH / "_bare_http.py")) as proc:
        yield BareHttp(proc, proc.wait_line(r"Bare server: (http://\S+)").group(1).rstrip("/"))


# A minimal blocking AT responder: answers every line with the module's answer to "AT".
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


# The same answer from an asyncio protocol: what the module's own loop could do at best.
ASYNC_RESPONDER = r"""
import asyncio, socket
ANSWER = b"AT\r\n\r\nOK\r\n"
class Echo(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport, self.buf = transport, b""
        transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    def data_received(self, data):
        self.buf += data
        lines = self.buf.count(b"\r\n")
        if lines:
            self.buf = self.buf[self.buf.rfind(b"\r\n") + 2:]
            self.transport.write(ANSWER * lines)
async def main():
    server = await asyncio.get_running_loop().create_server(Echo, "127.0.0.1", 0)
    print(f"AT port: tcp://127.0.0.1:{server.sockets[0].getsockname()[1]}", flush=True)
    await asyncio.Event().wait()
asyncio.run(main())
"""


def echo_responder(kind: str = "tcp") -> Proc:
    """The blocking echo loop on ``kind`` (``tcp`` or ``pty``)."""
    return Proc(sys.executable, "-c", RESPONDER, kind)


def asyncio_responder() -> Proc:
    """The asyncio echo protocol on TCP."""
    return Proc(sys.executable, "-c", ASYNC_RESPONDER)


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


def cpu_seconds(pid: int) -> float:
    """CPU seconds of process ``pid``'s live threads, to the nanosecond where the kernel
    keeps schedstat (/proc/PID/task/*/schedstat), else in clock ticks (/proc/PID/stat)."""
    try:
        return (
            sum(
                int(task.joinpath("schedstat").read_text().split()[0])
                for task in Path(f"/proc/{pid}/task").iterdir()
            )
            / 1e9
        )
    except (OSError, ValueError, IndexError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICK


@dataclass(frozen=True)
class Sample:
    """One measurement window: its figure, and the server's CPU seconds per operation
    (``None`` where no server process of ours does the work)."""

    value: float
    cpu_per_op: float | None = None


def measured(proc: Proc | None, window: Callable[[], tuple[float, int]]) -> Sample:
    """Run ``window`` (which returns its figure and the operations it made) and charge
    the CPU time ``proc`` used meanwhile to those operations."""
    before = proc.cpu() if proc is not None else 0.0
    value, ops = window()
    if proc is None or ops <= 0:
        return Sample(value)
    return Sample(value, (proc.cpu() - before) / ops)


def interleave(repeats: int, *windows: Callable[[], Sample]) -> list[list[Sample]]:
    """``repeats`` rounds of every window in turn (ABAB...), so that whatever else the
    shared machine does falls on figure and baseline alike; the samples of each."""
    out: list[list[Sample]] = [[] for _ in windows]
    for _ in range(repeats):
        for samples, window in zip(out, windows, strict=True):
            samples.append(window())
    return out


def repeats_arg(default: int = 5) -> int:
    """``BENCH_REPEATS`` from the environment: interleaved windows per figure."""
    return max(1, int(os.environ.get("BENCH_REPEATS", default)))


@dataclass(frozen=True)
class Goal:
    """What a figure should reach: ``ratio`` (figure / baseline) or the ``figure``
    itself, at least (``>=``) or at most (``<=``) ``limit``; ``ceiling`` caps the
    ratio too (paced UART: never faster than the wire)."""

    op: str  # ">=" or "<="
    limit: float
    on: str = "ratio"  # or "figure"
    ceiling: float | None = None

    def met(self, figure: float, ratio: float) -> bool:
        value = ratio if self.on == "ratio" else figure
        ok = value >= self.limit if self.op == ">=" else value <= self.limit
        return ok and (self.ceiling is None or ratio <= self.ceiling)

    def text(self, unit: str) -> str:
        sign = "\u2265" if self.op == ">=" else "\u2264"
        if self.on == "figure":
            return f"{sign} {self.limit:g} {unit}"
        cap = f", \u2264 {self.ceiling:g}" if self.ceiling is not None else ""
        return f"ratio {sign} {self.limit:g}{cap}"


def _spread(values: Sequence[float], digits: int) -> str:
    if len(values) < 2:
        return f"{values[0]:,.{digits}f}"
    return (
        f"{median(values):,.{digits}f} ({min(values):,.{digits}f}\u2013{max(values):,.{digits}f})"
    )


def _cpu_text(samples: Sequence[Sample]) -> str:
    cpus = [s.cpu_per_op for s in samples if s.cpu_per_op is not None]
    return f", CPU {median(cpus) * 1e6:,.1f} \u00b5s/op" if cpus else ""


def report(
    name: str,
    figure: float | Sequence[Sample],
    unit: str,
    baseline_name: str,
    baseline: float | Sequence[Sample],
    *,
    digits: int = 0,
    goal: Goal | None = None,
    note: str = "",
) -> None:
    """Print one figure against its baseline (medians; with the spread, min-max, and the
    server's CPU time per operation when repeated samples are given), and append it to
    the ``$BENCH_RESULTS`` file for the closing table."""
    ours = [Sample(figure)] if isinstance(figure, int | float) else list(figure)
    theirs = [Sample(baseline)] if isinstance(baseline, int | float) else list(baseline)
    fig = median([s.value for s in ours])
    base = median([s.value for s in theirs])
    ratio = fig / base if base else float("nan")
    met = goal.met(fig, ratio) if goal is not None else None
    verdict = "" if goal is None else f"   goal {goal.text(unit)}: {'met' if met else 'NOT met'}"
    print(
        f"{name}: {_spread([s.value for s in ours], digits)} {unit}{_cpu_text(ours)}   "
        f"baseline ({baseline_name}): {_spread([s.value for s in theirs], digits)} {unit}"
        f"{_cpu_text(theirs)}   ratio {ratio:.2f}{verdict}{'   ' + note if note else ''}",
        flush=True,
    )
    out = os.environ.get("BENCH_RESULTS")
    if out:
        row = Row(
            name=name,
            unit=unit,
            digits=digits,
            figure=fig,
            baseline_name=baseline_name,
            baseline=base,
            ratio=ratio,
            goal=goal.text(unit) if goal is not None else "",
            met=met,
            note=note,
        )
        with open(out, "a") as results:
            results.write(json.dumps(asdict(row)) + "\n")


@dataclass(frozen=True)
class Row:
    """One line of the closing table (``bench/summary.py``)."""

    name: str
    unit: str
    digits: int
    figure: float
    baseline_name: str
    baseline: float
    ratio: float
    goal: str
    met: bool | None
    note: str
