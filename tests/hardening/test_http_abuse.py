"""Abusive HTTP clients against a module in a child process: slow clients (headers
trickled byte by byte), a flood of connections, huge headers, bodies that lie about their
length. Through all of it the web server keeps serving, the AT port keeps answering
within a bounded time, the child's memory stays bounded and its descriptors come back."""

from __future__ import annotations

import contextlib
import json
import socket
import time
from collections.abc import Iterator

import pytest

from .simproc import SimProcess

AT_DEADLINE = 2.0  # seconds the AT port may take to answer AT during the abuse
RSS_BOUND_KIB = 48 * 1024  # growth of the child's resident memory over the whole module
HTTP_CAP = 64  # the server's default connection cap


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimProcess]:
    proc = SimProcess(tmp_path_factory.mktemp("abuse"))
    try:
        proc.at_ok_within(AT_DEADLINE)  # the AT client socket is part of the baseline
        baseline_rss = proc.rss_kib()
        yield proc
        grown = proc.rss_kib() - baseline_rss
        assert grown < RSS_BOUND_KIB, f"resident memory grew by {grown} KiB"
    finally:
        status = proc.stop()
    assert status == 0, proc.stderr()
    assert "Traceback" not in proc.stderr(), proc.stderr()


@pytest.fixture
def baseline_fds(sim: SimProcess) -> Iterator[int]:
    """The child's descriptors before the test; all must be released after it."""
    before = sim.fd_count()
    yield before
    assert sim.wait_fds(before) <= before, "the server kept descriptors of closed clients"


def connect(sim: SimProcess, timeout: float = 5.0) -> socket.socket:
    port = int(sim.url.rsplit(":", 1)[1])
    return socket.create_connection(("127.0.0.1", port), timeout=timeout)


