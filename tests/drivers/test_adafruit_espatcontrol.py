"""Adafruit's ESP_ATcontrol, a host driver for ESP-AT modules written by others, drives
esp-at-sim over a PTY exactly as it drives a module on a UART: start-up, scan, join,
address and name lookups, a TCP request through the module to a server on this machine,
and leaving the network.

The driver is blocking and times itself in real seconds, so the module runs in its own
process (``esp-at-sim run --at pty``) at a tenth of real time. Two of its helpers are
broken on their side and avoided: ``remote_AP`` while joined compares bytes with a str,
and its socket layer lacks the ``recv_into`` that adafruit_requests 4 calls.
"""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import serial
from adafruit_espatcontrol.adafruit_espatcontrol import ESP_ATcontrol, OKError

from childwait import Deadline

SCENARIO = """
[[ap]]
ssid = "HomeNet"
password = "sunflower42"
auth = "WPA2_PSK"
channel = 6
rssi = -42
ip = "192.168.1.23"
gateway = "192.168.1.1"

[[ap]]
ssid = "Cafe-Free-WiFi"
auth = "OPEN"
channel = 1
rssi = -78

[net]
hosts = { "api.example.com" = "203.0.113.10" }
"""
BODY = b"hello from the LAN\n"
ANSWER = (
    b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n" % len(BODY) + BODY
)
START_TIMEOUT = 30.0


@dataclass
class OneShotServer:
    """A TCP server on loopback that reads one request head and, once told to ``go``,
    sends one answer. (The driver reads ``SEND OK`` and ``+IPD`` in two separate loops,
    and what it reads of an ``+IPD`` in the first is lost: a real network's delay keeps
    them apart, and here the test does, deterministically.)"""

    sock: socket.socket = field(default_factory=socket.socket)
    requests: list[bytes] = field(default_factory=list)
    go: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None

    def start(self) -> int:
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.sock.settimeout(60)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()
        return int(self.sock.getsockname()[1])

    def _serve(self) -> None:
        try:
            conn, _ = self.sock.accept()
        except OSError:
            return  # closed before anyone came
        with conn:
            conn.settimeout(30)
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                head += chunk
            self.requests.append(head)
            if self.go.wait(60):
                conn.sendall(ANSWER)

    def close(self) -> None:
        self.go.set()
        self.sock.close()
        if self.thread is not None:
            self.thread.join(5)


@pytest.fixture
def http_server() -> Iterator[OneShotServer]:
    server = OneShotServer()
    server.start()
    yield server
    server.close()


@pytest.fixture
def module_pty(tmp_path: Path, http_server: OneShotServer) -> Iterator[str]:
    """``esp-at-sim run --at pty`` with the scenario above, its AT port's path."""
    scenario = tmp_path / "net.toml"
    scenario.write_text(SCENARIO)
    port = http_server.sock.getsockname()[1]
    out = tmp_path / "stdout.txt"
    command = [
        sys.executable, "-m", "esp_at_sim", "run", "--at", "pty", "--time-scale", "0.1",
        "--scenario", str(scenario), "--flash", str(tmp_path / "m.flash"),
        "--route", f"203.0.113.10:80=127.0.0.1:{port}",
    ]  # fmt: skip
    with open(out, "wb") as stdout:
        proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=stdout)
    try:
        deadline = Deadline(START_TIMEOUT, proc.pid)
        while not (found := re.search(r"AT port: (/dev/\S+)", out.read_text())):
            assert proc.poll() is None, out.read_text()
            assert not deadline.expired(), "the module never printed its AT port"
            time.sleep(0.02)
        yield found.group(1)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_the_driver_joins_looks_up_and_fetches_a_page(
    module_pty: str, http_server: OneShotServer
) -> None:
    with serial.Serial(module_pty, 115200, timeout=0.05) as uart:
        esp = ESP_ATcontrol(uart, 115200)
        esp.begin()  # AT, ATE0, AT+UART_CUR, AT+GMR, CIPMUX, CIPSSLSIZE (refused), CWSTATE
        assert esp.version is not None and esp.version.startswith("AT version:4.1.1.0(")
        assert esp.cipmux == 0
        assert esp.mode == ESP_ATcontrol.MODE_STATION
        networks = esp.scan_APs()
        assert networks is not None
        assert [n[1] for n in networks] == ["HomeNet", "Cafe-Free-WiFi"]  # strongest first
        assert networks[0][2] == -42 and networks[0][0] == 3  # RSSI, WPA2_PSK
        assert esp.status_wifi == 0  # +CWSTATE:0: no connection started yet

        esp.connect({"ssid": "HomeNet", "password": "sunflower42"})
        assert esp.is_connected
        assert esp.status_wifi == ESP_ATcontrol.STATUS_WIFI_APCONNECTED
        assert esp.local_ip == "192.168.1.23"
        assert esp.nslookup("api.example.com") == "203.0.113.10"

        assert esp.socket_connect(ESP_ATcontrol.TYPE_TCP, "api.example.com", 80)
        assert esp.status == ESP_ATcontrol.STATUS_SOCKETOPEN
        request = b"GET /index.html HTTP/1.0\r\nHost: api.example.com\r\n\r\n"
        assert esp.socket_send(request)  # up to its SEND OK
        http_server.go.set()
        assert esp.socket_receive(timeout=10) == ANSWER
        assert http_server.requests == [request]
        esp.socket_disconnect()

        esp.disconnect()
        assert not esp.is_connected
        with pytest.raises(OKError):
            esp.at_response("AT+CWJAP=1", retries=1)  # a bad line is refused
