"""Captive DNS queries per second: one UDP client keeps a bounded window of A queries in
flight (a new one for each answer) against the module's captive DNS, and against
dnsmasq answering the same wildcard (``--address=/#/192.168.4.1``) on a loopback port,
in alternating windows. The client's own CPU use is reported: a client near 100 % of a
core bounds the figure it measures (usually the baseline's).
Usage: python bench/bench_dns.py [seconds-per-window]   (default 1)"""

from __future__ import annotations

import os
import select
import socket
import struct
import time

from _common import (
    Goal,
    Proc,
    Sample,
    free_port,
    interleave,
    measured,
    median,
    repeats_arg,
    report,
    require,
    seconds_arg,
    web_module,
)

WINDOW = 32  # queries in flight
LOST_AFTER = 1.0  # seconds after which a query counts as lost (its slot is reused)
QUESTION = b"\x0cconnectivity\x05check\x07gstatic\x03com\x00\x00\x01\x00\x01"
ADDRESS = socket.inet_aton("192.168.4.1")


def query(qid: int) -> bytes:
    return struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + QUESTION


def blast(port: int, seconds: float) -> tuple[float, int]:
    """Answers per second and answers, each checked for its ID and the address."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    sock.connect(("127.0.0.1", port))
    sock.setblocking(False)
    sent: dict[int, float] = {}
    next_id, answered, lost = 1, 0, 0
    start = time.perf_counter()
    end = start + seconds
    try:
        while (now := time.perf_counter()) < end:
            while len(sent) < WINDOW:
                sent[next_id] = now
                sock.send(query(next_id))
                next_id = next_id % 0xFFFF + 1
            ready, _, _ = select.select([sock], [], [], 0.1)
            if not ready:
                for qid in [q for q, t in sent.items() if now - t > LOST_AFTER]:
                    del sent[qid]
                    lost += 1
                continue
            while True:
                try:
                    reply = sock.recv(2048)
                except BlockingIOError:
                    break
                qid = struct.unpack("!H", reply[:2])[0]
                if sent.pop(qid, None) is not None and reply.endswith(ADDRESS):
                    answered += 1
    finally:
        sock.close()
    if lost > answered // 100:
        raise RuntimeError(f"{lost} queries lost for {answered} answered")
    return answered / (time.perf_counter() - start), answered


def dnsmasq() -> tuple[Proc, int]:
    port = free_port(socket.SOCK_DGRAM)
    args = [
        require("dnsmasq"),
        "--keep-in-foreground",
        "--no-daemon",
        "--conf-file=/dev/null",
        "--no-resolv",
        "--no-hosts",
        f"--port={port}",
        "--listen-address=127.0.0.1",
        "--bind-interfaces",
        "--address=/#/192.168.4.1",
        "--pid-file=",
    ]
    if os.geteuid() == 0:
        args.append("--user=root")
    proc = Proc(*args)
    deadline = time.monotonic() + 10
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.settimeout(0.2)
        while time.monotonic() < deadline:
            probe.sendto(query(1), ("127.0.0.1", port))
            try:
                if probe.recv(2048).endswith(ADDRESS):
                    return proc, port
            except OSError:
                if proc.proc.poll() is not None:
                    break
    proc.stop()
    raise RuntimeError(f"dnsmasq does not answer on port {port}: {proc.stderr()}")


class Client:
    """Windows of :func:`blast` against one server, with the client's CPU share."""

    def __init__(self, proc: Proc, port: int, seconds: float) -> None:
        self.proc, self.port, self.seconds = proc, port, seconds
        self.busy: list[float] = []  # the client's CPU seconds per wall second

    def window(self) -> Sample:
        wall, cpu = time.perf_counter(), time.process_time()

        def run() -> tuple[float, int]:
            return blast(self.port, self.seconds)

        sample = measured(self.proc, run)
        self.busy.append((time.process_time() - cpu) / (time.perf_counter() - wall))
        return sample


def main() -> None:
    seconds, repeats = seconds_arg(1.0), repeats_arg()
    require("dnsmasq")
    proc, port = dnsmasq()
    with web_module() as module, proc:
        ours = Client(module.proc, module.dns_port, seconds)
        theirs = Client(proc, port, seconds)
        for client in (ours, theirs):
            blast(client.port, 0.5)  # warm-up
        sim, base = interleave(repeats, ours.window, theirs.window)
    load = median(ours.busy), median(theirs.busy)
    note = f"client CPU {load[0]:.0%} / {load[1]:.0%}" + (
        ", client-bound" if max(load) > 0.9 else ""
    )
    report(f"Captive DNS, {WINDOW} queries in flight", sim, "queries/s", "dnsmasq", base,
           goal=Goal(">=", 0.5), note=note)  # fmt: skip


if __name__ == "__main__":
    main()
