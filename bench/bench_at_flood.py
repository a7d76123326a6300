"""HTTP and DNS answer times while one AT client pipelines ``AT`` as fast as it can,
against the same answer times with the AT port idle (measured first, in the same run).

The module's AT engine must yield between commands so that a flood on the AT port does
not starve the web server and the captive DNS. Idle and flooded windows alternate.
The goal: medians under flood within 10x the idle medians.
Usage: python bench/bench_at_flood.py [seconds-per-window]   (default 2)"""

from __future__ import annotations

import http.client
import socket
import struct
import threading
import time
from collections.abc import Callable

from _common import Goal, Sample, median, percentile, repeats_arg, report, seconds_arg, web_module

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


Samples = dict[str, tuple[list[float], int]]


def answer_times(url: str, dns_port: int, seconds: float) -> Samples:
    return {
        "/getstainfo": sample(lambda _: http_time(url), seconds / 2),
        "DNS A query": sample(lambda qid: dns_time(dns_port, qid), seconds / 2),
    }


def main() -> None:
    seconds, repeats = seconds_arg(2.0), repeats_arg(3)
    idle: list[Samples] = []
    flooded: list[Samples] = []
    rates: list[float] = []
    busy = 0
    with web_module() as module:
        http_time(module.url)  # warm-up
        for _ in range(repeats):
            idle.append(answer_times(module.url, module.dns_port, seconds))
            flood = Flood(module.at_port)
            try:
                time.sleep(0.5)  # the flood is up
                start, before = time.perf_counter(), flood.answered
                flooded.append(answer_times(module.url, module.dns_port, seconds))
                rates.append((flood.answered - before) / (time.perf_counter() - start))
            finally:
                flood.stop()
            busy += flood.busy
    print(f"AT flood: {median(rates):,.0f} commands/s answered, {busy} busy p...", flush=True)
    for name in ("/getstainfo", "DNS A query"):
        lost = sum(window[name][1] for window in flooded)
        if lost:
            print(f"{name}: {lost} answers under flood took over {TIMEOUT} s")
        for label, stat in (("median", median), ("p90", lambda t: percentile(t, 90))):
            ours = [Sample(stat(window[name][0]) * 1000) for window in flooded]
            theirs = [Sample(stat(window[name][0]) * 1000) for window in idle]
            goal = Goal("<=", 10) if label == "median" else None
            report(f"{name} {label} under AT flood", ours, "ms", "AT idle", theirs, digits=2,
                   goal=goal)  # fmt: skip


if __name__ == "__main__":
    main()
