"""``GET /getstainfo`` requests per second with 32 concurrent keep-alive connections
(wrk, 2 threads), against a bare aiohttp handler answering the same JSON body, in
alternating windows. Usage: python bench/bench_getstainfo.py [seconds-per-window] (default 2)"""

from __future__ import annotations

import re
import subprocess

from _common import (
    Goal,
    Proc,
    Sample,
    bare_http,
    interleave,
    measured,
    repeats_arg,
    report,
    require,
    seconds_arg,
    web_module,
)

CONNECTIONS = 32


def wrk(
    url: str, seconds: float, connections: int = CONNECTIONS, threads: int = 2
) -> tuple[float, int]:
    """Requests per second that wrk measured, and the requests; every answer must have
    been a 2xx."""
    out = subprocess.run(
        [
            require("wrk"),
            f"-t{threads}",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "5s",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=seconds + 30,
        check=True,
    ).stdout
    if "Non-2xx" in out or "Socket errors" in out:
        raise RuntimeError(f"wrk saw errors:\n{out}")
    found = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    if found is None or total is None:
        raise RuntimeError(f"no rate in wrk's output:\n{out}")
    return float(found.group(1)), int(total.group(1))


def window(proc: Proc, url: str, seconds: float) -> Sample:
    return measured(proc, lambda: wrk(url, seconds))


def main() -> None:
    seconds, repeats = seconds_arg(2.0), repeats_arg()
    require("wrk")
    with web_module() as module, bare_http() as bare:
        ours, theirs = f"{module.url}/getstainfo", f"{bare.url}/getstainfo"
        wrk(ours, 1)  # warm-up (and the phone joins the SoftAP)
        wrk(theirs, 1)
        sim, base = interleave(
            repeats,
            lambda: window(module.proc, ours, seconds),
            lambda: window(bare.proc, theirs, seconds),
        )
    report(f"GET /getstainfo, {CONNECTIONS} connections", sim, "req/s", "bare aiohttp", base,
           goal=Goal(">=", 0.9))  # fmt: skip


if __name__ == "__main__":
    main()
