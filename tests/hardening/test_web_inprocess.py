"""Abuse that needs the module in-process: a client that stalls in the middle of an
upload, and the logging of requests the client got wrong."""

from __future__ import annotations

import asyncio
import re

import pytest
from aiohttp import web
from aiohttp.typedefs import Handler

from esp_at_sim.web import endpoints

from .conftest import ErrorLog, WebModule

HEAD = (
    b"POST /setotadata HTTP/1.1\r\nHost: 127.0.0.1\r\nObject: fs_storage\r\nConnection: close\r\n"
    b"Content-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n"
)


async def exchange(port: int, data: bytes, timeout: float = 5.0) -> bytes:
    """Send ``data``, read until the server closes the connection (bounded)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        await writer.drain()
        return await asyncio.wait_for(reader.read(), timeout)
    finally:
        writer.close()
        await writer.wait_closed()


async def test_stalled_upload_times_out_and_frees_the_slot(
    web_module: WebModule, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(endpoints, "UPLOAD_IDLE_TIMEOUT", 0.3, raising=False)
    reader, writer = await asyncio.open_connection("127.0.0.1", web_module.port)
    try:
        writer.write(HEAD % 100_000 + b"\x5a" * 2000)  # then nothing more, link kept up
        await writer.drain()
        await web_module.at.wait_for(b"+WEBSERVERRSP:3\r\n", timeout=5)
        answer = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert answer.startswith(b"HTTP/1.1 500 ")
        await web_module.at.wait_for(b"+WEBSERVERRSP:5\r\n")
    finally:
        writer.close()
        await writer.wait_closed()
    # the next upload is not refused with 409: the stalled one let go of the slot
    reply = await exchange(web_module.port, HEAD % 4 + b"abcd")
    assert reply.startswith(b"HTTP/1.1 200 ") and reply.endswith(b'{"state": 0}')
    assert (await web_module.at.wait_for(b"+WEBSERVERRSP:4\r\n")).endswith(b"4\r\n")


@pytest.mark.parametrize(
    "raw",
    [
        b"GET /getstainfo HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 20000 + b"\r\n\r\n",
        b"GET /" + b"p" * 20000 + b" HTTP/1.1\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(40),  # a TLS hello
        b"GET / HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
        b"POST /getresult HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    ],
)
async def test_bad_requests_are_answered_without_error_logs(
    web_module: WebModule, error_log: ErrorLog, raw: bytes
) -> None:
    reply = await exchange(web_module.port, raw)
    assert re.match(rb"HTTP/1\.[01] 4\d\d ", reply) and reply.endswith(b"}"), reply
    assert error_log.messages() == []
    assert await web_module.at.cmd("AT") == b"AT\r\n\r\nOK\r\n"


@pytest.mark.parametrize("path", ["/", "/app.css"])
async def test_file_get_with_an_unread_body_is_served_once(
    web_module: WebModule, error_log: ErrorLog, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    """A GET of the page or an asset whose body is still arriving when the handler has
    answered: the file is sent once, intact, and the keep-alive connection serves the
    next request (aiohttp's file answer cannot be prepared twice)."""
    handled = asyncio.Event()
    checked = web_module.server._checked

    async def noting(request: web.Request, handler: Handler) -> web.StreamResponse:
        response = await checked(request, handler)
        handled.set()
        return response

    monkeypatch.setattr(web_module.server, "_checked", noting)
    reader, writer = await asyncio.open_connection("127.0.0.1", web_module.port)
    try:
        head = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\n\r\n"
        writer.write(head.encode() + b"hel")  # the rest of the body once it is answered
        await writer.drain()
        await asyncio.wait_for(handled.wait(), 5)
        writer.write(b"lo")
        await writer.drain()
        first = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert first.startswith(b"HTTP/1.1 200 "), first
        length = int(re.search(rb"Content-Length: (\d+)", first).group(1))  # type: ignore[union-attr]
        assert length > 0
        await asyncio.wait_for(reader.readexactly(length), 5)
        writer.write(b"GET /getversion HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        await writer.drain()
        second = await asyncio.wait_for(reader.read(), 5)
        assert second.startswith(b"HTTP/1.1 200 ") and second.endswith(b'{"version":"1.0"}')
    finally:
        writer.close()
        await writer.wait_closed()
    assert error_log.messages() == []
