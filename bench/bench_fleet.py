"""A fleet in one process: start-up time and resident memory per module at 10, 100 and
1000 modules (``esp-at-sim fleet --count N --time-scale 0``, every module's AT port
answering ``AT``); ``AT`` round trips per second with every module driven at once; the
provisioning-line example's modules per second.

Baselines, measured in the same run: a bare asyncio process with N TCP listeners that
answer every line with ``OK`` (what any fleet of N AT ports must at least do), started,
measured and driven the same way; for the provisioning line, the same line with one
module. Memory per module is what one more costs: (RSS at N - RSS at 1) / (N - 1).
Usage: python bench/bench_fleet.py [counts, default 10,100,1000]"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

from _common import ROOT, Goal, Proc, report

COUNTS = (10, 100, 1000)
ROUNDS = 20  # AT round trips per module in the driven window
LINE_COUNT = 50  # modules on the provisioning line
AT_LINE = r"Module (\d+): AT port: tcp://127\.0\.0\.1:(\d+)"
BARE = r"""
import asyncio, sys

class Ok(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport, self.pending = transport, b""
    def data_received(self, data):
        self.pending += data
        while b"\r\n" in self.pending:
            line, _, self.pending = self.pending.partition(b"\r\n")
            self.transport.write(line + b"\r\n\r\nOK\r\n")

async def main(count):
    loop = asyncio.get_running_loop()
    servers = []
    for i in range(count):
        server = await loop.create_server(Ok, "127.0.0.1", 0)
        servers.append(server)
        port = server.sockets[0].getsockname()[1]
        print(f"Module {i}: AT port: tcp://127.0.0.1:{port}", flush=True)
    await asyncio.Event().wait()

asyncio.run(main(int(sys.argv[1])))
"""


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def start(kind: str, count: int) -> tuple[Proc, dict[int, int], float]:
    """A fleet (or the bare baseline) of ``count``; its ports and seconds to come up."""
    began = time.perf_counter()
    if kind == "fleet":
        proc = Proc(
            sys.executable, "-m", "esp_at_sim", "fleet", "--count", str(count),
            "--time-scale", "0",
        )  # fmt: skip
    else:
        proc = Proc(sys.executable, "-c", BARE, str(count))
    ports: dict[int, int] = {}
    try:
        while len(ports) < count:
            found = proc.wait_line(AT_LINE, timeout=300)
            ports[int(found[1])] = int(found[2])
    except BaseException:
        proc.stop()
        raise
    return proc, ports, time.perf_counter() - began


async def drive(ports: dict[int, int], rounds: int) -> tuple[int, float]:
    """Every port driven at once, ``rounds`` ``AT`` each, one at a time per port; the
    answers that were exactly ``AT\\r\\n\\r\\nOK\\r\\n`` and the seconds it took."""

    async def one(port: int) -> int:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        good = 0
        try:
            for _ in range(rounds):
                writer.write(b"AT\r\n")
                answer = await reader.readuntil(b"OK\r\n")
                good += answer == b"AT\r\n\r\nOK\r\n"
        finally:
            writer.close()
            await writer.wait_closed()
        return good

    began = time.perf_counter()
    results = await asyncio.gather(*(one(port) for port in ports.values()))
    return sum(results), time.perf_counter() - began


def measure(kind: str, count: int) -> dict[str, float]:
    proc, ports, seconds = start(kind, count)
    try:
        rss = rss_kib(proc.pid)
        answered, _ = asyncio.run(drive(ports, 1))  # every module answers AT
        if answered != count:
            raise RuntimeError(f"{kind}: {answered} of {count} answered AT")
        good, took = asyncio.run(drive(ports, ROUNDS))
        if good != count * ROUNDS:
            raise RuntimeError(f"{kind}: {good} of {count * ROUNDS} answers were right")
    finally:
        proc.stop()
    return {"seconds": seconds, "rss_kib": rss, "roundtrips": good / took}


def provisioning_line(count: int) -> float:
    """The README's provisioning line with ``count`` modules: modules per second."""
    sys.path.insert(0, str(ROOT / "examples"))
    from provisioning_line import run_line

    got, _, seconds = asyncio.run(run_line(count, "HomeNet", "sunflower42"))
    if got != count:
        raise RuntimeError(f"provisioning line: {got} of {count} got an IP address")
    return count / seconds


def main() -> None:
    counts = [int(c) for c in sys.argv[1].split(",")] if len(sys.argv) > 1 else list(COUNTS)
    single = {kind: measure(kind, 1) for kind in ("fleet", "bare")}
    for count in counts:
        fleet, bare = measure("fleet", count), measure("bare", count)
        largest = count == max(counts)
        report(
            f"fleet of {count:>4}: start-up, until every module answers AT",
            fleet["seconds"], "s", "bare asyncio listeners", bare["seconds"], digits=2,
        )  # fmt: skip
        report(
            f"fleet of {count:>4}: start-up per module",
            fleet["seconds"] / count * 1000, "ms",
            "bare asyncio listeners", bare["seconds"] / count * 1000, digits=2,
        )  # fmt: skip
        report(
            f"fleet of {count:>4}: resident memory per module",
            (fleet["rss_kib"] - single["fleet"]["rss_kib"]) / max(count - 1, 1), "KiB",
            "bare asyncio listeners",
            (bare["rss_kib"] - single["bare"]["rss_kib"]) / max(count - 1, 1), digits=1,
        )  # fmt: skip
        report(
            f"fleet of {count:>4}: process resident memory",
            fleet["rss_kib"] / 1024, "MiB", "bare asyncio listeners", bare["rss_kib"] / 1024,
            digits=1,
        )  # fmt: skip
        report(
            f"fleet of {count:>4}: AT round trips/s, every module driven at once",
            fleet["roundtrips"], "/s", "bare asyncio listeners", bare["roundtrips"],
            goal=Goal(">=", 0.2) if largest else None,
        )  # fmt: skip
    report(
        f"provisioning line of {LINE_COUNT} (examples/provisioning_line.py)",
        provisioning_line(LINE_COUNT), "modules/s", "the same line with 1 module",
        provisioning_line(1), digits=1,
    )  # fmt: skip


if __name__ == "__main__":
    main()
