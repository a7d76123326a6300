"""N modules connect to one TCP server on this machine at once.

    python examples/fleet_tcp_clients.py --count 100

It serves TCP on a free loopback port, starts ``esp-at-sim fleet`` with a route from
203.0.113.10:7000 (an address of the modules' world) to that port, and drives every
module's AT port at the same time: join the home router, ``AT+CIPSTART`` to
203.0.113.10:7000, send ``hello from module <i>``. The server answers nobody until all N
are connected at once; then it greets each, and each module reports the greeting as
``+IPD``. Exit status 0 when every module got its answer.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import time

ANNOUNCED = re.compile(rb"Module (\d+): AT port: tcp://(\S+):(\d+)")
REMOTE = ("203.0.113.10", 7000)
WAIT = 60.0


class Server:
    """Holds every connection until ``count`` are open together, then greets each."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.hellos: dict[bytes, asyncio.StreamWriter] = {}
        self.all_in = asyncio.Event()
        self.most_at_once = 0

    async def client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        hello = await reader.readuntil(b"\n")
        self.hellos[hello] = writer
        self.most_at_once = max(self.most_at_once, len(self.hellos))
        if len(self.hellos) == self.count:
            self.all_in.set()
        await self.all_in.wait()
        writer.write(b"welcome, " + hello.split()[-1] + b"\n")
        await writer.drain()
        await reader.read()  # until the module closes
        writer.close()


async def read_until(reader: asyncio.StreamReader, until: bytes, answer: bytes = b"") -> bytes:
    """What the module says up to and including ``until`` (ERROR raises)."""
    while until not in answer:
        if b"\r\nERROR\r\n" in answer:
            raise RuntimeError(f"the module failed: {answer!r}")
        chunk = await reader.read(4096)
        if not chunk:
            raise RuntimeError(f"the AT port closed: {answer!r}")
        answer += chunk
    return answer


async def command(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, line: bytes, until: bytes = b"OK"
) -> bytes:
    """Send an AT line; the answer up to its final ``until`` line."""
    writer.write(line + b"\r\n")
    return await read_until(reader, b"\r\n" + until + b"\r\n" if until == b"OK" else until)


async def drive(index: int, host: str, port: int) -> bytes:
    """One host driver: join, connect, say hello, read the greeting."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        await command(reader, writer, b"AT+CWMODE=1")
        await command(reader, writer, b'AT+CWJAP="HomeNet","sunflower42"')
        start = b'AT+CIPSTART="TCP","%s",%d' % (REMOTE[0].encode(), REMOTE[1])
        await command(reader, writer, start)
        hello = b"hello from module %d\n" % index
        await command(reader, writer, b"AT+CIPSEND=%d" % len(hello), until=b">")
        writer.write(hello)
        answer = await read_until(reader, b"+IPD,")
        payload = await read_until(reader, b"\n", answer.partition(b"+IPD,")[2])
        greeting = payload.partition(b":")[2].partition(b"\n")[0]
        await command(reader, writer, b"AT+CIPCLOSE")
        return greeting
    finally:
        writer.close()
        await writer.wait_closed()


async def run_clients(count: int) -> tuple[int, int, float]:
    """Start the server and the fleet, drive all modules; (answered, most connections
    open at once, seconds from the first AT+CWMODE to the last greeting)."""
    server = Server(count)
    listener = await asyncio.start_server(server.client, "127.0.0.1", 0)
    local_port = listener.sockets[0].getsockname()[1]
    route = f"{REMOTE[0]}:{REMOTE[1]}=127.0.0.1:{local_port}"
    fleet = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "esp_at_sim", "fleet", "--count", str(count),
        "--time-scale", "0", "--route", route, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert fleet.stdout is not None
    try:
        ports: dict[int, tuple[str, int]] = {}
        while len(ports) < count:
            line = await asyncio.wait_for(fleet.stdout.readline(), WAIT)
            if not line:
                raise RuntimeError(f"the fleet ended with {len(ports)} of {count} modules up")
            if found := ANNOUNCED.match(line):
                ports[int(found[1])] = (found[2].decode(), int(found[3]))
        began = time.perf_counter()
        jobs = (drive(i, *ports[i]) for i in range(count))
        greetings = await asyncio.wait_for(asyncio.gather(*jobs), WAIT)
        took = time.perf_counter() - began
    finally:
        fleet.terminate()
        await fleet.wait()
        listener.close()
        await listener.wait_closed()
    answered = sum(g == b"welcome, %d" % i for i, g in enumerate(greetings))
    return answered, server.most_at_once, took


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=100, help="modules (100)")
    args = parser.parse_args()
    answered, together, took = asyncio.run(run_clients(args.count))
    print(f"{answered} of {args.count} modules got their answer; "
          f"{together} connections were open at once; {took:.2f} s")  # fmt: skip
    return 0 if answered == args.count == together else 1


if __name__ == "__main__":
    sys.exit(main())
