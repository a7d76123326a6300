"""What the fleet's inspector costs a fleet of 1000 (``esp-at-sim fleet --count N
--time-scale 0 --control 0``): the list page's one stream (``GET /modules/stream``) while
every module is driven at once.

- ``AT`` round trips per second with every module driven at once, with the list page
  open (its stream read as the page reads it); baseline: the same fleet, same run, with
  no page open (``REPEATS`` each, interleaved in both orders).
- The stream's bytes per second meanwhile; baseline: ``GET /modules`` (every module's
  status) polled as often as the stream may send (``LIST_INTERVAL``).
- Opening the page: seconds until the stream's first message (the whole list);
  baseline: one ``GET /modules``.
Usage: python bench/bench_fleet_inspector.py [count, default 1000]"""

from __future__ import annotations

import asyncio
import sys
import time

import aiohttp
from _common import Proc, Sample, report
from bench_fleet import AT_LINE, drive

from esp_at_sim.web.control import LIST_INTERVAL

COUNT = 1000
ROUNDS = 10  # AT round trips per module in each driven window
REPEATS = 4  # driven windows with and without the page each, interleaved


def start(count: int) -> tuple[Proc, str, dict[int, int]]:
    proc = Proc(
        sys.executable, "-m", "esp_at_sim", "fleet", "--count", str(count),
        "--time-scale", "0", "--control", "0",
    )  # fmt: skip
    try:
        url = proc.wait_line(r"Control: (\S+)", timeout=300)[1]
        ports: dict[int, int] = {}
        while len(ports) < count:
            found = proc.wait_line(AT_LINE, timeout=300)
            ports[int(found[1])] = int(found[2])
    except BaseException:
        proc.stop()
        raise
    return proc, url, ports


async def watched(base: str, auth: dict[str, str], ports: dict[int, int]) -> tuple[float, float]:
    """One driven window with the list page's stream read throughout: round trips per
    second and the stream's bytes per second."""
    got = 0
    async with (
        aiohttp.ClientSession(headers=auth) as session,
        session.get(base + "/modules/stream") as response,
    ):
        await response.content.readuntil(b"\n\n")  # the whole list: the page is open

        async def read() -> None:
            nonlocal got
            while chunk := await response.content.readany():
                got += len(chunk)

        reader = asyncio.create_task(read())
        good, took = await drive(ports, ROUNDS)
        reader.cancel()
    return good / took, got / took


async def measure(base: str, auth: dict[str, str], ports: dict[int, int]) -> None:
    alone: list[Sample] = []
    with_page: list[Sample] = []
    stream_rates: list[Sample] = []
    for repeat in range(REPEATS * 2):  # alone, page, page, alone, alone, page, ...
        if (repeat + repeat // 2) % 2 == 0:
            good, took = await drive(ports, ROUNDS)
            alone.append(Sample(good / took))
        else:
            rate, stream = await watched(base, auth, ports)
            with_page.append(Sample(rate))
            stream_rates.append(Sample(stream / 1024))
    async with aiohttp.ClientSession(headers=auth) as session:
        began = time.perf_counter()
        async with session.get(base + "/modules") as response:
            listing = await response.read()
        polled = time.perf_counter() - began
        began = time.perf_counter()
        async with session.get(base + "/modules/stream") as response:
            await response.content.readuntil(b"\n\n")
        opened = time.perf_counter() - began
    count = len(ports)
    report(
        f"fleet of {count}: AT round trips/s, every module driven, the list page open",
        with_page, "/s", "no page open", alone,
    )  # fmt: skip
    report(
        f"fleet of {count}: the list page's stream while every module is driven",
        stream_rates, "KiB/s", f"GET /modules every {LIST_INTERVAL} s",
        len(listing) / 1024 / LIST_INTERVAL, digits=1,
    )  # fmt: skip
    report(
        f"fleet of {count}: opening the list page, until the whole list has come",
        opened, "s", "one GET /modules", polled, digits=3,
    )  # fmt: skip


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else COUNT
    proc, url, ports = start(count)
    try:
        base, _, token = url.partition("/#token=")
        asyncio.run(measure(base, {"Authorization": f"Bearer {token}"}, ports))
    finally:
        proc.stop()


if __name__ == "__main__":
    main()
