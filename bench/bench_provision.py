"""A browser's whole provisioning flow at time scale 0, per second: ``POST /setstainfo``,
``GET /getstainfo`` until ``state`` is 1, ``POST /getresult``, with the AT port showing
``+WEBSERVERRSP:1``, ``WIFI CONNECTED``, ``WIFI GOT IP`` and ``+WEBSERVERRSP:2`` in
order. The baseline is the sum of the flow's bare round trips: the same HTTP requests
against bare aiohttp handlers plus one AT round trip against an echo responder.
Usage: python bench/bench_provision.py [flows]   (default 100)"""

from __future__ import annotations

import re
import sys
import time
from http.client import HTTPConnection

from _common import AtSocket, bare_http, echo_responder, median, report, web_module

CREDENTIALS = b'{"ssid":"HomeNet","password":"sunflower42"}'
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
SEQUENCE = re.compile(
    rb"\+WEBSERVERRSP:1\r\n.*?WIFI CONNECTED\r\n.*?WIFI GOT IP\r\n.*?\+WEBSERVERRSP:2\r\n", re.S
)


class Http:
    """One keep-alive connection, as a browser keeps it."""

    def __init__(self, url: str) -> None:
        host, port = url.removeprefix("http://").split(":")
        self.conn = HTTPConnection(host, int(port), timeout=10)

    def call(self, method: str, path: str, body: bytes | None = None, **headers: str) -> bytes:
        self.conn.request(method, path, body=body, headers=headers)
        answer = self.conn.getresponse()
        data = answer.read()
        if answer.status != 200:
            raise RuntimeError(f"{method} {path}: {answer.status} {data!r}")
        return data

    def close(self) -> None:
        self.conn.close()


def flow(http: Http, at: AtSocket) -> tuple[float, int]:
    """One provisioning; its duration (until the AT port showed it all) and the number
    of status polls it took."""
    mark = len(at.seen)
    start = time.perf_counter()
    http.call("POST", "/setstainfo", CREDENTIALS, **{"Content-Type": "application/json"})
    polls = 0
    while True:
        polls += 1
        if b'"state":1' in http.call("GET", "/getstainfo"):
            break
        if polls > 1000:
            raise RuntimeError("provisioning never finished")
    http.call("POST", "/getresult", b"received=1", **FORM)
    while SEQUENCE.search(at.seen, mark) is None:
        at.sock.settimeout(5)
        chunk = at.sock.recv(65536)
        if not chunk:
            raise ConnectionError("the AT port closed")
        at.seen += chunk
    return time.perf_counter() - start, polls


def bare_flow(http: Http, polls: int) -> float:
    start = time.perf_counter()
    http.call("POST", "/setstainfo", CREDENTIALS, **{"Content-Type": "application/json"})
    for _ in range(polls):
        http.call("GET", "/getstainfo")
    http.call("POST", "/getresult", b"received=1", **FORM)
    return time.perf_counter() - start


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    with web_module() as module:
        at = AtSocket(module.at_port)
        http = Http(module.url)
        try:
            flow(http, at)  # warm-up: the phone joins, the first link comes up
            runs = [flow(http, at) for _ in range(count)]
        finally:
            http.close()
            at.close()
    polls = round(median([p for _, p in runs]))
    with bare_http() as bare:
        http = Http(bare.url)
        try:
            bare_flow(http, polls)
            bare = median([bare_flow(http, polls) for _ in range(count)])
        finally:
            http.close()
    with echo_responder("tcp") as responder:
        port = int(responder.wait_line(r"AT port: tcp://127\.0\.0\.1:(\d+)").group(1))
        echo = AtSocket(port)
        try:
            at_trip = median([echo.roundtrip() for _ in range(count)])
        finally:
            echo.close()
    sim = median([t for t, _ in runs])
    report(
        f"Provisioning flow ({polls} status polls)",
        1 / sim,
        "flows/s",
        "sum of bare round trips",
        1 / (bare + at_trip),
    )


if __name__ == "__main__":
    main()
