"""Abusive AT hosts: a flood of pipelined commands, a megabyte of lines at once, a line
without end, a client that sends but never reads. The module answers within its limits
(the receive buffer, the line length, the output held for a slow reader), its memory
stays bounded, and its web server and captive DNS keep answering meanwhile."""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import os
import socket
import struct
import threading
from collections.abc import Iterator

import pytest

from esp_at_sim.at.engine import DEFAULT_MAX_LINE, MAX_PENDING_BYTES
from esp_at_sim.core.events import Event
from esp_at_sim.factory import create_module
from esp_at_sim.testing import start_module
from esp_at_sim.transport import PtyTransport, TcpTransport
from esp_at_sim.transport.bridge import LINES_PER_TURN
from esp_at_sim.transport.tcp import MAX_BUFFERED
from esp_at_sim.web.server import REQUESTS_PER_TURN

from .conftest import start_web_module
from .simproc import SimProcess

OK = b"\r\nOK\r\n"
BUSY = b"\r\nbusy p...\r\n"
ERROR = b"\r\nERROR\r\n"
TIMEOUT = 20.0  # generous: a bound on hanging, not a figure


# ------------------------------------------------------------------ the flood
class Flood:
    """An AT client that writes ``lines`` lines of ``AT`` without waiting for answers,
    and counts the answers in a second thread."""

    def __init__(self, port: int, lines: int) -> None:
        self.lines = lines
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        self.answered = 0
        self._done = threading.Event()
        self._threads = [threading.Thread(target=self._write), threading.Thread(target=self._read)]
        for thread in self._threads:
            thread.start()

    def _write(self) -> None:
        chunk = 1000
        with contextlib.suppress(OSError):
            for _ in range(self.lines // chunk):
                self.sock.sendall(b"AT\r\n" * chunk)

    def _read(self) -> None:
        tail = b""
        with contextlib.suppress(OSError):
            while self.answered < self.lines:
                data = self.sock.recv(1 << 16)
                if not data:
                    break
                data = tail + data
                self.answered += data.count(OK)
                tail = data[-(len(OK) - 1) :]
        self._done.set()

    def close(self) -> None:
        self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        for thread in self._threads:
            thread.join(TIMEOUT)


@pytest.fixture
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimProcess]:
    proc = SimProcess(tmp_path_factory.mktemp("flood"))
    try:
        yield proc
    finally:
        assert proc.stop() == 0, proc.stderr()


def get_stainfo(url: str) -> int:
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=TIMEOUT)
    try:
        conn.request("GET", "/getstainfo")
        response = conn.getresponse()
        assert b'"state"' in response.read()
        return response.status
    finally:
        conn.close()


def dns_query(port: int, qid: int) -> bytes:
    question = b"\x07example\x03com\x00\x00\x01\x00\x01"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(TIMEOUT)
        sock.sendto(struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + question, ("127.0.0.1", port))
        return sock.recv(2048)


def test_web_and_dns_answer_while_an_at_client_pipelines(sim: SimProcess) -> None:
    """The AT engine yields between commands: while one client pipelines 200,000 ``AT``
    lines, HTTP requests and DNS queries are answered long before the flood is through."""
    flood = Flood(sim.at_port, 200_000)
    try:
        while flood.answered < 1000:  # the flood is under way
            assert flood._done.wait(0.01) is False, "the flood ended early"
        for qid in range(1, 6):
            assert get_stainfo(sim.url) == 200
            assert dns_query(sim.dns_port, qid)[:2] == struct.pack("!H", qid)
        assert flood.answered < flood.lines, "the web server was served only after the flood"
    finally:
        flood.close()


# ------------------------------------------------------------ in-process limits
async def test_a_megabyte_of_lines_at_once_fills_the_receive_buffer_then_busy() -> None:
    """Lines that arrive while others wait are held up to the firmware's receive buffer
    (16 KiB); the rest are answered ``busy p...``: a host's burst never grows memory."""
    module, at = await start_module()
    try:
        lines = 1 << 18  # 1 MiB of "AT\r\n"
        module.feed(b"AT\r\n" * lines)
        out = at.take() + await at.settle()
        held = MAX_PENDING_BYTES // len(b"AT\r\n")
        assert out.count(b"AT\r\n" + OK) == held
        assert out.count(BUSY) == lines - held
        assert await at.cmd("AT") == b"AT\r\n" + OK  # and the port works on
    finally:
        await module.close()


