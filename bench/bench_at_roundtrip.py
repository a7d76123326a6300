"""AT round trips per second (``AT`` -> ``OK``, one at a time) over TCP and a PTY, against
a minimal echo responder on the same transport, and paced at 115200 baud against the
theoretical UART figure. Usage: python bench/bench_at_roundtrip.py [seconds-per-figure]"""

from __future__ import annotations

import socket
import sys
import time

import serial
from _common import Proc, report, simulator

REQUEST = b"AT\r\n"
ANSWER = b"AT\r\n\r\nOK\r\n"  # echo on, as after boot
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
    sim = simulator("--at", spec, "--time-scale", "0", *extra)
    base = Proc(sys.executable, "-c", RESPONDER, kind)
    try:
        sim_at = sim.wait_line(r"AT port: (.+)").group(1)
        base_at = base.wait_line(r"AT port: (.+)").group(1)
        rate = tcp_rate if kind == "tcp" else pty_rate
        target = (lambda s: int(s.rsplit(":", 1)[1])) if kind == "tcp" else (lambda s: s)
        return rate(target(sim_at), seconds), rate(target(base_at), seconds)  # type: ignore[arg-type]
    finally:
        sim.stop()
        base.stop()


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
