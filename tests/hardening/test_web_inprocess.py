"""Abuse that needs the module in-process: a client that stalls in the middle of an
upload, and the logging of requests the client got wrong."""

from __future__ import annotations

import asyncio
import re

import pytest

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
