"""The baseline web server of the benchmarks: bare aiohttp handlers for the module's
routes, doing nothing but the HTTP (JSON bodies as the module sends them, uploads
streamed to nowhere). Prints ``Bare server: http://127.0.0.1:PORT/`` and serves until
SIGTERM."""

from __future__ import annotations

import asyncio
import signal

from aiohttp import web

STATUS = b'{"state":0,"sta_ssid":"","sta_password":"","message":"waiting config"}'
OK = b'{"state": 0}'


def json_body(body: bytes) -> web.Response:
    return web.Response(body=body, content_type="application/json")


async def get_sta_info(request: web.Request) -> web.Response:
    return json_body(STATUS)


async def small_post(request: web.Request) -> web.Response:
    await request.read()
    return json_body(OK)


async def upload(request: web.Request) -> web.Response:
    while await request.content.readany():
        pass
    return json_body(OK)


async def main() -> None:
    app = web.Application()
    app.router.add_get("/getstainfo", get_sta_info)
    app.router.add_post("/setstainfo", small_post)
    app.router.add_post("/getresult", small_post)
    app.router.add_post("/setotadata", upload)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server = site._server
    assert server is not None
    port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    print(f"Bare server: http://127.0.0.1:{port}/", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(main())
