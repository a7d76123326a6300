"""``esp-at-sim fleet``, run as a real process: many modules, each on its own ports."""

from __future__ import annotations

import json
import os
import re
import select
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from childwait import Deadline
from esp_at_sim.client import SimControl, SimControlError

WAIT = 20.0
AT_LINE = re.compile(r"Module (\d+): AT port: tcp://127\.0\.0\.1:(\d+)")


class FleetProc:
    """``esp-at-sim fleet`` in the background, its standard output read line by line."""

    def __init__(self, *args: str | Path) -> None:
        command = [sys.executable, "-m", "esp_at_sim", "fleet", *map(str, args)]
        self.proc = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        self.lines: list[str] = []
        self._pending = b""

    def read_until(self, done: re.Pattern[str], times: int = 1) -> list[re.Match[str]]:
        """Read lines until ``times`` of them match ``done``; those matches."""
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        found: list[re.Match[str]] = [m for line in self.lines if (m := done.fullmatch(line))]
        deadline = Deadline(WAIT, self.proc.pid)  # the time the fleet could run
        while len(found) < times and not deadline.expired():
            while b"\n" in self._pending and len(found) < times:
                raw, _, self._pending = self._pending.partition(b"\n")
                line = raw.decode()
                self.lines.append(line)
                if m := done.fullmatch(line):
                    found.append(m)
            if len(found) >= times:
                break
            ready, _, _ = select.select([fd], [], [], 0.1)
            if ready:
                chunk = os.read(fd, 65536)
                if not chunk:
                    break
                self._pending += chunk
        assert len(found) >= times, f"{len(found)} of {times} {done.pattern!r}: {self.lines[-20:]}"
        return found

    def at_ports(self, count: int) -> dict[int, int]:
        return {int(m[1]): int(m[2]) for m in self.read_until(AT_LINE, count)}

    def stop(self) -> tuple[int, str]:
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(WAIT)
        assert self.proc.stderr is not None
        return code, self.proc.stderr.read().decode()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()


@pytest.fixture
def fleets() -> Iterator[list[FleetProc]]:
    started: list[FleetProc] = []
    yield started
    for fleet in started:
        fleet.kill()


def ask(port: int, line: bytes) -> bytes:
    """Send one AT line; its answer up to OK or ERROR."""
    with socket.create_connection(("127.0.0.1", port), timeout=WAIT) as sock:
        sock.sendall(line + b"\r\n")
        answer = b""
        while not answer.endswith((b"\r\nOK\r\n", b"\r\nERROR\r\n")):
            chunk = sock.recv(4096)
            assert chunk, f"closed after {answer!r}"
            answer += chunk
        return answer


