"""AT round trips per second (``AT`` -> ``OK``, one at a time) over TCP and a PTY, against
a minimal echo responder on the same transport, and paced at 115200 baud against the
theoretical UART figure. Usage: python bench/bench_at_roundtrip.py [seconds-per-figure]"""

from __future__ import annotations

import socket
import sys
import time

import serial
from _common import echo_responder, report, simulator

REQUEST = b"AT\r\n"
ANSWER = b"AT\r\n\r\nOK\r\n"  # echo on, as after boot


def tcp_rate(port: int, seconds: float) -> float:
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.settimeout(5)
        time.sleep(0.2)
        count, end = 0, time.perf_counter() + seconds
        start = time.perf_counter()
        while time.perf_counter() < end:
            sock.sendall(REQUEST)
            got = b""
            while not got.endswith(b"OK\r\n"):
                got += sock.recv(4096)
            count += 1
        return count / (time.perf_counter() - start)


def pty_rate(path: str, seconds: float) -> float:
    with serial.Serial(path, 115200, timeout=5) as port:
        time.sleep(0.2)
        port.reset_input_buffer()
        count, end = 0, time.perf_counter() + seconds
        start = time.perf_counter()
        while time.perf_counter() < end:
            port.write(REQUEST)
            got = b""
            while not got.endswith(b"OK\r\n"):
                got += port.read(port.in_waiting or 1)
            count += 1
        return count / (time.perf_counter() - start)


def measure(kind: str, seconds: float, *extra: str) -> tuple[float, float]:
    spec = "tcp:127.0.0.1:0" if kind == "tcp" else "pty"
    with simulator("--at", spec, "--time-scale", "0", *extra) as sim, echo_responder(kind) as base:
        sim_at = sim.wait_line(r"AT port: (.+)").group(1)
        base_at = base.wait_line(r"AT port: (.+)").group(1)
        if kind == "tcp":
            return (
                tcp_rate(int(sim_at.rsplit(":", 1)[1]), seconds),
                tcp_rate(int(base_at.rsplit(":", 1)[1]), seconds),
            )
        return pty_rate(sim_at, seconds), pty_rate(base_at, seconds)


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 3.0
    for kind in ("tcp", "pty"):
        sim, base = measure(kind, seconds)
        report(f"AT round trips over {kind.upper()}", sim, "/s", "echo responder", base)
    # 115200 baud, 8N1: 10 bits a byte, 4 bytes out and 11 back per round trip
    uart = 115200 / 10 / (len(REQUEST) + len(ANSWER))
    sim, _ = measure("tcp", seconds, "--baud", "115200")
    report("AT round trips over TCP paced at 115200 baud", sim, "/s", "UART wire limit", uart)


if __name__ == "__main__":
    main()
