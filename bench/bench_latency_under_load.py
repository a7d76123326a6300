"""AT latency (``AT`` -> ``OK`` over TCP, p50 and p99) while the module's web server is
under load: 200 concurrent HTTP clients hammering ``/getstainfo`` (wrk, one thread) and
100 idle sockets held open; against the same latency with no load.
Usage: python bench/bench_latency_under_load.py [seconds]   (default 5)"""

from __future__ import annotations

import socket
import subprocess
import time

from _common import AtSocket, percentile, report, require, seconds_arg, web_module

CLIENTS = 200
IDLE = 100


def latencies(at: AtSocket, seconds: float) -> list[float]:
    """Round trips, back to back with a short pause, for ``seconds``."""
    samples = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        samples.append(at.roundtrip())
        time.sleep(0.001)
    return samples


def main() -> None:
    seconds = seconds_arg(5.0)
    wrk = require("wrk")
    with web_module() as module:
        at = AtSocket(module.at_port)
        idle: list[socket.socket] = []
        load = None
        try:
            latencies(at, 0.5)  # warm-up
            quiet = latencies(at, seconds)
            port = int(module.url.rsplit(":", 1)[1])
            for _ in range(IDLE):
                idle.append(socket.create_connection(("127.0.0.1", port)))
            load = subprocess.Popen(
                [
                    wrk,
                    "-t1",
                    f"-c{CLIENTS}",
                    f"-d{round(seconds) + 2}s",
                    "--timeout",
                    "5s",
                    f"{module.url}/getstainfo",
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
            )
            time.sleep(1.0)  # the load is up
            loaded = latencies(at, seconds)
            out, _ = load.communicate(timeout=seconds + 30)
            rate = out.split("Requests/sec:")[1].split()[0] if "Requests/sec:" in out else "?"
        finally:
            if load is not None and load.poll() is None:
                load.kill()
                load.wait()
            for sock in idle:
                sock.close()
            at.close()
    for q in (50, 99):
        report(
            f"AT latency p{q} under load ({CLIENTS} HTTP clients at {rate} req/s, {IDLE} idle)",
            percentile(loaded, q) * 1000,
            "ms",
            "no load",
            percentile(quiet, q) * 1000,
            digits=2,
        )


if __name__ == "__main__":
    main()
