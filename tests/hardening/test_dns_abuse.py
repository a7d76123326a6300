"""Captive DNS abuse: truncated and oversized packets, bad label pointers and pointer
loops, non-query opcodes, many questions. Each is dropped, or answered without
amplification: a reply is never longer than the request plus 16 bytes per A answer
(what echoing the question and appending one compressed A record per A question
costs), and it answers the request's own ID and questions."""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import AsyncIterator

import pytest
from dnslib import QTYPE, DNSRecord  # type: ignore[import-untyped]
from hypothesis import given, settings

from esp_at_sim.web.dns import MAX_REPLY, answer

from .conftest import WebModule, no_tasks_left, start_web_module
from .dnspackets import (
    ANSWER_SIZE,
    SIMPLE,
    a_questions,
    abusive_packets,
    answered_packets,
    dns_requests,
)

SOFTAP = "192.168.4.1"


def check_reply(request: bytes, reply: bytes) -> DNSRecord:
    """The reply is a well-formed answer to ``request`` within the amplification bound."""
    parsed = DNSRecord.parse(reply)
    answers = len(parsed.rr)
    assert answers <= a_questions(request)
    assert len(reply) <= len(request) + ANSWER_SIZE * answers, (len(request), len(reply))
    assert len(reply) <= MAX_REPLY
    assert reply[:2] == request[:2] and parsed.header.qr == 1
    assert parsed.questions == DNSRecord.parse(request).questions
    assert all(rr.rtype == QTYPE.A and str(rr.rdata) == SOFTAP for rr in parsed.rr)
    return parsed


@pytest.mark.parametrize(("what", "packet"), list(abusive_packets().items()))
def test_abusive_requests_get_no_reply(what: str, packet: bytes) -> None:
    assert answer(packet, SOFTAP) is None, what


@pytest.mark.parametrize(("what", "packet"), list(answered_packets().items()))
def test_odd_but_valid_requests_are_answered_within_bounds(what: str, packet: bytes) -> None:
    reply = answer(packet, SOFTAP)
    assert reply is not None, what
    check_reply(packet, reply)


@settings(max_examples=250, deadline=None)
@given(dns_requests())
def test_built_requests_never_amplify(packet: bytes) -> None:
    reply = answer(packet, SOFTAP)
    if reply is not None:
        assert len(packet) <= 200
        check_reply(packet, reply)


# ------------------------------------------------------------------ live, over UDP
@pytest.fixture
async def web() -> AsyncIterator[WebModule]:
    made = await start_web_module()
    try:
        yield made
    finally:
        await made.module.close()
        await no_tasks_left()


async def test_live_responder_under_abuse(web: WebModule) -> None:
    """Every abusive packet, then a sentinel query: the sentinel's reply is the first
    thing that comes back (UDP on loopback keeps the order), so nothing else did."""
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setblocking(False)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    sock.connect(("127.0.0.1", web.dns_port))
    try:
        sentinel_id = 0
        for round_ in range(3):  # the responder survives each round and keeps answering
            for what, packet in abusive_packets().items():
                if len(packet) > 65_000:
                    continue
                sentinel_id += 1
                sentinel = struct.pack("!H", sentinel_id) + SIMPLE[2:]
                await loop.sock_sendall(sock, packet)
                await loop.sock_sendall(sock, sentinel)
                got = await asyncio.wait_for(loop.sock_recv(sock, 4096), 5)
                assert got[:2] == sentinel[:2], f"round {round_}: a reply to {what!r}"
                check_reply(sentinel, got)
            for packet in answered_packets().values():
                await loop.sock_sendall(sock, packet)
                got = await asyncio.wait_for(loop.sock_recv(sock, 4096), 5)
                check_reply(packet, got)
        assert await web.at.cmd("AT") == b"AT\r\n\r\nOK\r\n"
    finally:
        sock.close()
