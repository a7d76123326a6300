"""HTTP and DNS answer times while one AT client pipelines ``AT`` as fast as it can,
against the same answer times with the AT port idle (measured first, in the same run).

The module's AT engine shares one event loop with its web server and captive DNS; it
must yield between commands so that a flood on the AT port does not starve them. The
goal: medians under flood within 10x the idle medians.
Usage: python bench/bench_at_flood.py [seconds]   (default 5)"""

from __future__ import annotations

import http.client
import socket
import struct
import threading
import time
from collections.abc import Callable

from _common import median, percentile, report, seconds_arg, web_module

QUESTION = b"\x0cconnectivity\x05check\x07gstatic\x03com\x00\x00\x01\x00\x01"
CHUNK = b"AT\r\n" * 1024  # what the flooding client writes at a time
TIMEOUT = 10.0  # seconds: a slower answer counts as this long (and is reported)


def http_time(url: str) -> float:
    """Seconds for one ``GET /getstainfo`` on a new connection (as the page's poll)."""
    host, port = url.removeprefix("http://").split(":")
    start = time.perf_counter()
    conn = http.client.HTTPConnection(host, int(port), timeout=TIMEOUT)
    try:
        conn.request("GET", "/getstainfo")
        response = conn.getresponse()
        body = response.read()
    finally:
        conn.close()
    if response.status != 200 or b"state" not in body:
        raise RuntimeError(f"/getstainfo answered {response.status}: {body[:200]!r}")
    return time.perf_counter() - start


def dns_time(port: int, qid: int) -> float:
    """Seconds for one A query to the captive DNS."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(TIMEOUT)
        start = time.perf_counter()
        sock.sendto(struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + QUESTION, ("127.0.0.1", port))
        reply = sock.recv(2048)
    if reply[:2] != struct.pack("!H", qid):
        raise RuntimeError(f"DNS answered another query: {reply[:12]!r}")
    return time.perf_counter() - start


def sample(measure: Callable[[int], float], seconds: float) -> tuple[list[float], int]:
    """Back-to-back measurements for ``seconds`` (at least 5), and how many timed out
    (counted as ``TIMEOUT``; sampling stops at the second)."""
    out: list[float] = []
    lost = 0
    end = time.perf_counter() + seconds
    while (time.perf_counter() < end or len(out) < 5) and lost < 2:
        try:
            out.append(measure(len(out) + 1))
        except TimeoutError:
            out.append(TIMEOUT)
            lost += 1
    return out, lost


class Flood:
    """One AT client writing ``AT`` lines without waiting for answers, and reading every
    answer in a second thread; ``answered`` counts the OKs."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.answered = 0
        self.busy = 0
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._write, daemon=True),
            threading.Thread(target=self._read, daemon=True),
        ]
        time.sleep(0.2)  # the module attaches the client before it reads
        for thread in self._threads:
            thread.start()

    def _write(self) -> None:
        try:
            while not self._stop.is_set():
                self.sock.sendall(CHUNK)
        except OSError:
            pass

    def _read(self) -> None:
        tail = b""
        try:
            while not self._stop.is_set():
                data = self.sock.recv(1 << 16)
                if not data:
                    return
                data = tail + data
                self.answered += data.count(b"\r\nOK\r\n")
                self.busy += data.count(b"busy p...")
                tail = data[-8:]
        except OSError:
            pass

    def stop(self) -> None:
        self._stop.set()
        self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        for thread in self._threads:
            thread.join(TIMEOUT)


def main() -> None:
    seconds = seconds_arg(5.0)
    with web_module() as module:
        http_time(module.url)  # warm-up
        idle = {
            "/getstainfo": sample(lambda _: http_time(module.url), seconds),
            "DNS A query": sample(lambda qid: dns_time(module.dns_port, qid), seconds),
        }
        flood = Flood(module.at_port)
        try:
            time.sleep(0.5)  # the flood is up
            start, before = time.perf_counter(), flood.answered
            flooded = {
                "/getstainfo": sample(lambda _: http_time(module.url), seconds),
                "DNS A query": sample(lambda qid: dns_time(module.dns_port, qid), seconds),
            }
            rate = (flood.answered - before) / (time.perf_counter() - start)
        finally:
            flood.stop()
    print(f"AT flood: {rate:,.0f} commands/s answered, {flood.busy} busy p...", flush=True)
    for name, (times, lost) in flooded.items():
        quiet = idle[name][0]
        if lost:
            print(f"{name}: {lost} of {len(times)} answers under flood took over {TIMEOUT} s")
        report(f"{name} median under AT flood", median(times) * 1000, "ms", "AT idle",
               median(quiet) * 1000, digits=2)  # fmt: skip
        report(f"{name} p90 under AT flood", percentile(times, 90) * 1000, "ms", "AT idle",
               percentile(quiet, 90) * 1000, digits=2)  # fmt: skip


if __name__ == "__main__":
    main()