async def test_a_line_longer_than_the_limit_is_dropped_unechoed() -> None:
    """A line over 256 bytes is discarded up to its LF (never held, never echoed) and
    answered ``ERROR``; a megabyte without LF costs no memory."""
    module, at = await start_module()
    events: list[Event] = []
    module.bus.subscribe(events.append)
    try:
        long_line = b'AT+CWHOSTNAME="' + b"h" * DEFAULT_MAX_LINE + b'"'
        module.feed(long_line + b"\r\n")
        assert await at.wait_for(ERROR) == ERROR  # no echo: the line was never taken
        for _ in range(16):
            module.feed(b"A" * (1 << 16))  # a megabyte without a line end
        assert len(module.engine._partial) <= DEFAULT_MAX_LINE
        module.feed(b"\r\n")
        assert await at.wait_for(ERROR) == ERROR
        assert await at.cmd("AT") == b"AT\r\n" + OK
    finally:
        await module.close()
    logged = [e.data["line"] for e in events if e.kind == "at.cmd"]
    assert logged == ["", "", "AT"]


async def test_a_client_that_never_reads_gets_its_surplus_dropped() -> None:
    """Output for a TCP client that does not read is held up to 256 KiB, the rest lost (as
    on a UART overrun): a host that sends without reading cannot grow the module."""
    module = create_module(time_scale=0)
    transport = TcpTransport("127.0.0.1", 0)
    await transport.start(module)
    await module.start()
    commands: list[Event] = []
    module.bus.subscribe(lambda e: commands.append(e) if e.kind == "at.cmd" else None)
    loop = asyncio.get_running_loop()
    client = socket.socket()
    client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    client.setblocking(False)
    try:
        await loop.sock_connect(client, transport.address)
        await transport.wait_connected()
        assert transport._client is not None and transport._client.transport is not None
        held_by = transport._client.transport
        held_by.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        lines = 8000  # each answered with ~300 bytes of AT+GMR: 2.4 MB of output
        await loop.sock_sendall(client, b"AT+GMR\r\n" * lines)
        for _ in range(10 * lines):  # bounded: a few lines are handed over every turn
            if len(commands) == lines:
                break
            await asyncio.sleep(0)
        assert len(commands) == lines
        assert 0 < held_by.get_write_buffer_size() <= MAX_BUFFERED + 1024
    finally:
        client.close()
        await transport.close()
        await module.close()


