"""AT latency (``AT`` -> ``OK`` over TCP, p50 and p99) while the module's web server is
under load: 200 concurrent HTTP clients hammering ``/getstainfo`` (wrk, one thread) and
100 idle sockets held open; against the same latency with no load, in alternating
windows. Usage: python bench/bench_latency_under_load.py [seconds-per-window]   (default 3)"""

from __future__ import annotations

import socket
import subprocess
import time

from _common import (
    AtSocket,
    Goal,
    Sample,
    median,
    percentile,
    repeats_arg,
    report,
    require,
    seconds_arg,
    web_module,
)

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


def loaded_window(
    module_url: str, at: AtSocket, wrk: str, seconds: float
) -> tuple[list[float], float]:
    """AT latencies while wrk runs 200 clients against ``/getstainfo``, and wrk's rate."""
    load = subprocess.Popen(
        [wrk, "-t1", f"-c{CLIENTS}", f"-d{round(seconds) + 2}s", "--timeout", "5s",
         f"{module_url}/getstainfo"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )  # fmt: skip
    try:
        time.sleep(1.0)  # the load is up
        samples = latencies(at, seconds)
        out, _ = load.communicate(timeout=seconds + 30)
    finally:
        if load.poll() is None:
            load.kill()
            load.wait()
    rate = float(out.split("Requests/sec:")[1].split()[0]) if "Requests/sec:" in out else 0.0
    return samples, rate


def main() -> None:
    seconds, repeats = seconds_arg(3.0), repeats_arg(3)
    wrk = require("wrk")
    quiet: list[list[float]] = []
    loaded: list[list[float]] = []
    rates: list[float] = []
    with web_module() as module:
        at = AtSocket(module.at_port)
        idle: list[socket.socket] = []
        try:
            latencies(at, 0.5)  # warm-up
            port = int(module.url.rsplit(":", 1)[1])
            for _ in range(repeats):
                quiet.append(latencies(at, seconds))
                for _ in range(IDLE):
                    idle.append(socket.create_connection(("127.0.0.1", port)))
                samples, rate = loaded_window(module.url, at, wrk, seconds)
                loaded.append(samples)
                rates.append(rate)
                while idle:
                    idle.pop().close()
        finally:
            for sock in idle:
                sock.close()
            at.close()
    for q in (50, 99):
        report(
            f"AT latency p{q} under load ({CLIENTS} HTTP clients at {median(rates):,.0f} req/s, "
            f"{IDLE} idle)",
            [Sample(percentile(window, q) * 1000) for window in loaded],
            "ms",
            "no load",
            [Sample(percentile(window, q) * 1000) for window in quiet],
            digits=2,
            goal=Goal("<=", 3) if q == 99 else None,
        )


if __name__ == "__main__":
    main()
