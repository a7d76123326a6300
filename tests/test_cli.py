"""The ``esp-at-sim`` command line, run as a real process."""

from __future__ import annotations

import json
import os
import re
import select
import signal
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import serial

from childwait import Deadline, run_child
from esp_at_sim.testing import FINALS

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "web-provisioning.at"
OK = b"\r\nOK\r\n"
WAIT = 10.0  # seconds a child gets for a step, not counting its waits for a CPU
SLICE = 0.1  # real seconds of one blocking wait, between two looks at the deadline


def esp_at_sim(*args: str | Path) -> list[str]:
    return [sys.executable, "-m", "esp_at_sim", *map(str, args)]


def run(*args: str | Path, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    """``esp-at-sim ARGS`` to its end, given ``WAIT`` seconds (see :class:`Deadline`)."""
    return run_child(esp_at_sim(*args), input=stdin, capture_output=True, timeout=WAIT)


class Sim:
    """``esp-at-sim run`` in the background, read line by line."""

    def __init__(self, *args: str | Path) -> None:
        self.proc = subprocess.Popen(
            esp_at_sim("run", *args),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.lines: list[str] = []
        self._pending = b""

    def deadline(self) -> Deadline:
        """``WAIT`` seconds from now for this child (see :class:`Deadline`)."""
        return Deadline(WAIT, self.proc.pid)

    def wait_line(self, pattern: str) -> re.Match[str]:
        """Read standard output until a line matches ``pattern``."""
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        deadline = self.deadline()
        while not deadline.expired():
            while b"\n" in self._pending:
                raw, _, self._pending = self._pending.partition(b"\n")
                line = raw.decode() + "\n"
                self.lines.append(line)
                if m := re.fullmatch(pattern, line.rstrip("\n")):
                    return m
            ready, _, _ = select.select([fd], [], [], SLICE)
            if not ready:
                continue
            chunk = os.read(fd, 65536)  # unbuffered: select() sees every byte not yet read
            if not chunk:
                break
            self._pending += chunk
        raise AssertionError(f"no line like {pattern!r}; got {self.lines}, stderr {self.stderr()}")

    def stderr(self) -> str:
        if self.proc.poll() is None:
            return "(running)"
        assert self.proc.stderr is not None
        return self.proc.stderr.read().decode()

    def stop(self, signum: int = signal.SIGTERM) -> tuple[int, float]:
        """Signal the process; its exit code and how long it took to exit (not counting
        its waits for a CPU)."""
        deadline = self.deadline()
        self.proc.send_signal(signum)
        while True:
            try:
                code = self.proc.wait(SLICE)
            except subprocess.TimeoutExpired:
                if deadline.expired():
                    raise
            else:
                return code, deadline.elapsed()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()


@pytest.fixture
def sims() -> Iterator[list[Sim]]:
    started: list[Sim] = []
    yield started
    for sim in started:
        sim.kill()


def answer_in(buffer: bytes, line: bytes) -> tuple[bytes, bytes] | None:
    """The answer to ``line`` in ``buffer`` (from its echo through the first final-result
    line) and what follows it; None while the final result has not arrived. URC lines
    before the echo are not part of the answer."""
    start = buffer.find(line + b"\r\n")
    if start < 0:
        return None
    ends = [i + len(f) for f in FINALS if (i := buffer.find(f, start)) >= 0]
    if not ends:
        return None
    return buffer[start : min(ends)], buffer[min(ends) :]


def at_over_tcp(sim: Sim, port: int, *lines: bytes) -> bytes:
    """Send each line to ``sim`` and collect the answers, one final result per line. A URC
    in the same segment as a final result (a phone joining the SoftAP, say) is left out."""
    with socket.create_connection(("127.0.0.1", port), timeout=WAIT) as sock:
        sock.settimeout(SLICE)
        out, buffer = b"", b""
        for line in lines:
            deadline = sim.deadline()
            sock.sendall(line + b"\r\n")
            while (found := answer_in(buffer, line)) is None:
                try:
                    chunk = sock.recv(4096)
                except TimeoutError:
                    assert not deadline.expired(), f"no answer to {line!r}; got {buffer!r}"
                    continue
                assert chunk, f"connection closed; got {buffer!r}"
                buffer += chunk
            answer, buffer = found
            out += answer
        return out


def test_an_answer_ends_at_its_final_result_line() -> None:
    urc = b'+DIST_STA_IP:"a2:b3:c4:d5:e6:f7","192.168.4.2"\r\n'
    echo = b"AT+CWMODE?\r\n"
    assert answer_in(echo + b"+CWMODE:3\r\n", b"AT+CWMODE?") is None
    segment = urc + echo + b"+CWMODE:3\r\n" + OK + urc
    assert answer_in(segment, b"AT+CWMODE?") == (echo + b"+CWMODE:3\r\n" + OK, urc)


# ----------------------------------------------------------------------------- run
def test_run_over_tcp_and_sigterm(sims: list[Sim]) -> None:
    sim = Sim("--at", "tcp:127.0.0.1:0", "--time-scale", "0")
    sims.append(sim)
    port = int(sim.wait_line(r"AT port: tcp://127\.0\.0\.1:(\d+)").group(1))
    assert port != 0
    assert at_over_tcp(sim, port, b"AT", b"AT+NOPE") == b"AT\r\n" + OK + b"AT+NOPE\r\n\r\nERROR\r\n"
    code, took = sim.stop(signal.SIGTERM)
    assert code == 0
    assert took < 3.0


def test_web_root_without_index_is_refused(tmp_path: Path) -> None:
    result = run("run", "--at", "tcp:127.0.0.1:0", "--time-scale", "0", "--web-root", tmp_path)
    assert result.returncode == 2
    assert "no index.html" in result.stderr.decode()


def test_default_port_without_a_terminal_is_a_pty_and_sigint(sims: list[Sim]) -> None:
    sim = Sim("--time-scale", "0")
    sims.append(sim)
    path = sim.wait_line(r"AT port: (/dev/\S+)").group(1)
    with serial.Serial(path, 115200, timeout=SLICE) as port:
        port.write(b"AT\r\n")
        got, deadline = b"", sim.deadline()
        while not got.endswith(OK) and not deadline.expired():
            got += port.read_until(OK)
        assert got == b"AT\r\n" + OK
    code, _ = sim.stop(signal.SIGINT)
    assert code == 0
    assert not os.path.exists(path)


def test_script_runs_before_the_port_opens(sims: list[Sim], tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    sim = Sim(
        "--at", "tcp:0", "--time-scale", "0", "--script", EXAMPLE, "--events", events,
        "--port-map", "80=0", "--port-map", "53=0",
    )  # fmt: skip
    sims.append(sim)
    port = int(sim.wait_line(r"AT port: tcp://127\.0\.0\.1:(\d+)").group(1))
    transcript = "".join(sim.lines)
    web = re.search(r"Web server: http://127\.0\.0\.1:(\d+)/", transcript)
    assert web and web.group(1) != "0"
    with urllib.request.urlopen(f"http://127.0.0.1:{web.group(1)}/getversion", timeout=WAIT) as r:
        assert json.load(r) == {"version": "1.0"}
    for command in ("AT+RESTORE", "AT+CWMODE=3", 'AT+CWSAP="pos_softap","",11,0,3', "AT+CIPMUX=1"):
        assert f"{command}\n\nOK\n" in transcript
    assert "ready" in transcript  # AT+RESTORE reboots
    # what the script set is still there when the port opens
    out = at_over_tcp(sim, port, b"AT+CWMODE?", b"AT+CIPMUX?")
    assert out == b"AT+CWMODE?\r\n+CWMODE:3\r\n" + OK + b"AT+CIPMUX?\r\n+CIPMUX:1\r\n" + OK
    assert sim.stop()[0] == 0
    records = [json.loads(line) for line in events.read_text().splitlines()]
    assert records and all({"t", "kind"} <= record.keys() for record in records)
    kinds = {record["kind"] for record in records}
    assert {"at.cmd", "at.out", "boot.ready", "boot.reset"} <= kinds
    # simulated time: the first boot takes 0.8 s, even at time scale 0
    assert {"t": 0.8, "kind": "at.cmd", "line": "AT+RESTORE", "valid": True} in records


def test_failing_script_line_stops_the_run(tmp_path: Path) -> None:
    script = tmp_path / "fail.at"
    script.write_text("# comment\n\nAT\n-AT+MAYFAIL\nATE0\nAT+NOPE=1\nAT\n")
    result = run("run", "--at", "tcp:0", "--time-scale", "0", "--script", script)
    assert result.returncode == 1
    out = result.stdout.decode()
    assert out == (
        "AT\n\nOK\nAT+MAYFAIL\n\nERROR\nATE0\n\nOK\nAT+NOPE=***\n\nERROR\n"
    )  # the command is shown even with echo off (the parameters of a command the module
    # does not know are masked: one may be a password); nothing after the failure; no port
    assert "script line failed: AT+NOPE=***" in result.stderr.decode()


def test_stdio_pipe_ends_with_its_input() -> None:
    result = run("run", "--at", "stdio", "--time-scale", "0", stdin=b"AT\r\nAT+CWMODE?\r\n")
    assert result.returncode == 0
    assert result.stdout == b"\r\nready\r\nAT\r\n" + OK + b"AT+CWMODE?\r\n+CWMODE:1\r\n" + OK
    assert result.stderr.decode() == "AT port: stdio\n"


def test_flash_file_keeps_settings_between_runs(tmp_path: Path) -> None:
    flash = tmp_path / "flash.bin"
    first = tmp_path / "first.at"
    first.write_text("AT+UART_DEF=57600,8,1,0,0\n")
    second = tmp_path / "second.at"
    second.write_text("AT+UART_DEF?\n")
    args = ("run", "--at", "stdio", "--time-scale", "0", "--flash", flash, "--script")
    assert run(*args, first).returncode == 0
    result = run(*args, second)
    assert result.returncode == 0
    assert "+UART_DEF:57600,8,1,0,0" in result.stderr.decode()
    without = run("run", "--at", "stdio", "--time-scale", "0", "--script", second)
    assert "+UART_DEF:115200,8,1,0,0" in without.stderr.decode()


# --------------------------------------------------------------------------- errors
def test_scenario_error_names_file_line_and_key(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[[ap]]\nssid = "Lab"\nchannel = 99\n')
    result = run("run", "--at", "tcp:0", "--scenario", bad)
    assert result.returncode == 2
    assert re.search(rf"{re.escape(str(bad))}:3: ap\[0\]\.channel: ", result.stderr.decode())
    assert result.stdout == b""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--scenario", "/no/such.toml"), "cannot read scenario"),
        (("--at", "udp:1"), "unknown AT port"),
        (("--script", "/no/such.at"), "cannot read script"),
        (("--events", "/no/such/dir/ev.jsonl"), "cannot write events"),
        (("--at", "serial:/dev/x:9600", "--baud", "115200"), "contradicts"),
    ],
)
def test_run_usage_errors(args: tuple[str, ...], message: str) -> None:
    result = run("run", "--time-scale", "0", *args)
    assert result.returncode == 2
    assert message in result.stderr.decode()


def test_bad_flash_file(tmp_path: Path) -> None:
    flash = tmp_path / "flash.bin"
    flash.write_bytes(b"\xff" * 64)
    result = run("run", "--at", "tcp:0", "--flash", flash)
    assert result.returncode == 2
    assert "cannot use" in result.stderr.decode()


def test_missing_serial_device_exits_1() -> None:
    result = run("run", "--at", "serial:/dev/no-such-tty", "--time-scale", "0")
    assert result.returncode == 1
    assert "cannot open /dev/no-such-tty" in result.stderr.decode()


@pytest.mark.parametrize(
    "args",
    [
        ("--time-scale", "-1"),
        ("--time-scale", "nan"),
        ("--baud", "fast"),
        ("--baud", "50"),
        ("--port-map", "80:8080"),
    ],
)
def test_bad_option_values(args: tuple[str, ...]) -> None:
    assert run("run", *args).returncode == 2


def test_help_documents_run() -> None:
    result = run("run", "--help")
    assert result.returncode == 0
    text = result.stdout.decode()
    for word in ("--port-map", "--compat-echo-password", "pty otherwise", "Exit status"):
        assert word in text
    assert run("--version").stdout.decode().startswith("esp-at-sim ")


@pytest.mark.parametrize("script", sorted((ROOT / "examples").glob("*.at")), ids=lambda p: p.name)
def test_example_scripts_run_cleanly(script: Path) -> None:
    result = run("run", "--at", "stdio", "--time-scale", "0", "--script", script)
    assert result.returncode == 0, result.stderr.decode()
    assert result.stderr.decode().endswith("AT port: stdio\n")


def test_control_api_of_a_running_module(sims: list[Sim]) -> None:
    sim = Sim("--at", "tcp:127.0.0.1:0", "--time-scale", "0", "--control", "0")
    sims.append(sim)
    found = sim.wait_line(r"Control: (http://127\.0\.0\.1:\d+/)#token=([\w-]+)$")
    url, auth = found.group(1), {"Authorization": f"Bearer {found.group(2)}"}
    port = int(sim.wait_line(r"AT port: tcp://127\.0\.0\.1:(\d+)").group(1))
    status_request = urllib.request.Request(url + "status", headers=auth)
    with urllib.request.urlopen(status_request, timeout=WAIT) as response:
        status = json.load(response)
    assert status["booted"] is True and status["firmware"]["slot"] == "ota_0"
    request = urllib.request.Request(
        url + "faults/refuse_joins",
        data=json.dumps({"ap": "HomeNet", "count": 1}).encode(),
        headers={"Content-Type": "application/json", **auth},
    )
    with urllib.request.urlopen(request, timeout=WAIT) as response:
        assert json.load(response)["ok"] is True
    out = at_over_tcp(sim, port, b'AT+CWJAP="HomeNet","sunflower42"')
    assert out.endswith(b"+CWJAP:4\r\n\r\nERROR\r\n")
    assert sim.stop()[0] == 0


def test_web_server_line_follows_the_answer_that_started_it(tmp_path: Path) -> None:
    script = tmp_path / "web.at"
    script.write_text("AT+CWMODE=3\nAT+WEBSERVER=1,80,25\nAT\n")
    result = run(
        "run", "--at", "stdio", "--time-scale", "0", "--port-map", "80=0", "--port-map", "53=0",
        "--script", script,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr.decode()
    lines = result.stderr.decode().splitlines()
    started = lines.index("AT+WEBSERVER=1,80,25")
    assert lines[started + 1 : started + 3] == ["", "OK"]
    assert lines[started + 3].startswith("Web server: http://127.0.0.1:")
    assert lines[started + 4].startswith("Captive DNS: udp://127.0.0.1:")
    assert lines[started + 5 :] == ["AT", "", "OK", "AT port: stdio"]
