"""The data plane's acceptance: a host driver provisions the module through its web
server (as a phone's browser would, while the host watches the AT port), then talks
HTTP to a server on this machine through AT+CIPSTART, AT+CIPSEND and +IPD, in active and
in passive receive, over TCP and over SSL. The host side is esp-at-sim's AtClient, used
exactly as its README shows; the HTTP servers are aiohttp's, with a trustme certificate
for the SSL one (the module does not verify it: AT+CIPSSLCCONF stays at 0)."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Callable

import pytest_asyncio
import trustme
from aiohttp import web

from esp_at_sim.client import AtClient, WebApi

PAGE = b"hello from the LAN\n"
Route = Callable[[str, int | None, tuple[str, int]], str]


@pytest_asyncio.fixture
async def lan(esp_route: Route) -> AsyncIterator[list[str]]:
    """api.example.com:80 (HTTP) and :443 (HTTPS) on loopback; the paths asked for."""
    asked: list[str] = []

    async def index(request: web.Request) -> web.Response:
        asked.append(f"{request.scheme}:{request.path}")
        return web.Response(body=PAGE, content_type="text/plain")

    app = web.Application()
    app.router.add_get("/index.html", index)
    runner = web.AppRunner(app)
    await runner.setup()
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("api.example.com").configure_cert(context)
    sites = [
        web.TCPSite(runner, "127.0.0.1", 0),
        web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context),
    ]
    for site in sites:
        await site.start()
    addresses = runner.addresses  # the sites' (host, port), in the order they started
    for port, address in zip((80, 443), addresses, strict=True):
        esp_route("api.example.com", port, ("127.0.0.1", address[1]))
    yield asked
    await runner.cleanup()


REQUEST = b"GET /index.html HTTP/1.0\r\nHost: api.example.com\r\n\r\n"


async def fetch(esp_at: AtClient, kind: str, passive: bool) -> bytes:
    """One HTTP/1.0 request through a link; the whole answer, read as the mode wants."""
    port = 443 if kind == "SSL" else 80
    conn = await (esp_at.open_ssl if kind == "SSL" else esp_at.open_tcp)("api.example.com", port)
    await conn.send(REQUEST)
    answer = bytearray()
    if passive:  # +IPD,<len> says that data waits; AT+CIPRECVDATA reads it
        await esp_at.wait_urc("+IPD,", timeout=10)
        while not answer.endswith(PAGE):
            answer += await conn.read(256)
    else:  # +IPD,<len>:<data> brings it
        async for data in conn:
            answer += data
    return bytes(answer)


async def test_provisioned_by_the_web_server_then_http_four_ways(
    esp_web_url: str, esp_at: AtClient, lan: list[str]
) -> None:
    async with WebApi(esp_web_url) as api:
        assert await api.setstainfo("HomeNet", "sunflower42") == 200
        await esp_at.wait_urc("WIFI GOT IP", timeout=30)
    for passive in (False, True):
        await esp_at.send("AT+CIPRECVMODE", 1 if passive else 0)
        for kind in ("TCP", "SSL"):
            answer = await fetch(esp_at, kind, passive)
            assert answer.startswith(b"HTTP/1.0 200 OK\r\n"), (kind, passive, answer)
            assert answer.endswith(b"\r\n\r\n" + PAGE), (kind, passive, answer)
    assert lan == ["http:/index.html", "https:/index.html"] * 2
