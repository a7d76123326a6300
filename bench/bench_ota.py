"""OTA upload speed: a 1.5 MB app image POSTed to ``/setotadata`` (``Object: ota``),
streamed into the module's flash file and verified before the answer, in MB/s; against a
bare aiohttp handler that streams the same body to nowhere. Both servers run in their
own process; the client is the same. The AT port must show ``+WEBSERVERRSP:4`` for every
upload. Usage: python bench/bench_ota.py [uploads]   (default 5)"""

from __future__ import annotations

import asyncio
import sys
import time

import aiohttp
from _common import AtSocket, bare_http, median, report, web_module

from esp_at_sim.flash.image import build_app_image

SIZE = 1_500_000
IMAGE = build_app_image("v9.9.9", chip="esp32", size=SIZE)


async def upload_times(url: str, count: int) -> list[float]:
    headers = {"Object": "ota", "Content-Type": "application/octet-stream"}
    times = []
    async with aiohttp.ClientSession() as session:
        for _ in range(count + 1):  # the first one warms up
            start = time.perf_counter()
            async with session.post(f"{url}/setotadata", data=IMAGE, headers=headers) as r:
                body = await r.read()
            times.append(time.perf_counter() - start)
            if (r.status, body) != (200, b'{"state": 0}'):
                raise RuntimeError(f"upload failed: {r.status} {body!r}")
    return times[1:]


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    with web_module() as module:
        at = AtSocket(module.at_port)
        try:
            sim = median(asyncio.run(upload_times(module.url, count)))
            done = at.drain(0.5).count(b"+WEBSERVERRSP:4")
            if done != count + 1:
                raise RuntimeError(f"{done} of {count + 1} uploads reported on the AT port")
        finally:
            at.close()
    with bare_http() as url:
        base = median(asyncio.run(upload_times(url, count)))
    mb = SIZE / 1e6
    report(
        "OTA upload of 1.5 MB, verified", mb / sim, "MB/s", "bare aiohttp sink", mb / base, digits=1
    )


if __name__ == "__main__":
    main()
