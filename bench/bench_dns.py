"""Captive DNS queries per second: one UDP client keeps a bounded window of A queries in
flight (a new one for each answer) against the module's captive DNS, and against
dnsmasq answering the same wildcard (``--address=/#/192.168.4.1``) on a loopback port.
Usage: python bench/bench_dns.py [seconds]   (default 5)"""

from __future__ import annotations

import os
import select
import socket
import struct
import time

from _common import Proc, free_port, report, require, seconds_arg, web_module

WINDOW = 32  # queries in flight
LOST_AFTER = 1.0  # seconds after which a query counts as lost (its slot is reused)
QUESTION = b"\x0cconnectivity\x05check\x07gstatic\x03com\x00\x00\x01\x00\x01"
ADDRESS = socket.inet_aton("192.168.4.1")


def query(qid: int) -> bytes:
    return struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + QUESTION


def blast(port: int, seconds: float) -> float:
    """Answers per second, each checked for its ID and the address."""
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
    return answered / (time.perf_counter() - start)


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


def main() -> None:
    seconds = seconds_arg(5.0)
    require("dnsmasq")
    with web_module() as module:
        blast(module.dns_port, 0.5)  # warm-up
        sim = blast(module.dns_port, seconds)
    proc, port = dnsmasq()
    with proc:
        blast(port, 0.5)
        base = blast(port, seconds)
    report(f"Captive DNS, {WINDOW} queries in flight", sim, "queries/s", "dnsmasq", base)


if __name__ == "__main__":
    main()