def read_response(sock: socket.socket, timeout: float = 5.0) -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 response (Content-Length framed, as all of ours are)."""
    sock.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed before a full response head: {data!r}")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return status, headers, body[:length]


def request(sim: SimProcess, raw: bytes, timeout: float = 5.0) -> tuple[int, dict[str, str], bytes]:
    with connect(sim, timeout) as sock:
        sock.sendall(raw)
        return read_response(sock, timeout)


def get(sim: SimProcess, path: str, timeout: float = 5.0) -> tuple[int, bytes]:
    raw = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode()
    status, _, body = request(sim, raw, timeout)
    return status, body


def assert_serving(sim: SimProcess) -> None:
    """The AT port answers and a fresh HTTP client is served, both within bounds."""
    sim.at_ok_within(AT_DEADLINE)
    status, body = get(sim, "/getversion", timeout=AT_DEADLINE)
    assert (status, body) == (200, b'{"version":"1.0"}')


def json_error(status: int, headers: dict[str, str], body: bytes) -> None:
    assert 400 <= status < 500, (status, body)
    assert headers.get("content-type") == "application/json", headers
    assert json.loads(body)["state"] == 1


@contextlib.contextmanager
def many(count: int) -> Iterator[list[socket.socket]]:
    opened: list[socket.socket] = []
    try:
        yield opened
    finally:
        for sock in opened:
            sock.close()


# --------------------------------------------------------------------- slow clients
def test_slowloris_headers_trickled_byte_by_byte(sim: SimProcess, baseline_fds: int) -> None:
    head = b"GET /getstainfo HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"z" * 40 + b"\r\n"
    with many(40) as slow:
        for _ in range(40):
            slow.append(connect(sim))
        checks = 0
        for index in range(len(head)):  # one byte per client per round
            for sock in slow:
                sock.sendall(head[index : index + 1])
            if index % 20 == 0:
                assert_serving(sim)
                checks += 1
            time.sleep(0.01)
        assert checks >= 3
        for sock in slow[:10]:  # slow but legitimate: they get their answer in the end
            sock.sendall(b"\r\n")
        for sock in slow[:10]:
            status, _, body = read_response(sock)
            assert status == 200 and json.loads(body)["message"] == "waiting config"
        assert_serving(sim)


def test_flood_of_300_connections(sim: SimProcess, baseline_fds: int) -> None:
    """The connection cap (64): the least recently used idle connections are closed to
    admit new ones, so the flood holds at most 64 descriptors of the server."""
    port = int(sim.url.rsplit(":", 1)[1])
    with many(300) as flood:
        for index in range(300):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            flood.append(sock)
            sock.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                sock.connect(("127.0.0.1", port))
            if index % 3 == 1:  # a third start a request and stop half-way
                with contextlib.suppress(OSError):
                    sock.send(b"GET /getstainfo HTTP/1.1\r\nHo")
        assert_serving(sim)
        first = flood[0]
        first.setblocking(True)
        first.settimeout(30)  # bounded: the flood's retried connects arrive over seconds
        assert first.recv(100) == b""  # the oldest idle one was closed to admit others
        assert_serving(sim)
        held = sim.fd_count() - baseline_fds
        assert held <= HTTP_CAP + 4, f"{held} descriptors held by the flood"
    assert_serving(sim)


# --------------------------------------------------------------------- big heads
def test_one_huge_header_line_is_a_json_4xx(sim: SimProcess, baseline_fds: int) -> None:
    raw = b"GET /getstainfo HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"b" * 65536 + b"\r\n\r\n"
    json_error(*request(sim, raw))
    long_target = b"GET /" + b"p" * 20000 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    json_error(*request(sim, long_target))
    assert_serving(sim)


def test_too_many_headers_are_a_json_4xx(sim: SimProcess, baseline_fds: int) -> None:
    fields = b"".join(b"X-H%d: %s\r\n" % (n, b"h" * 8000) for n in range(300))
    raw = b"GET /getstainfo HTTP/1.1\r\nHost: 127.0.0.1\r\n" + fields + b"\r\n"
    with connect(sim) as sock:
        with contextlib.suppress(ConnectionError):  # it may answer before reading all
            sock.sendall(raw)
        json_error(*read_response(sock))
    assert_serving(sim)


def test_parallel_big_heads_keep_memory_bounded(sim: SimProcess, baseline_fds: int) -> None:
    """300 clients each try to send 1 MB of request head and never finish it: each is
    answered 431 after 8 KiB (or closed by the cap), and memory stays bounded."""
    fields = b"".join(b"X-H%d: %s\r\n" % (n, b"h" * 4000) for n in range(250))  # 1 MB
    raw = b"GET /getstainfo HTTP/1.1\r\nHost: 127.0.0.1\r\n" + fields
    before = sim.rss_kib()
    port = int(sim.url.rsplit(":", 1)[1])
    answered = 0
    with many(300) as heads:
        for _ in range(300):
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            heads.append(sock)
            sock.setblocking(False)
            with contextlib.suppress(OSError):  # as much as the kernel takes
                sock.send(raw)
        assert_serving(sim)
        grown = sim.rss_kib() - before
        for sock in heads[-HTTP_CAP // 2 :]:  # the newest were not purged: each has 431
            sock.setblocking(True)
            with contextlib.suppress(ConnectionError):
                status, _, body = read_response(sock)
                assert status == 431 and json.loads(body)["state"] == 1
                answered += 1
    assert grown < 24 * 1024, f"memory grew by {grown} KiB"
    assert answered > 0
    # 300 closes to process (under load, longer than the fixture's 5 s): bounded wait
    assert sim.wait_fds(baseline_fds, timeout=60) <= baseline_fds
    assert_serving(sim)


# ------------------------------------------------------------ lying Content-Length
def test_body_shorter_than_declared_then_gone(sim: SimProcess, baseline_fds: int) -> None:
    body = b'{"ssid":"HomeNet",'
    with connect(sim) as sock:
        sock.sendall(
            b"POST /setstainfo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: 200\r\n\r\n" + body
        )
        assert_serving(sim)  # the server waits for this body, and serves others meanwhile
        sock.shutdown(socket.SHUT_WR)  # the client sends no more, but still listens
        status, headers, answer = read_response(sock)
        assert (status, json.loads(answer)) == (400, {"state": 1})
        json_error(status, headers, answer)
        assert sock.recv(100) == b""  # and the server closes the connection
    status, info = get(sim, "/getstainfo")
    assert status == 200 and json.loads(info)["message"] == "waiting config"
    assert b"+WEBSERVERRSP" not in sim.at("AT")
    assert_serving(sim)


def test_body_longer_than_declared(sim: SimProcess, baseline_fds: int) -> None:
    head = b"POST /getresult HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10\r\n\r\n"
    surplus = b"GARBAGE WITHOUT A REQUEST LINE\r\n\r\n"
    with connect(sim) as sock:  # the surplus arrives after the first answer went out
        sock.sendall(head + b"received=1")
        status, _, body = read_response(sock)
        assert (status, body) == (200, b'{"state": 0}')
        sock.sendall(surplus)
        json_error(*read_response(sock))  # the surplus is a bad second request
    with connect(sim) as sock:  # all in one segment: aiohttp refuses the lot
        sock.sendall(head + b"received=1" + surplus)
        status, headers, body = read_response(sock)
        if status == 200:
            status, headers, body = read_response(sock)
        json_error(status, headers, body)
    assert_serving(sim)


def test_upload_that_stops_short_fails_and_frees_the_slot(
    sim: SimProcess, baseline_fds: int
) -> None:
    head = (
        b"POST /setotadata HTTP/1.1\r\nHost: 127.0.0.1\r\nObject: fs_storage\r\n"
        b"Content-Type: application/octet-stream\r\nContent-Length: 100000\r\n\r\n"
    )
    with connect(sim) as stalled:
        stalled.sendall(head + b"\x5a" * 4000)
        time.sleep(0.1)
        assert b"+WEBSERVERRSP:3" in sim.at("AT")
        other = request(sim, head.replace(b"100000", b"4") + b"abcd")
        assert other[0] == 409 and json.loads(other[2]) == {"state": 1}
        assert_serving(sim)
    # the client is gone: the upload fails and the next one is accepted
    deadline = time.monotonic() + 5
    seen = b""
    while b"+WEBSERVERRSP:5" not in seen and time.monotonic() < deadline:
        seen += sim.at("AT")
        time.sleep(0.05)
    assert b"+WEBSERVERRSP:5" in seen
    status, _, body = request(sim, head.replace(b"100000", b"4") + b"abcd")
    assert (status, body) == (200, b'{"state": 0}')
    assert b"+WEBSERVERRSP:4" in sim.at("AT")


def test_unknown_methods_and_paths_are_json_or_the_portal(
    sim: SimProcess, baseline_fds: int
) -> None:
    status, headers, _ = request(sim, b"DELETE /pot HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    assert status == 302 and headers["location"].startswith("http://127.0.0.1")
    json_error(*request(sim, b"BREW /pot HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"))


# ------------------------------------------------- posts sent by another site's page
HOSTILE_POSTS = [
    pytest.param("/setstainfo", b"", b'{"ssid":"HomeNet","password":"sunflower42"}', id="sta"),
    pytest.param("/setotadata", b"Object: fs_storage\r\n", b"\x00" * 64, id="raw-write"),
    pytest.param("/setotadata", b"Object: ota\r\n", b"\xe9" * 64, id="ota"),
    pytest.param("/getresult", b"", b"received=1", id="result"),
]


def hostile_post(
    sim: SimProcess, path: str, extra: bytes, body: bytes, host: str, origin: str
) -> None:
    """The post is refused with a JSON 403 and changes nothing."""
    raw = (
        b"POST %s HTTP/1.1\r\nHost: %s\r\nOrigin: %s\r\n%sContent-Length: %d\r\n\r\n"
        % (path.encode(), host.encode(), origin.encode(), extra, len(body))
    ) + body
    status, headers, answer = request(sim, raw)
    assert status == 403, (status, answer)
    json_error(status, headers, answer)
    status, info = get(sim, "/getstainfo")
    assert status == 200 and json.loads(info)["message"] == "waiting config"
    assert b"+WEBSERVERRSP" not in sim.at("AT")


@pytest.mark.parametrize(("path", "extra", "body"), HOSTILE_POSTS)
def test_cross_origin_post_is_refused(
    sim: SimProcess, baseline_fds: int, path: str, extra: bytes, body: bytes
) -> None:
    """A page of evil.example posts to the module's own address."""
    host = sim.url.removeprefix("http://")
    hostile_post(sim, path, extra, body, host, "http://evil.example")


@pytest.mark.parametrize(("path", "extra", "body"), HOSTILE_POSTS)
def test_dns_rebinding_cannot_post(
    sim: SimProcess, baseline_fds: int, path: str, extra: bytes, body: bytes
) -> None:
    """evil.example now resolves to 127.0.0.1: its page posts with a matching Origin."""
    site = f"evil.example:{sim.url.rsplit(':', 1)[1]}"
    hostile_post(sim, path, extra, body, site, f"http://{site}")
    # the captive portal still answers a foreign name with its redirect
    probe = b"GET /generate_204 HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % site.encode()
    status, headers, _ = request(sim, probe)
    assert status == 302 and headers["location"] == sim.url + "/"
