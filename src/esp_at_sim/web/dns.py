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
that do not fit are left out and the truncation flag is set. The packet format is
dnslib's; the policy is ours.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import cast

from dnslib import CLASS, QTYPE, RR, A, DNSHeader, DNSRecord  # type: ignore[import-untyped]

log = logging.getLogger(__name__)

MAX_REQUEST = 200
MAX_REPLY = 512
TTL = 300
OPCODE_QUERY = 0


def answer(packet: bytes, address: str) -> bytes | None:
    """The reply to one request datagram, or ``None`` when it gets none."""
    if len(packet) > MAX_REQUEST:
        return None
    try:
        request = DNSRecord.parse(packet)
    except Exception:  # dnslib raises many kinds of errors on garbage
        return None
    header = request.header
    if header.qr or header.opcode != OPCODE_QUERY or not request.questions:
        return None
    reply = DNSRecord(
        DNSHeader(id=header.id, qr=1, aa=1, rd=header.rd, ra=0), questions=list(request.questions)
    )
    for question in request.questions:
        if question.qtype != QTYPE.A or question.qclass != CLASS.IN:
            continue
        reply.add_answer(RR(question.qname, QTYPE.A, CLASS.IN, TTL, A(address)))
        if len(reply.pack()) > MAX_REPLY:
            reply.rr.pop()
            reply.header.tc = 1
            break
    try:
        return bytes(reply.pack())
    except Exception:
        return None


class DnsResponder(asyncio.DatagramProtocol):
    """A UDP endpoint answering with :func:`answer`; ``address`` gives the SoftAP
    address at the time of each query (it changes with ``AT+CIPAP``)."""

    def __init__(self, address: Callable[[], str], on_query: Callable[[int, bool], None]) -> None:
        self._address = address
        self._on_query = on_query
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        reply = answer(data, self._address())
        self._on_query(len(data), reply is not None)
        if reply is not None and self.transport is not None:
            self.transport.sendto(reply, addr)

    def error_received(self, exc: Exception) -> None:
        log.debug("captive DNS: %s", exc)


async def start_dns(
    host: str, port: int, address: Callable[[], str], on_query: Callable[[int, bool], None]
) -> tuple[asyncio.DatagramTransport, int]:
    """Listen on ``host``:``port`` (UDP); returns the transport and the bound port."""
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(
        lambda: DnsResponder(address, on_query), local_addr=(host, port)
    )
    bound = transport.get_extra_info("sockname")
    return transport, int(bound[1])
