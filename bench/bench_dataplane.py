"""Bytes per second through the module's data plane, over the TCP AT transport, to a
routed loopback TCP sink: ``AT+CIPSEND=8192`` (length form: line, ``>``, 8192 bytes,
``SEND OK``) and passthrough (``AT+CIPMODE=1``, ``AT+CIPSEND``), each beside a bare
asyncio relay moving the same bytes to the same sink in the same run; and passthrough
at ``--baud 115200`` beside the UART wire limit (115200 / 10 bytes/s).

Bytes are counted where they arrive: the sink (its own process) answers its running
total on a control port, and a window ends when the sink holds everything sent in it,
so nothing still in a socket buffer is counted. Figure and baseline are measured in
alternating windows.
Usage: python bench/bench_dataplane.py [seconds-per-window]   (default 1)
CPU time is per 8192 bytes."""

from __future__ import annotations

import socket
import sys
import time
from collections.abc import Callable

from _common import (
    Goal,
    Proc,
    Sample,
    interleave,
    measured,
    repeats_arg,
    report,
    seconds_arg,
    simulator,
)

CHUNK = 8192
REMOTE = "203.0.113.10"

# The sink: counts every byte it receives; its control port answers the total.
SINK = r"""
import asyncio
total = 0
class Sink(asyncio.Protocol):
    def data_received(self, data):
        global total
        total += len(data)
class Control(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport
    def data_received(self, data):
        self.transport.write(b"%d\n" % total * data.count(b"\n"))
async def main():
    loop = asyncio.get_running_loop()
    sink = await loop.create_server(Sink, "127.0.0.1", 0)
    control = await loop.create_server(Control, "127.0.0.1", 0)
    print(f"Sink: {sink.sockets[0].getsockname()[1]} {control.sockets[0].getsockname()[1]}",
          flush=True)
    await asyncio.Event().wait()
asyncio.run(main())
"""

# The baseline: one asyncio loop relaying each accepted connection to the sink, with
# flow control both ways (what the module's own loop could do at best).
RELAY = r"""
import asyncio, sys
SINK = int(sys.argv[1])
class Out(asyncio.Protocol):
    def __init__(self, inbound):
        self.inbound = inbound
    def pause_writing(self):
        self.inbound.pause_reading()
    def resume_writing(self):
        self.inbound.resume_reading()
class In(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport, self.out, self.pending = transport, None, []
        transport.pause_reading()
        asyncio.ensure_future(self.connect())
    async def connect(self):
        loop = asyncio.get_running_loop()
        self.out, _ = await loop.create_connection(
            lambda: Out(self.transport), "127.0.0.1", SINK)
        self.transport.resume_reading()
    def data_received(self, data):
        self.out.write(data)
    def connection_lost(self, exc):
        if self.out is not None:
            self.out.close()
async def main():
    server = await asyncio.get_running_loop().create_server(In, "127.0.0.1", 0)
    print(f"Relay: {server.sockets[0].getsockname()[1]}", flush=True)
    await asyncio.Event().wait()
asyncio.run(main())
"""