async def _get_stainfo(port: int) -> bytes:
    """One ``GET /getstainfo`` on a new connection; the whole answer."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(b"GET /getstainfo HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        return await asyncio.wait_for(reader.read(), TIMEOUT)
    finally:
        writer.close()
        await writer.wait_closed()


async def test_an_at_flood_leaves_turns_to_the_web_server() -> None:
    """A host that pipelines ``AT`` without pause gets at most LINES_PER_TURN lines handled
    per turn of the loop the web server shares: each ``GET /getstainfo`` made in
    mid-flood is answered within a few hundred of the flood's lines (about 120 today),
    not after the whole flood. (A bridge that handled all it had read in one go takes
    thousands.)"""
    web = await start_web_module()
    transport = TcpTransport("127.0.0.1", 0)
    await transport.start(web.module)
    handled: list[Event] = []
    web.module.bus.subscribe(handled.append, kinds=("at.cmd",))
    loop = asyncio.get_running_loop()
    client = socket.socket()
    client.setblocking(False)
    lines = 50_000
    tasks: list[asyncio.Task[None]] = []
    try:
        await loop.sock_connect(client, transport.address)
        await transport.wait_connected()

        async def read_answers() -> None:
            while await loop.sock_recv(client, 1 << 16):
                pass

        tasks.append(loop.create_task(loop.sock_sendall(client, b"AT\r\n" * lines)))
        tasks.append(loop.create_task(read_answers()))
        for _ in range(lines):  # bounded: the flood gets under way
            if len(handled) >= 1000:
                break
            await asyncio.sleep(0)
        requests, before = 5, len(handled)
        for _ in range(requests):
            answer = await _get_stainfo(web.port)
            assert answer.startswith(b"HTTP/1.1 200 ") and b'"state"' in answer
        during = len(handled) - before
        # 40 turns a request is generous (15 today); each turn takes up to LINES_PER_TURN
        assert during <= requests * 40 * 8, during
        assert LINES_PER_TURN <= 8
        assert len(handled) < lines
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        client.close()
        await transport.close()
        await web.module.close()


async def test_an_at_line_waits_for_a_few_requests_not_for_a_crowd() -> None:
    """Forty HTTP clients send a request each at once; an AT line that arrives while
    their handlers are queued is handled after at most REQUESTS_PER_TURN of them (one
    turn's worth), not after all forty."""
    web = await start_web_module()
    transport = TcpTransport("127.0.0.1", 0)
    await transport.start(web.module)
    served: list[Event] = []
    web.module.bus.subscribe(served.append, kinds=("http",))
    seen_at: list[int] = []
    web.module.bus.subscribe(lambda _: seen_at.append(len(served)), kinds=("at.cmd",))
    loop = asyncio.get_running_loop()
    client = socket.socket()
    client.setblocking(False)
    crowd: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    request = b"GET /getstainfo HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    try:
        await loop.sock_connect(client, transport.address)
        await transport.wait_connected()
        for _ in range(40):
            crowd.append(await asyncio.open_connection("127.0.0.1", web.port))
        for reader, writer in crowd:  # every connection accepted and served once
            writer.write(request)
            assert (await reader.readuntil(b"}")).startswith(b"HTTP/1.1 200 ")
        served.clear()
        for _, writer in crowd:
            writer.write(request)
        # one turn reads the forty requests and queues their handlers; the line comes next
        for _ in range(2):
            await asyncio.sleep(0)
        client.send(b"AT\r\n")
        for reader, _ in crowd:
            assert (await asyncio.wait_for(reader.readuntil(b"}"), TIMEOUT)).startswith(
                b"HTTP/1.1 200 "
            )
        assert len(served) == 40
        assert len(seen_at) == 1 and seen_at[0] <= min(REQUESTS_PER_TURN, 20), seen_at
        answer = b""
        while not answer.endswith(OK):  # after the phones' +STA_CONNECTED URCs
            answer += await asyncio.wait_for(loop.sock_recv(client, 4096), TIMEOUT)
        assert answer.endswith(b"AT\r\n" + OK)
    finally:
        for _, writer in crowd:
            writer.close()
        client.close()
        await transport.close()
        await web.module.close()


@pytest.mark.parametrize("kind", ["tcp", "pty"])
async def test_an_at_line_goes_before_the_requests_still_queued(kind: str) -> None:
    """Forty requests are queued for later turns when an AT line arrives: the line is
    handled before the next of them starts (the web server serves the AT port first,
    core/turns.py PriorityInput), not after a turn's worth (REQUESTS_PER_TURN) or all
    forty. Its answer is whole, and the requests are all answered after it."""
    web = await start_web_module()
    transport: TcpTransport | PtyTransport
    transport = TcpTransport("127.0.0.1", 0) if kind == "tcp" else PtyTransport()
    await transport.start(web.module)
    served: list[Event] = []
    web.module.bus.subscribe(served.append, kinds=("http",))
    seen_at: list[int] = []
    web.module.bus.subscribe(lambda _: seen_at.append(len(served)), kinds=("at.cmd",))
    loop = asyncio.get_running_loop()
    client = socket.socket()
    fd = -1
    crowd: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    request = b"GET /getstainfo HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    try:
        if isinstance(transport, TcpTransport):
            client.setblocking(False)
            await loop.sock_connect(client, transport.address)
            fd = client.fileno()
        else:
            fd = os.open(transport.path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        await transport.wait_connected()
        for _ in range(40):
            crowd.append(await asyncio.open_connection("127.0.0.1", web.port))
        for reader, writer in crowd:  # every connection accepted and served once
            writer.write(request)
            assert (await reader.readuntil(b"}")).startswith(b"HTTP/1.1 200 ")
        served.clear()
        for _, writer in crowd:
            writer.write(request)
        for _ in range(3):  # the requests are read, and a turn's worth is served
            await asyncio.sleep(0)
        before = len(served)
        assert before < 40 - REQUESTS_PER_TURN  # the crowd still waits
        os.write(fd, b"AT\r\n")
        for reader, _ in crowd:
            assert (await asyncio.wait_for(reader.readuntil(b"}"), TIMEOUT)).startswith(
                b"HTTP/1.1 200 "
            )
        assert len(served) == 40
        # at most a request already under way when the line came
        assert len(seen_at) == 1 and seen_at[0] - before <= 1, (before, seen_at)
        answer = b""
        for _ in range(1000):  # bounded; after the phones' +STA_CONNECTED URCs
            if answer.endswith(OK):
                break
            with contextlib.suppress(BlockingIOError):
                answer += os.read(fd, 4096)
            await asyncio.sleep(0.001)
        assert answer.endswith(b"AT\r\n" + OK), answer
    finally:
        for _, writer in crowd:
            writer.close()
        client.close()
        if fd >= 0 and isinstance(transport, PtyTransport):
            os.close(fd)
        await transport.close()
        await web.module.close()