def free_base(count: int) -> int:
    """A port from which ``count`` ports were free a moment ago."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            base = int(probe.getsockname()[1])
        if base + count > 65535:
            continue
        socks = []
        try:
            for port in range(base, base + count):
                sock = socket.socket()
                socks.append(sock)
                sock.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for sock in socks:
                sock.close()
    raise AssertionError("no run of free ports")


def test_modules_get_consecutive_ports_and_their_own_macs(
    fleets: list[FleetProc], tmp_path: Path
) -> None:
    script = tmp_path / "web.at"
    script.write_text("AT+CWMODE=3\nAT+WEBSERVER=1,80,25\n")
    at_base, web_base = free_base(3), free_base(3)
    fleet = FleetProc(
        "--count", "3", "--time-scale", "0", "--at", f"tcp:127.0.0.1:{at_base}",
        "--port-map", f"80={web_base}", "--script", script,
    )  # fmt: skip
    fleets.append(fleet)
    ports = fleet.at_ports(3)
    assert ports == {0: at_base, 1: at_base + 1, 2: at_base + 2}
    webs = re.compile(r"Module (\d+): Web server: (\S+)")
    urls = {int(m[1]): m[2] for m in fleet.read_until(webs, 3)}
    assert urls == {i: f"http://127.0.0.1:{web_base + i}/" for i in range(3)}
    # every module ran the script, its transcript under its own prefix
    assert fleet.lines.count("Module 2: AT+WEBSERVER=1,80,25") == 1
    assert "Module 1:" in fleet.lines and "Module 1: OK" in fleet.lines
    stations = [ask(port, b"AT+CIPSTAMAC?") for port in ports.values()]
    softaps = [ask(port, b"AT+CIPAPMAC?") for port in ports.values()]
    assert stations[0] == b'AT+CIPSTAMAC?\r\n+CIPSTAMAC:"24:0a:c4:00:00:01"\r\n\r\nOK\r\n'
    assert b'"24:0a:c4:00:00:05"' in stations[1] and b'"24:0a:c4:00:00:09"' in stations[2]
    assert b'"24:0a:c4:00:00:06"' in softaps[1]
    assert len(set(stations + softaps)) == 6
    with urllib.request.urlopen(urls[2] + "getstainfo", timeout=WAIT) as response:
        assert response.status == 200
    code, _ = fleet.stop()
    assert code == 0


def test_a_failing_module_is_reported_and_the_others_go_on(
    fleets: list[FleetProc], tmp_path: Path
) -> None:
    flash_dir = tmp_path / "flashes"
    flash_dir.mkdir()
    (flash_dir / "module-1.flash").write_bytes(b"not a flash image")
    fleet = FleetProc("--count", "3", "--time-scale", "0", "--flash-dir", flash_dir)
    fleets.append(fleet)
    ports = fleet.at_ports(2)
    assert set(ports) == {0, 2}
    for port in ports.values():
        assert ask(port, b"AT").endswith(b"\r\nOK\r\n")
    assert (flash_dir / "module-0.flash").stat().st_size == 4 * 1024 * 1024
    assert (flash_dir / "module-2.flash").is_file()
    code, err = fleet.stop()
    assert code == 1
    assert re.search(r"^esp-at-sim fleet: module 1: cannot use the flash file", err, re.M), err
    assert "module 0" not in err and "module 2" not in err


def test_a_script_line_failing_everywhere_ends_the_fleet(tmp_path: Path) -> None:
    script = tmp_path / "bad.at"
    script.write_text("AT\nAT+NOSUCH\n")
    result = subprocess.run(
        [sys.executable, "-m", "esp_at_sim", "fleet", "--count", "2", "--time-scale", "0",
         "--script", str(script)],
        capture_output=True, timeout=WAIT,
    )  # fmt: skip
    assert result.returncode == 1
    err = result.stderr.decode().splitlines()
    assert sorted(err) == [
        "esp-at-sim fleet: module 0: script line failed: AT+NOSUCH",
        "esp-at-sim fleet: module 1: script line failed: AT+NOSUCH",
    ]
    assert b"Module 1: AT+NOSUCH\nModule 1:\nModule 1: ERROR\n" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--count", "2", "--at", "pty"), "tcp:[HOST:]BASE"),
        (("--count", "0"), "1..10000"),
        (("--count", "3", "--at", "tcp:65534"), "ports 65534..65536 go past 65535"),
        (("--count", "2", "--port-map", "80=65535"), "go past 65535"),
    ],
)
def test_fleet_usage_errors(args: tuple[str, ...], message: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "esp_at_sim", "fleet", *args], capture_output=True, timeout=WAIT
    )
    assert result.returncode == 2
    assert message in result.stderr.decode()


def test_macs_that_would_repeat_are_refused(tmp_path: Path) -> None:
    scenario = tmp_path / "twins.toml"
    scenario.write_text('[module]\nsta_mac = "24:0a:c4:00:00:01"\nap_mac = "24:0a:c4:00:00:05"\n')
    result = subprocess.run(
        [sys.executable, "-m", "esp_at_sim", "fleet", "--count", "2", "--scenario", str(scenario)],
        capture_output=True, timeout=WAIT,
    )  # fmt: skip
    assert result.returncode == 2
    assert "modules 0 and 1 would share the MAC address 24:0a:c4:00:00:05" in (
        result.stderr.decode()
    )


async def test_control_api_addresses_each_module(fleets: list[FleetProc], tmp_path: Path) -> None:
    flash_dir = tmp_path / "flashes"
    flash_dir.mkdir()
    (flash_dir / "module-2.flash").write_bytes(b"\xff" * 100)
    fleet = FleetProc(
        "--count", "3", "--time-scale", "0", "--control", "0", "--flash-dir", flash_dir
    )  # fmt: skip
    fleets.append(fleet)
    url = fleet.read_until(re.compile(r"Control: (\S+)"))[0][1]
    ports = fleet.at_ports(2)
    async with (
        SimControl(url) as whole,
        SimControl(url, module=1) as one,
        SimControl(url, module=2) as failed,
        SimControl(url, module=3) as absent,
    ):
        listing = await whole.modules()
        assert [m["index"] for m in listing] == [0, 1, 2]
        assert [m["state"] for m in listing] == ["running", "running", "failed"]
        assert "cannot use the flash file" in listing[2]["error"]
        assert (await one.status())["booted"] is True
        await one.fault("refuse_joins", ap="HomeNet", count=1)
        assert any(e["kind"] == "boot.ready" for e in await one.events())
        with pytest.raises(SimControlError, match="module 2 failed: cannot use the flash"):
            await failed.status()
        with pytest.raises(SimControlError, match=r"no module '3': the fleet has modules 0\.\.2"):
            await absent.status()
        with pytest.raises(SimControlError, match="Not Found"):
            await whole.status()  # a fleet has no module at its root
    joined = b'AT+CWJAP="HomeNet","sunflower42"'
    assert ask(ports[1], joined).endswith(b"+CWJAP:4\r\n\r\nERROR\r\n")
    assert ask(ports[0], joined).endswith(b"WIFI GOT IP\r\n\r\nOK\r\n")
    token = url.partition("#token=")[2]
    request = urllib.request.Request(
        url.partition("#")[0] + "modules/x/status", headers={"Authorization": f"Bearer {token}"}
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=WAIT)
    assert refused.value.code == 404
    assert json.loads(refused.value.read())["ok"] is False
    refused.value.close()
    assert fleet.stop()[0] == 1


def test_fifty_modules_all_answer(fleets: list[FleetProc]) -> None:
    fleet = FleetProc("--count", "50", "--time-scale", "0")
    fleets.append(fleet)
    ports = fleet.at_ports(50)
    assert sorted(ports) == list(range(50)) and len(set(ports.values())) == 50
    for port in ports.values():
        assert ask(port, b"AT") == b"AT\r\n\r\nOK\r\n"
    assert fleet.stop()[0] == 0
