"""``GET /getstainfo`` requests per second with 32 concurrent keep-alive connections
(wrk, 2 threads), against a bare aiohttp handler answering the same JSON body.
Usage: python bench/bench_getstainfo.py [seconds]   (default 5)"""

from __future__ import annotations

import re
import subprocess

from _common import bare_http, report, require, seconds_arg, web_module

CONNECTIONS = 32


def wrk(url: str, seconds: float, connections: int = CONNECTIONS, threads: int = 2) -> float:
    """Requests per second that wrk measured; every answer must have been a 2xx."""
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
    if found is None:
        raise RuntimeError(f"no rate in wrk's output:\n{out}")
    return float(found.group(1))


def main() -> None:
    seconds = seconds_arg(5.0)
    require("wrk")
    with web_module() as module:
        wrk(f"{module.url}/getstainfo", 1)  # warm-up (and the phone joins the SoftAP)
        sim = wrk(f"{module.url}/getstainfo", seconds)
    with bare_http() as url:
        wrk(f"{url}/getstainfo", 1)
        base = wrk(f"{url}/getstainfo", seconds)
    report(f"GET /getstainfo, {CONNECTIONS} connections", sim, "req/s", "bare aiohttp", base)


if __name__ == "__main__":
    main()
