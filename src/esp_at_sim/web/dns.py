"""The captive portal's DNS responder: every name is the module's SoftAP.

A phone that joins the SoftAP asks the module for names; answering every ``A`` question
with the SoftAP address sends every web request to the module, which is how phones
notice the portal. The rules, as the firmware's responder has them:

- every standard query (opcode 0) is answered; each ``A`` question of class ``IN`` gets
  one answer, the SoftAP address with a TTL of 300 s; other types and classes get none
  (the reply still says NOERROR, so the client learns there is no such record);
- other opcodes, responses (QR set), packets over 200 bytes and anything that does not
  parse are dropped without a reply.

A reply is never longer than the 512 bytes a plain DNS UDP message may have: answers
that do not fit are left out and the truncation flag is set. dnslib checks the request;
the reply repeats its question section and appends the answers, as the firmware's
responder builds it, so a reply costs at most 16 bytes more than its request per answer.

A reply depends only on the request's bytes after its ID and on the SoftAP address, so
:class:`ReplyCache` keeps the last few hundred replies keyed on exactly those (the ID is
put back in front of a cached reply); parsing with dnslib is for what it does not hold.

asyncio hands a datagram endpoint one datagram per readiness of its socket, so each query
would cost a turn of the event loop; the responder reads up to :data:`QUERIES_PER_TURN`
queries that are already waiting each time it is called (its own socket, non-blocking),
and leaves the rest to the next turn.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import struct
from collections.abc import Callable
from typing import cast

from dnslib import CLASS, QTYPE, DNSRecord  # type: ignore[import-untyped]

log = logging.getLogger(__name__)

MAX_REQUEST = 200
MAX_REPLY = 512
TTL = 300
OPCODE_QUERY = 0
HEADER = 12  # bytes of the DNS header; the question section follows
QUERIES_PER_TURN = 32  # queries answered per readiness of the socket, at most
RECEIVE_SIZE = 2048  # bytes read per datagram (longer requests are dropped anyway)
_QR, _AA, _TC, _RD = 0x8000, 0x0400, 0x0200, 0x0100  # header flag bits
CACHE_SIZE = 256  # replies (or silences) remembered by ReplyCache


def answer(packet: bytes, address: str) -> bytes | None:
    """The reply to one request datagram, or ``None`` when it gets none.

    As the firmware's responder does, the reply repeats the request's question section
    byte for byte and adds, for each A question, one record that names it with a
    compression pointer (16 bytes): a reply is never longer than its request plus 16
    bytes per answer, whatever tricks the request plays with its names."""
    if len(packet) > MAX_REQUEST:
        return None
    try:
        request = DNSRecord.parse(packet)
        end, starts, compressed = _question_section(packet, len(request.questions))
    except Exception:  # dnslib raises many kinds of errors on garbage
        return None
    header = request.header
    if header.qr or header.opcode != OPCODE_QUERY or not request.questions:
        return None
    record = struct.pack("!HHIH", QTYPE.A, CLASS.IN, TTL, 4) + ipaddress.IPv4Address(address).packed
    answers = [
        struct.pack("!H", 0xC000 | start) + record
        for question, start in zip(request.questions, starts, strict=True)
        if question.qtype == QTYPE.A and question.qclass == CLASS.IN
    ]
    room = (MAX_REPLY - end) // len(answers[0]) if answers else 0
    flags = _QR | _AA | (_TC if len(answers) > room else 0) | (_RD if header.rd else 0)
    answers = answers[:room]
    counts = struct.pack("!HHHHH", flags, len(request.questions), len(answers), 0, 0)
    reply = packet[:2] + counts + packet[HEADER:end] + b"".join(answers)
    if compressed and not _same_questions(reply, request):
        return None  # a name points outside the questions: it would not survive the copy
    return reply


def _question_section(packet: bytes, count: int) -> tuple[int, list[int], bool]:
    """Where the question section of a parsed request ends, where each question's name
    starts, and whether any name uses a compression pointer. Labels of the reserved
    kinds (top bits 01 or 10) are refused with ``ValueError``."""
    offset, starts, compressed = HEADER, [], False
    for _ in range(count):
        starts.append(offset)
        while True:
            length = packet[offset]
            kind = length & 0xC0
            if kind == 0xC0:
                offset += 2
                compressed = True
                break
            if kind:
                raise ValueError(f"reserved label type at {offset}")
            offset += 1 + length
            if length == 0:
                break
        offset += 4
    if offset > len(packet):
        raise ValueError("the question section is cut short")
    return offset, starts, compressed


def _same_questions(reply: bytes, request: DNSRecord) -> bool:
    try:
        return bool(DNSRecord.parse(reply).questions == request.questions)
    except Exception:
        return False


class ReplyCache:
    """:func:`answer` with a memory: the outcome for the last ``size`` distinct requests
    (keyed on their bytes after the ID, and the SoftAP address), a silence included.
    The oldest entry goes first when it is full. Requests shorter than a header or over
    :data:`MAX_REQUEST` bytes are never kept (they are answered at once anyway)."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self._size = size
        self._tails: dict[tuple[bytes, str], bytes | None] = {}

    def __len__(self) -> int:
        return len(self._tails)

    def answer(self, packet: bytes, address: str) -> bytes | None:
        if not HEADER <= len(packet) <= MAX_REQUEST:
            return answer(packet, address)
        key = (bytes(packet[2:]), address)
        try:
            tail = self._tails[key]
        except KeyError:
            reply = answer(packet, address)
            if len(self._tails) >= self._size:
                del self._tails[next(iter(self._tails))]
            self._tails[key] = None if reply is None else reply[2:]
            return reply
        return None if tail is None else packet[:2] + tail


class DnsResponder(asyncio.DatagramProtocol):
    """A UDP endpoint answering with :func:`answer`; ``address`` gives the SoftAP
    address at the time of each query (it changes with ``AT+CIPAP``). ``sock``, the
    endpoint's socket, is read for queries already waiting (see the module's text)."""

    def __init__(
        self,
        address: Callable[[], str],
        on_query: Callable[[int, bool], None],
        sock: socket.socket | None = None,
    ) -> None:
        self._address = address
        self._on_query = on_query
        self._cache = ReplyCache()
        self._sock = sock
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        self._reply(data, addr)
        if self._sock is None:
            return
        for _ in range(QUERIES_PER_TURN - 1):
            try:
                data, addr = self._sock.recvfrom(RECEIVE_SIZE)
            except (BlockingIOError, InterruptedError):
                return  # nothing more waits
            except OSError as exc:
                self.error_received(exc)
                return
            self._reply(data, addr)

    def _reply(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        reply = self._cache.answer(data, self._address())
        self._on_query(len(data), reply is not None)
        if reply is not None and self.transport is not None and not self.transport.is_closing():
            self.transport.sendto(reply, addr)

    def error_received(self, exc: Exception) -> None:
        log.debug("captive DNS: %s", exc)


async def start_dns(
    host: str, port: int, address: Callable[[], str], on_query: Callable[[int, bool], None]
) -> tuple[asyncio.DatagramTransport, int]:
    """Listen on ``host``:``port`` (UDP); returns the transport and the bound port."""
    loop = asyncio.get_running_loop()
    family, _, _, _, local = socket.getaddrinfo(
        host, port, type=socket.SOCK_DGRAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        sock.bind(local)
        sock.setblocking(False)
        transport, _ = await loop.create_datagram_endpoint(
            lambda: DnsResponder(address, on_query, sock), sock=sock
        )
    except BaseException:
        sock.close()
        raise
    bound = transport.get_extra_info("sockname")
    return transport, int(bound[1])
