"""Transports: where a module's AT port lives (``--at SPEC``).

=========================  ====================================================
``stdio``                  standard input/output (a console on a terminal)
``pty[:LINK]``             a pseudo-terminal; ``LINK`` is a symlink to its slave
``tcp:[HOST:]PORT``        a TCP server for one client; port 0 picks a free one
``serial:DEVICE[:BAUD]``   a real serial port (default 115200 baud, always paced)
=========================  ====================================================
"""

from __future__ import annotations

from .base import Transport, TransportError
from .bridge import PortBridge, slice_schedule
from .memory import MemoryTransport
from .pty import PtyTransport
from .serialport import DEFAULT_BAUD, SerialTransport
from .stdio import StdioTransport
from .tcp import TcpTransport

__all__ = [
    "DEFAULT_BAUD",
    "MemoryTransport",
    "PortBridge",
    "PtyTransport",
    "SerialTransport",
    "SpecError",
    "StdioTransport",
    "TcpTransport",
    "Transport",
    "TransportError",
    "open_transport",
    "slice_schedule",
]


class SpecError(ValueError):
    """An ``--at`` value that names no transport."""


def _port(text: str, spec: str) -> int:
    if not text.isdigit() or not 0 <= int(text) <= 65535:
        raise SpecError(f"bad port {text!r} in {spec!r}")
    return int(text)


def _baud(text: str, spec: str) -> int:
    if not text.isdigit() or not 80 <= int(text) <= 5_000_000:
        raise SpecError(f"bad baud rate {text!r} in {spec!r} (80..5000000)")
    return int(text)


def open_transport(spec: str, *, host: str = "127.0.0.1", baud: int | None = None) -> Transport:
    """Make the transport an ``--at`` value names (not started yet).

    ``host`` is the address for ``tcp:PORT``. ``baud`` paces the port at that rate
    (``None``: unpaced); a serial port is always paced, at its own rate when the spec
    gives one, else at ``baud``, else at 115200.
    """
    kind, _, rest = spec.partition(":")
    paced = baud is not None
    if kind == "stdio" and not rest:
        return StdioTransport(paced=paced)
    if kind == "pty":
        return PtyTransport(rest or None, paced=paced)
    if kind == "tcp" and rest:
        if rest.startswith("["):  # tcp:[::1]:3333
            addr, sep, port = rest[1:].partition("]:")
            if not sep:
                raise SpecError(f"bad address in {spec!r}")
            return TcpTransport(addr, _port(port, spec), paced=paced)
        addr, _, port = rest.rpartition(":")
        return TcpTransport(addr or host, _port(port, spec), paced=paced)
    if kind == "serial" and rest:
        device, _, tail = rest.rpartition(":")
        if device and tail.isdigit():
            rate = _baud(tail, spec)
            if baud is not None and baud != rate:
                raise SpecError(f"--baud {baud} contradicts {spec!r}")
            return SerialTransport(device, rate)
        return SerialTransport(rest, baud or DEFAULT_BAUD)
    raise SpecError(
        f"unknown AT port {spec!r}: use stdio, pty[:LINK], tcp:[HOST:]PORT or serial:DEVICE[:BAUD]"
    )
