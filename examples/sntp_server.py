"""A minimal SNTP server on loopback, for the README's SNTP walkthrough.

    python3 examples/sntp_server.py --port 12300 [--time UNIX_SECONDS]

It answers every request with the time (this machine's clock, or the fixed UNIX time
given by ``--time``) and prints ``SNTP: udp://127.0.0.1:PORT`` once it listens. Route a
name of the module's network to it (``[net] hosts`` and ``--route ADDR:123=127.0.0.1:PORT``)
and ``AT+CIPSNTPCFG`` sets the module's clock from it. Standard library only.
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import struct
import time

NTP_EPOCH_OFFSET = 2_208_988_800  # seconds from 1900-01-01 (NTP) to 1970-01-01 (UNIX)


def ntp_timestamp(unix_time: float) -> tuple[int, int]:
    """Seconds and 2^-32 fractions since 1900, as an NTP timestamp holds them."""
    seconds = unix_time + NTP_EPOCH_OFFSET
    return int(seconds) & 0xFFFFFFFF, int((seconds % 1) * 2**32) & 0xFFFFFFFF


def reply(request: bytes, unix_time: float) -> bytes | None:
    """The server's answer to one request (None for a datagram that is not one)."""
    if len(request) < 48 or request[0] & 0x07 != 3:  # mode 3: a client's request
        return None
    version = (request[0] >> 3) & 0x07
    now = ntp_timestamp(unix_time)
    origin = struct.unpack("!II", request[40:48])  # the client's transmit time
    return struct.pack(
        "!BBbbIII8I",
        (version << 3) | 4,  # no leap warning, the client's version, mode 4: server
        2,  # stratum 2: synchronised (a module ignores stratum 0)
        6,  # poll interval, 2^6 s
        -20,  # precision, about a microsecond
        0,  # root delay
        0,  # root dispersion
        0x7F000001,  # reference ID
        *now,  # reference time
        *origin,
        *now,  # receive time
        *now,  # transmit time
    )


def serve(port: int, fixed_time: float | None) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", port))
        print(f"SNTP: udp://127.0.0.1:{sock.getsockname()[1]}", flush=True)
        while True:
            request, client = sock.recvfrom(512)
            answer = reply(request, time.time() if fixed_time is None else fixed_time)
            if answer is not None:
                sock.sendto(answer, client)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=12300, help="UDP port (0: any free one)")
    parser.add_argument("--time", type=float, help="answer this UNIX time, not the clock's")
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        serve(args.port, args.time)


if __name__ == "__main__":
    main()