class Counter:
    """The sink's running total, read over its control port."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.file = self.sock.makefile("rb")

    def close(self) -> None:
        self.file.close()
        self.sock.close()

    def total(self) -> int:
        self.sock.sendall(b"\n")
        return int(self.file.readline())

    def wait_for(self, target: int, timeout: float) -> float:
        """Poll until the sink holds ``target`` bytes; the time it did."""
        deadline = time.perf_counter() + timeout
        while (now := time.perf_counter()) < deadline:
            if self.total() >= target:
                return now
            time.sleep(0.0005)
        raise TimeoutError(f"the sink got {self.total()} of {target} bytes")


def connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def expect(sock: socket.socket, final: bytes, timeout: float = 10.0) -> bytes:
    """Read until the data received ends with ``final``."""
    got, deadline = b"", time.monotonic() + timeout
    while not got.endswith(final):
        if time.monotonic() > deadline:
            raise TimeoutError(f"no {final!r}; got {got[-200:]!r}")
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"the AT port closed; got {got[-200:]!r}")
        got += chunk
    return got


def command(sock: socket.socket, line: str, final: bytes = b"OK\r\n") -> bytes:
    sock.sendall(line.encode() + b"\r\n")
    got = expect(sock, final, timeout=30)
    if b"ERROR" in got:
        raise RuntimeError(f"{line}: {got!r}")
    return got


def module_link(at_port: int, passthrough: bool) -> socket.socket:
    """An AT connection that has joined the access point and opened a TCP link to the
    routed sink; in passthrough already, when asked."""
    sock = connect(at_port)
    time.sleep(0.2)  # the module attaches the client before it reads
    command(sock, "ATE0")
    command(sock, 'AT+CWJAP="HomeNet","sunflower42"')
    command(sock, f'AT+CIPSTART="TCP","{REMOTE}",80')
    if passthrough:
        command(sock, "AT+CIPMODE=1")
        command(sock, "AT+CIPSEND", final=b">")
    return sock


def payload() -> bytes:
    return bytes(range(256)) * (CHUNK // 256)


def cipsend_window(
    proc: Proc, sock: socket.socket, counter: Counter, seconds: float
) -> Callable[[], Sample]:
    data = payload()
    head = f"AT+CIPSEND={CHUNK}\r\n".encode()

    def window() -> tuple[float, int]:
        base, sent = counter.total(), 0
        start = time.perf_counter()
        while time.perf_counter() - start < seconds:
            sock.sendall(head)
            expect(sock, b">")
            sock.sendall(data)
            expect(sock, b"SEND OK\r\n")
            sent += CHUNK
        end = counter.wait_for(base + sent, 30)
        return sent / (end - start) / 1e6, sent // CHUNK

    return lambda: measured(proc, window)


def stream_window(
    proc: Proc, sock: socket.socket, counter: Counter, seconds: float
) -> Callable[[], Sample]:
    """As fast as the receiver takes it, for ``seconds``; counted when all has arrived."""
    data = payload() * 8

    def window() -> tuple[float, int]:
        base, sent = counter.total(), 0
        start = time.perf_counter()
        while time.perf_counter() - start < seconds:
            sock.sendall(data)
            sent += len(data)
        end = counter.wait_for(base + sent, 60)
        return sent / (end - start) / 1e6, sent // CHUNK

    return lambda: measured(proc, window)


def volume_window(sock: socket.socket, counter: Counter, size: int) -> Callable[[], Sample]:
    """``size`` bytes at once; the rate at which they reach the sink."""
    data = (payload() * (size // CHUNK + 1))[:size]

    def window() -> tuple[float, int]:
        base = counter.total()
        start = time.perf_counter()
        sock.sendall(data)
        end = counter.wait_for(base + size, 3 * size / 11520 + 10)
        return size / (end - start), size // CHUNK

    return lambda: measured(None, window)


def module(sink_port: int, *extra: str) -> Proc:
    return simulator(
        "--at", "tcp:127.0.0.1:0", "--time-scale", "0",
        "--route", f"{REMOTE}:80=127.0.0.1:{sink_port}", *extra,
    )  # fmt: skip


def at_port(proc: Proc) -> int:
    return int(proc.wait_line(r"AT port: tcp://127\.0\.0\.1:(\d+)").group(1))


def main() -> None:
    seconds, repeats = seconds_arg(1.0), repeats_arg()
    with Proc(sys.executable, "-c", SINK) as sink:
        m = sink.wait_line(r"Sink: (\d+) (\d+)")
        sink_port, counter = int(m.group(1)), Counter(int(m.group(2)))
        with Proc(sys.executable, "-c", RELAY, str(sink_port)) as relay:
            relay_port = int(relay.wait_line(r"Relay: (\d+)").group(1))
            with module(sink_port) as sim:
                link, bare = module_link(at_port(sim), False), connect(relay_port)
                ours, theirs = interleave(
                    repeats,
                    cipsend_window(sim, link, counter, seconds),
                    stream_window(relay, bare, counter, seconds),
                )
                link.close()
                bare.close()
            report(f"AT+CIPSEND={CHUNK} over TCP", ours, "MB/s", "asyncio relay",
                   theirs, digits=2)  # fmt: skip
            with module(sink_port) as sim:
                link, bare = module_link(at_port(sim), True), connect(relay_port)
                ours, theirs = interleave(
                    repeats,
                    stream_window(sim, link, counter, seconds),
                    stream_window(relay, bare, counter, seconds),
                )
                link.close()
                bare.close()
            report("passthrough over TCP", ours, "MB/s", "asyncio relay", theirs,
                   digits=2)  # fmt: skip
        wire = 115200 / 10
        with module(sink_port, "--baud", "115200") as sim:
            link = module_link(at_port(sim), True)
            (ours,) = interleave(repeats, volume_window(link, counter, int(wire * seconds)))
            link.close()
        counter.close()
        report("passthrough paced at 115200 baud", ours, "B/s", "UART wire limit", wire,
               goal=Goal(">=", 0.9, ceiling=1.0))  # fmt: skip


if __name__ == "__main__":
    main()
