"""AT round trips per second (``AT`` -> ``OK``, one at a time) over TCP against an asyncio
echo responder (the goal's baseline) and a blocking echo loop, over a PTY against the
blocking loop, and paced at 9600, 115200 and 921600 baud against the UART wire limit.
Figure and baselines run side by side and are measured in alternating windows.
Usage: python bench/bench_at_roundtrip.py [seconds-per-window]   (default 1)"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

import serial
from _common import (
    Goal,
    Proc,
    Sample,
    asyncio_responder,
    echo_responder,
    interleave,
    measured,
    repeats_arg,
    report,
    seconds_arg,
    simulator,
)

REQUEST = b"AT\r\n"
ANSWER = b"AT\r\n\r\nOK\r\n"  # echo on, as after boot


def tcp_window(proc: Proc, port: int, seconds: float) -> Callable[[], Sample]:
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.settimeout(5)
    time.sleep(0.2)  # the module attaches the client before it reads

    def window() -> tuple[float, int]:
        count, start = 0, time.perf_counter()
        end = start + seconds
        while time.perf_counter() < end:
            sock.sendall(REQUEST)
            got = b""
            while not got.endswith(b"OK\r\n"):
                got += sock.recv(4096)
            count += 1
        return count / (time.perf_counter() - start), count

    return lambda: measured(proc, window)


def pty_window(proc: Proc, path: str, seconds: float) -> Callable[[], Sample]:
    port = serial.Serial(path, 115200, timeout=5)
    time.sleep(0.2)
    port.reset_input_buffer()

    def window() -> tuple[float, int]:
        count, start = 0, time.perf_counter()
        end = start + seconds
        while time.perf_counter() < end:
            port.write(REQUEST)
            got = b""
            while not got.endswith(b"OK\r\n"):
                got += port.read(port.in_waiting or 1)
            count += 1
        return count / (time.perf_counter() - start), count

    return lambda: measured(proc, window)


def port_of(proc: Proc) -> int:
    return int(proc.wait_line(r"AT port: tcp://127\.0\.0\.1:(\d+)").group(1))


def main() -> None:
    seconds, repeats = seconds_arg(1.0), repeats_arg()
    with (
        simulator("--at", "tcp:127.0.0.1:0", "--time-scale", "0") as sim,
        asyncio_responder() as aio,
        echo_responder("tcp") as blocking,
    ):
        windows = [tcp_window(p, port_of(p), seconds) for p in (sim, aio, blocking)]
        ours, fair, loop = interleave(repeats, *windows)
    report("AT round trips over TCP", ours, "/s", "asyncio echo", fair, goal=Goal(">=", 0.8))
    report("AT round trips over TCP", ours, "/s", "blocking echo loop", loop)
    with simulator("--at", "pty", "--time-scale", "0") as sim, echo_responder("pty") as blocking:
        paths = [p.wait_line(r"AT port: (.+)").group(1) for p in (sim, blocking)]
        ours, loop = interleave(
            repeats, pty_window(sim, paths[0], seconds), pty_window(blocking, paths[1], seconds)
        )
    report("AT round trips over a PTY", ours, "/s", "blocking echo loop", loop)
    # 8N1: 10 bits a byte, 4 bytes out and 10 back per round trip
    goals = {9600: Goal(">=", 0.97, ceiling=1.0), 115200: Goal(">=", 0.9, ceiling=1.0),
             921600: Goal("<=", 1.0)}  # fmt: skip
    for baud, goal in goals.items():
        wire = baud / 10 / (len(REQUEST) + len(ANSWER))
        args = ("--at", "tcp:127.0.0.1:0", "--time-scale", "0", "--baud", str(baud))
        with simulator(*args) as sim:
            window = tcp_window(sim, port_of(sim), max(seconds, 40 / wire))
            (ours,) = interleave(repeats, window)
        report(f"AT round trips paced at {baud} baud", ours, "/s", "UART wire limit", wire,
               goal=goal)  # fmt: skip


if __name__ == "__main__":
    main()
