"""A provisioning line: N modules set up as in ESP-AT's web server example, each given
the router's credentials through its web server, each checked for WIFI GOT IP on its
AT port.

    python examples/provisioning_line.py --count 50

It starts ``esp-at-sim fleet`` with the set-up script ``web-provisioning.at`` (beside
this file), waits for every module's "AT port" and "Web server" lines, then provisions
all modules at once: for each, it listens on the AT port, posts the credentials to
``/setstainfo`` as the page does, follows ``/getstainfo`` until the module is
connected, collects the result with ``/getresult``, and checks that the AT port said
``WIFI GOT IP``. Exit status 0 when every module got its address.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from esp_at_sim.client import WebApi

SETUP = Path(__file__).with_name("web-provisioning.at")
ANNOUNCED = re.compile(rb"Module (\d+): (AT port|Web server): (?:tcp://)?(\S+)")
WAIT = 60.0  # seconds for the whole line, start-up included
POLL = 0.05  # seconds between two /getstainfo (a page asks once a second)


@dataclass
class Station:
    """One module on the line: where its AT port and its web server are."""

    index: int
    at: tuple[str, int] | None = None
    web: str | None = None
    log: bytearray = field(default_factory=bytearray)


async def start_fleet(count: int) -> tuple[asyncio.subprocess.Process, list[Station]]:
    """``esp-at-sim fleet`` with the web server example's set-up in every module; its
    modules once each has said where its AT port and its web server are."""
    fleet = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "esp_at_sim", "fleet", "--count", str(count),
        "--time-scale", "0", "--script", str(SETUP),
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert fleet.stdout is not None
    stations = [Station(i) for i in range(count)]
    ready = 0
    while ready < count:
        line = await fleet.stdout.readline()
        if not line:
            raise RuntimeError(f"the fleet ended with {ready} of {count} modules up")
        if found := ANNOUNCED.match(line):
            station = stations[int(found[1])]
            if found[2] == b"AT port":
                host, _, port = found[3].decode().rpartition(":")
                station.at = (host, int(port))
            else:
                station.web = found[3].decode()
            ready += station.at is not None and station.web is not None
    asyncio.get_running_loop().create_task(_drain(fleet.stdout))
    return fleet, stations


async def _drain(stream: asyncio.StreamReader) -> None:
    while await stream.read(65536):
        pass


async def provision(station: Station, ssid: str, password: str) -> bool:
    """Provision one module through its web server as the page does (post the
    credentials, follow ``/getstainfo``, collect ``/getresult``); True once its AT port
    has said WIFI GOT IP."""
    assert station.at is not None and station.web is not None
    reader, writer = await asyncio.open_connection(*station.at)
    try:
        async with WebApi(station.web) as api:
            if await api.setstainfo(ssid, password) != 200:
                return False
            while (info := await api.getstainfo())["state"] != 1:
                if info["state"] == 2 or info.get("retrying"):
                    return False  # failed, or retrying what cannot succeed
                await asyncio.sleep(POLL)
            if await api.getresult() != 200:
                return False
        while b"WIFI GOT IP\r\n" not in station.log:
            chunk = await reader.read(4096)
            if not chunk:
                return False
            station.log += chunk
        return True
    finally:
        writer.close()
        await writer.wait_closed()


async def run_line(count: int, ssid: str, password: str) -> tuple[int, float, float]:
    """Bring up ``count`` modules and provision them all at once: how many got an IP,
    the seconds start-up took, the seconds provisioning took."""
    began = time.perf_counter()
    fleet, stations = await asyncio.wait_for(start_fleet(count), WAIT)
    try:
        started = time.perf_counter()
        jobs = (provision(station, ssid, password) for station in stations)
        results = await asyncio.wait_for(asyncio.gather(*jobs), WAIT)
        done = time.perf_counter()
    finally:
        fleet.terminate()
        await fleet.wait()
    return sum(results), started - began, done - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=50, help="modules on the line (50)")
    parser.add_argument("--ssid", default="HomeNet", help="the router (the home scenario's)")
    parser.add_argument("--password", default="sunflower42", help="its password")
    args = parser.parse_args()
    got, startup, provisioning = asyncio.run(run_line(args.count, args.ssid, args.password))
    print(f"{got} of {args.count} modules got an IP address")
    print(f"start-up {startup:.2f} s; provisioning {provisioning:.2f} s "
          f"({args.count / provisioning:.1f} modules/s)")  # fmt: skip
    return 0 if got == args.count else 1


if __name__ == "__main__":
    sys.exit(main())
