"""A module in a child process (``esp-at-sim run``) with its web server, captive DNS and
AT port on loopback, for tests that abuse it from the outside.

The child runs at time scale 0 with ``AT+CWMODE=3`` and ``AT+WEBSERVER=1,80,25`` done by
its start-up script. Its output goes to files (never a pipe that could fill up and stall
it); it is stopped by its PID, with SIGKILL after a bounded wait.
"""

from __future__ import annotations

import os
import re
import resource
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from childwait import Deadline

ROOT = Path(__file__).resolve().parents[2]
WEB_SCRIPT = "AT+CWMODE=3\nAT+WEBSERVER=1,80,25\n"
FINALS = (b"\r\nOK\r\n", b"\r\nERROR\r\n")
START_TIMEOUT = 15.0


def _limit_files(count: int) -> Callable[[], None]:
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (count, count))

    return limit


class SimProcess:
    """``esp-at-sim run`` with the web server up; ``url``, ``dns_port``, ``at_port``."""

    def __init__(
        self,
        workdir: Path,
        *extra: str,
        script: str = WEB_SCRIPT,
        env: dict[str, str] | None = None,
        open_files: int | None = None,
    ) -> None:
        """``open_files``: the child's limit of open file descriptors (RLIMIT_NOFILE)."""
        workdir.mkdir(parents=True, exist_ok=True)
        self.workdir = workdir
        script_file = workdir / "start.at"
        script_file.write_text(script)
        self.stdout_path = workdir / "stdout.txt"
        self.stderr_path = workdir / "stderr.txt"
        args = [
            sys.executable,
            "-m",
            "esp_at_sim",
            "run",
            "--at",
            "tcp:127.0.0.1:0",
            "--time-scale",
            "0",
            "--port-map",
            "80=0",
            "--port-map",
            "53=0",
            "--script",
            str(script_file),
            *extra,
        ]
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(
                args,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                cwd=ROOT,
                env=env,
                preexec_fn=None if open_files is None else _limit_files(open_files),
            )
        self._at: socket.socket | None = None
        self._after = b""  # what arrived after the last final result (URCs)
        # Starting Python and the simulator takes a loaded machine many wall seconds: the
        # bound counts only the time the child could run.
        start = Deadline(START_TIMEOUT, self.proc.pid)
        try:
            self.url = self._wait_for(r"Web server: (http://\S+)", start).rstrip("/")
            self.dns_port = int(self._wait_for(r"Captive DNS: udp://127\.0\.0\.1:(\d+)", start))
            self.at_port = int(self._wait_for(r"AT port: tcp://127\.0\.0\.1:(\d+)", start))
        except BaseException:
            self.stop()
            raise

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _wait_for(self, pattern: str, deadline: Deadline) -> str:
        while not deadline.expired():
            text = self.stdout_path.read_text(errors="replace")
            if found := re.search(pattern, text):
                return found.group(1)
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        raise RuntimeError(f"no {pattern!r} from the module; stderr: {self.stderr()}")

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    # ------------------------------------------------------------------ AT port
    def at(self, line: str | bytes, timeout: float = 5.0, *, end: bytes = b"\r\n") -> bytes:
        """Send one AT line (``end`` appended); its answer up to the final result, within
        ``timeout`` seconds."""
        if self._at is None:
            self._at = socket.create_connection(("127.0.0.1", self.at_port), timeout=timeout)
            self._at.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            time.sleep(0.05)  # the module attaches the client before it reads
        sock = self._at
        sock.settimeout(timeout)
        deadline = Deadline(timeout, self.proc.pid)  # time the child could run
        sock.sendall((line.encode() if isinstance(line, str) else line) + end)
        got, self._after = self._after, b""
        while not any(final in got for final in FINALS):
            left = deadline.remaining()
            if left <= 0:
                raise TimeoutError(f"{line!r}: no final answer in {timeout} s; got {got!r}")
            sock.settimeout(left)
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError(f"{line!r}: the AT port closed; got {got!r}")
            got += chunk
        ends = [got.index(final) + len(final) for final in FINALS if final in got]
        cut = min(ends)
        got, self._after = got[:cut], got[cut:]
        return got

    def at_ok_within(self, seconds: float) -> float:
        """``AT`` → ``OK`` within ``seconds``; returns how long it took."""
        start = time.monotonic()
        answer = self.at("AT", timeout=seconds)
        assert answer.endswith(b"\r\nOK\r\n"), answer
        return time.monotonic() - start

    # --------------------------------------------------------------- resources
    def rss_kib(self) -> int:
        status = Path(f"/proc/{self.pid}/status").read_text()
        found = re.search(r"VmRSS:\s+(\d+) kB", status)
        assert found is not None
        return int(found.group(1))

    def fd_count(self) -> int:
        return len(os.listdir(f"/proc/{self.pid}/fd"))

    def wait_fds(self, at_most: int, timeout: float = 5.0) -> int:
        """Wait (bounded) until the child holds at most ``at_most`` descriptors."""
        deadline = time.monotonic() + timeout
        count = self.fd_count()
        while count > at_most and time.monotonic() < deadline:
            time.sleep(0.05)
            count = self.fd_count()
        return count

    # -------------------------------------------------------------------- stop
    def stop(self) -> int:
        """Stop the child (SIGTERM, then SIGKILL); returns its exit status."""
        if self._at is not None:
            self._at.close()
            self._at = None
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        return self.proc.returncode
