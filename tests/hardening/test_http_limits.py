"""The web server's connection limits, in-process at a small time scale so that the
module's 10 s head timeout and 30 s idle timeout pass in a fraction of a real second:
slowloris clients (idle, or trickling an unfinished head) are closed on time, a request
head is held to 8 KiB, and the connection cap closes the least recently used idle
connection to admit a new one (``503`` when every connection is busy)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from childwait import run_child
from esp_at_sim.web.config import HttpLimits

from .conftest import WebModule, no_tasks_left, start_web_module
from .simproc import SimProcess

SCALE = 0.01  # 10 module seconds are 0.1 real seconds
HEAD_TIMEOUT = 10.0
IDLE_TIMEOUT = 30.0
WAIT = 5.0  # real seconds any single wait may take before the test fails
GET_VERSION = b"GET /getversion HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"

Stream = tuple[asyncio.StreamReader, asyncio.StreamWriter]


@contextlib.asynccontextmanager
async def web_at(limits: HttpLimits, scale: float = SCALE) -> AsyncIterator[WebModule]:
    made = await start_web_module(time_scale=scale, limits=limits)
    try:
        yield made
    finally:
        await made.module.close()
        await no_tasks_left()


@contextlib.asynccontextmanager
async def clients(web: WebModule, count: int) -> AsyncIterator[list[Stream]]:
    opened: list[Stream] = []
    try:
        for _ in range(count):
            opened.append(await asyncio.open_connection("127.0.0.1", web.port))
        yield opened
    finally:
        for _, writer in opened:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()


async def answer(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """One response (Content-Length framed): status and body."""
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), WAIT)
    lines = head.decode("latin-1").split("\r\n")
    fields = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in lines[1:])}
    body = await asyncio.wait_for(reader.readexactly(int(fields["content-length"])), WAIT)
    return int(lines[0].split()[1]), body


async def json_refusal(reader: asyncio.StreamReader, status: int) -> None:
    """The connection gets ``status`` with our JSON error body, then is closed."""
    got, body = await answer(reader)
    assert got == status, body
    assert json.loads(body)["state"] == 1
    assert await asyncio.wait_for(reader.read(), WAIT) == b""


async def version(web: WebModule) -> None:
    """A fresh client is served."""
    async with clients(web, 1) as [(reader, writer)]:
        writer.write(GET_VERSION)
        assert await answer(reader) == (200, b'{"version":"1.0"}')


# ------------------------------------------------------------------ slow clients
async def test_unfinished_heads_get_408_after_the_head_timeout() -> None:
    limits = HttpLimits(head_timeout=HEAD_TIMEOUT, idle_timeout=10_000)
    async with web_at(limits) as web, clients(web, 40) as slow:
        clock = web.module.clock
        started = clock.now()
        for _, writer in slow:  # slowloris: a head that never ends
            writer.write(b"GET /getstainfo HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        trickle = 0
        while clock.now() - started < HEAD_TIMEOUT / 2:  # more bytes do not extend it
            await asyncio.sleep(HEAD_TIMEOUT / 20 * SCALE)
            for _, writer in slow:
                writer.write(b"X-Slow-%d: z\r\n" % trickle)
            trickle += 1
        await version(web)  # others are served meanwhile
        for reader, _ in slow:
            await json_refusal(reader, 408)
        assert clock.now() - started >= HEAD_TIMEOUT - 1e-6
        assert trickle >= 3
        await version(web)


async def test_a_complete_head_in_time_is_served_and_its_timer_ends() -> None:
    limits = HttpLimits(head_timeout=HEAD_TIMEOUT, idle_timeout=10_000)
    async with web_at(limits) as web, clients(web, 1) as [(reader, writer)]:
        clock = web.module.clock
        writer.write(GET_VERSION[:20])
        await asyncio.sleep(HEAD_TIMEOUT / 2 * SCALE)
        writer.write(GET_VERSION[20:])
        assert await answer(reader) == (200, b'{"version":"1.0"}')
        begun = clock.now()
        while clock.now() - begun < 2 * HEAD_TIMEOUT:  # an idle keep-alive: no 408
            await asyncio.sleep(HEAD_TIMEOUT / 4 * SCALE)
        writer.write(GET_VERSION)
        assert await answer(reader) == (200, b'{"version":"1.0"}')


async def test_idle_connections_are_closed_after_the_idle_timeout() -> None:
    limits = HttpLimits(head_timeout=HEAD_TIMEOUT, idle_timeout=IDLE_TIMEOUT)
    async with web_at(limits, scale=0.05) as web:
        clock = web.module.clock
        started = clock.now()
        async with clients(web, 1) as [(reader, writer)]:  # keep-alive after a request
            writer.write(GET_VERSION)
            assert await answer(reader) == (200, b'{"version":"1.0"}')
            async with clients(web, 40) as idle:  # these never send a byte
                for idle_reader, _ in [*idle, (reader, writer)]:  # all closed silently
                    assert await asyncio.wait_for(idle_reader.read(), WAIT) == b""
        assert clock.now() - started >= IDLE_TIMEOUT - 1e-6
        await version(web)


async def test_the_timeouts_follow_the_time_scale() -> None:
    """Ten times the scale, ten times as long in real time: measured in module time,
    the head timeout is the same."""
    limits = HttpLimits(head_timeout=1.0, idle_timeout=10_000)
    async with web_at(limits, scale=0.1) as web, clients(web, 1) as [(reader, writer)]:
        loop = asyncio.get_running_loop()
        started, real = web.module.clock.now(), loop.time()
        writer.write(b"GET / HTTP/1.1\r\n")
        await json_refusal(reader, 408)
        assert web.module.clock.now() - started >= 1.0 - 1e-6
        assert loop.time() - real >= 0.1 - 1e-3


# ------------------------------------------------------------------- head size
def _head(size: int) -> bytes:
    """A complete GET head of exactly ``size`` bytes."""
    start = b"GET /getversion HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: "
    return start + b"p" * (size - len(start) - 4) + b"\r\n\r\n"


async def test_a_head_of_8_kib_is_served_one_byte_more_gets_431(web_module: WebModule) -> None:
    async with clients(web_module, 2) as [(ok_reader, ok_writer), (big_reader, big_writer)]:
        ok_writer.write(_head(8192))
        assert await answer(ok_reader) == (200, b'{"version":"1.0"}')
        big_writer.write(_head(8193))
        await json_refusal(big_reader, 431)


async def test_a_request_line_over_8_kib_gets_414(web_module: WebModule) -> None:
    async with clients(web_module, 1) as [(reader, writer)]:
        writer.write(b"GET /" + b"a" * 9000)
        await json_refusal(reader, 414)


async def test_an_endless_head_is_cut_at_the_limit(web_module: WebModule) -> None:
    """1 MB of header fields sent in pieces: answered 431 once 8 KiB have come, the rest
    is never buffered (the connection is closed)."""
    async with clients(web_module, 1) as [(reader, writer)]:
        writer.write(b"GET /getstainfo HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        with contextlib.suppress(ConnectionError):
            for n in range(256):
                writer.write(b"X-H%d: %s\r\n" % (n, b"h" * 4000))
                await writer.drain()
        await json_refusal(reader, 431)
    await _until(lambda: len(web_module.server._pool) == 0)


# -------------------------------------------------------------- connection cap
async def test_the_cap_closes_the_least_recently_used_idle_connection() -> None:
    async with web_at(HttpLimits(max_connections=3), scale=0) as web, clients(web, 3) as three:
        first, second, third = three
        for reader, writer in three:  # all idle keep-alive now
            writer.write(GET_VERSION)
            assert await answer(reader) == (200, b'{"version":"1.0"}')
        first[1].write(GET_VERSION)  # the first was used last: the second is the LRU
        assert await answer(first[0]) == (200, b'{"version":"1.0"}')
        async with clients(web, 1) as [(reader, writer)]:
            writer.write(GET_VERSION)
            assert await answer(reader) == (200, b'{"version":"1.0"}')
            assert await asyncio.wait_for(second[0].read(), WAIT) == b""
            for kept_reader, kept_writer in (first, third):
                kept_writer.write(GET_VERSION)
                assert await answer(kept_reader) == (200, b'{"version":"1.0"}')
        assert len(web.server._pool) <= 3


async def test_the_cap_answers_503_when_every_connection_is_busy() -> None:
    """Requests whose bodies are still arriving are never cut: the newcomer gets 503."""
    post = (
        b"POST /setstainfo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Content-Length: 40\r\n\r\n{"
    )
    async with web_at(HttpLimits(max_connections=2), scale=0) as web:
        async with clients(web, 2) as busy:
            for _, writer in busy:
                writer.write(post)
                await writer.drain()
            await _until(lambda: not any(c.idle for c in web.server._pool._open))
            async with clients(web, 1) as [(reader, _)]:
                await json_refusal(reader, 503)
            for reader, writer in busy:  # the busy ones finish normally
                writer.write(b'"ssid":"HomeNet","password":"secret12"}'.ljust(39) + b" ")
                status, _ = await answer(reader)
                assert status in (200, 400)
        await version(web)


async def _until(condition: Callable[[], bool]) -> None:
    for _ in range(500):  # bounded: 5 real seconds at most
        if condition():
            return
        await asyncio.sleep(0.01)
    pytest.fail("condition not reached")


def test_run_takes_the_cap_from_the_command_line(tmp_path: Path) -> None:
    proc = SimProcess(tmp_path, "--http-max-connections", "2")
    try:
        port = int(proc.url.rsplit(":", 1)[1])
        with contextlib.ExitStack() as stack:
            oldest, _, third = (
                stack.enter_context(socket.create_connection(("127.0.0.1", port), timeout=WAIT))
                for _ in range(3)
            )
            assert oldest.recv(100) == b""  # closed to admit the third
            third.sendall(b"GET /getversion HTTP/1.0\r\n\r\n")
            assert third.recv(4096).endswith(b'{"version":"1.0"}')
    finally:
        assert proc.stop() == 0, proc.stderr()


@pytest.mark.parametrize("value", ["0", "many", "70000"])
def test_run_refuses_a_bad_cap(value: str) -> None:
    done = run_child(
        [sys.executable, "-m", "esp_at_sim", "run", "--http-max-connections", value],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "--http-max-connections" in done.stderr and "Traceback" not in done.stderr


# ----------------------------------------------------------- the open-file limit
def test_at_the_open_file_limit_one_log_line_and_the_at_port_still_answers(
    tmp_path: Path,
) -> None:
    """An HTTP flood takes every descriptor the process may open: the refused accepts
    are reported once (not per attempt), and the AT port still takes its client."""
    proc = SimProcess(tmp_path, open_files=40)
    flood: list[socket.socket] = []
    try:
        port = int(proc.url.rsplit(":", 1)[1])
        for _ in range(60):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            flood.append(sock)
            sock.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                sock.connect(("127.0.0.1", port))
        for _ in range(100):  # bounded: until the limit is reached
            if proc.fd_count() >= 39:
                break
            time.sleep(0.02)
        assert proc.fd_count() >= 39
        proc.at_ok_within(5.0)  # a new AT client gets the reserved slot
        for _ in range(10):  # several retry rounds of both listeners
            proc.at_ok_within(5.0)
            time.sleep(0.1)
        lines = [line for line in proc.stderr().splitlines() if "cannot accept" in line]
        assert len(lines) == 1 and lines[0].startswith("esp-at-sim: WARNING: web server")
        assert len(proc.stderr()) < 500, proc.stderr()
    finally:
        for sock in flood:
            sock.close()
        status = proc.stop()
    assert status == 0, proc.stderr()
    assert "Traceback" not in proc.stderr()
