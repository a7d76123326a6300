"""OTA upload speed: a 1.5 MB app image POSTed to ``/setotadata`` (``Object: ota``),
streamed into the module's flash file and verified before the answer, in MB/s; against a
bare aiohttp handler that streams the same body to nowhere. Both servers run in their
own process; the client is the same, and uploads alternate between them. The AT port
must show ``+WEBSERVERRSP:4`` for every upload.
Usage: python bench/bench_ota.py [uploads]   (default 7)"""

from __future__ import annotations

import asyncio
import sys
import time

import aiohttp
from _common import (
    AtSocket,
    Goal,
    Proc,
    Sample,
    bare_http,
    interleave,
    measured,
    report,
    web_module,
)

from esp_at_sim.flash.image import build_app_image

SIZE = 1_500_000
IMAGE = build_app_image("v9.9.9", chip="esp32", size=SIZE)


async def upload(url: str) -> float:
    """Seconds for one upload (a new connection, as the page's upload makes)."""
    headers = {"Object": "ota", "Content-Type": "application/octet-stream"}
    async with aiohttp.ClientSession() as session:
        start = time.perf_counter()
        async with session.post(f"{url}/setotadata", data=IMAGE, headers=headers) as r:
            body = await r.read()
        took = time.perf_counter() - start
    if (r.status, body) != (200, b'{"state": 0}'):
        raise RuntimeError(f"upload failed: {r.status} {body!r}")
    return took


def window(proc: Proc, url: str) -> Sample:
    return measured(proc, lambda: (SIZE / 1e6 / asyncio.run(upload(url)), 1))


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    with web_module() as module, bare_http() as bare:
        at = AtSocket(module.at_port)
        try:
            window(module.proc, module.url)  # warm-up
            window(bare.proc, bare.url)
            sim, base = interleave(
                count, lambda: window(module.proc, module.url), lambda: window(bare.proc, bare.url)
            )
            done = at.drain(0.5).count(b"+WEBSERVERRSP:4")
            if done != count + 1:
                raise RuntimeError(f"{done} of {count + 1} uploads reported on the AT port")
        finally:
            at.close()
    report("OTA upload of 1.5 MB, verified", sim, "MB/s", "bare aiohttp sink", base, digits=1,
           goal=Goal(">=", 0.5))  # fmt: skip


if __name__ == "__main__":
    main()
