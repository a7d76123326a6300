"""The captive portal's DNS responder: answers, silences, limits, and the live server."""

from __future__ import annotations

import asyncio
import socket
import struct

import pytest
from dnslib import (  # type: ignore[import-untyped]
    CLASS,
    EDNS0,
    OPCODE,
    QTYPE,
    DNSHeader,
    DNSQuestion,
    DNSRecord,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from esp_at_sim.web.dns import MAX_REPLY, ReplyCache, answer

from .conftest import MakeWeb

SOFTAP = "192.168.4.1"


def query(*names_types: tuple[str, str], opcode: int = 0, qid: int = 0x1234) -> DNSRecord:
    header = DNSHeader(id=qid, opcode=opcode, rd=1)
    questions = [DNSQuestion(name, getattr(QTYPE, qtype)) for name, qtype in names_types]
    return DNSRecord(header, questions=questions)


def reply_to(request: DNSRecord) -> DNSRecord:
    raw = answer(request.pack(), SOFTAP)
    assert raw is not None
    return DNSRecord.parse(raw)


def test_a_question_gets_the_softap_address() -> None:
    reply = reply_to(query(("connectivitycheck.gstatic.com", "A")))
    assert reply.header.id == 0x1234
    assert (reply.header.qr, reply.header.aa, reply.header.rd, reply.header.rcode) == (1, 1, 1, 0)
    assert [str(q.qname) for q in reply.questions] == ["connectivitycheck.gstatic.com."]
    assert len(reply.rr) == 1
    rr = reply.rr[0]
    assert (str(rr.rname), rr.rtype, rr.rclass, rr.ttl, str(rr.rdata)) == (
        "connectivitycheck.gstatic.com.",
        QTYPE.A,
        CLASS.IN,
        300,
        SOFTAP,
    )


@pytest.mark.parametrize("qtype", ["AAAA", "MX", "TXT", "ANY", "PTR", "CNAME", "NS", "SOA", "SRV"])
def test_other_types_get_no_answer(qtype: str) -> None:
    """AAAA included: a module answers it with a zeroed record (README, deviations)."""
    reply = reply_to(query(("example.com", qtype)))
    assert reply.header.rcode == 0 and reply.header.qr == 1
    assert reply.rr == []
    assert QTYPE[reply.questions[0].qtype] == qtype


def test_multiple_questions() -> None:
    reply = reply_to(query(("a.example", "A"), ("b.example", "AAAA"), ("c.example", "A")))
    assert len(reply.questions) == 3
    assert [(str(rr.rname), str(rr.rdata)) for rr in reply.rr] == [
        ("a.example.", SOFTAP),
        ("c.example.", SOFTAP),
    ]


@pytest.mark.parametrize("flag", ["ad", "cd"])
def test_ad_and_cd_queries_are_answered(flag: str) -> None:
    """A module drops them (README, deviations); dig sets AD unless told +noad."""
    request = query(("example.com", "A"))
    setattr(request.header, flag, 1)
    reply = reply_to(request)
    assert [str(rr.rdata) for rr in reply.rr] == [SOFTAP]


def test_edns_queries_get_a_well_formed_answer_without_opt() -> None:
    """A module mangles its answer to a query with an OPT record (README, deviations)."""
    request = query(("example.com", "A"))
    request.add_ar(EDNS0(udp_len=1232))
    raw = answer(request.pack(), SOFTAP)
    assert raw is not None
    reply = DNSRecord.parse(raw)
    assert [str(rr.rdata) for rr in reply.rr] == [SOFTAP] and reply.ar == []
    assert struct.unpack("!4H", raw[4:12]) == (1, 1, 0, 0)


def test_other_classes_get_no_answer() -> None:
    request = DNSRecord(DNSHeader(id=1), questions=[DNSQuestion("version.bind", QTYPE.A, CLASS.CH)])
    assert reply_to(request).rr == []


@pytest.mark.parametrize(
    "opcode", [OPCODE.IQUERY, OPCODE.STATUS, OPCODE.NOTIFY, OPCODE.UPDATE, 3, 15]
)
def test_non_standard_opcodes_get_no_reply(opcode: int) -> None:
    assert answer(query(("example.com", "A"), opcode=opcode).pack(), SOFTAP) is None


def test_responses_are_never_answered() -> None:
    reply = reply_to(query(("example.com", "A")))
    assert answer(reply.pack(), SOFTAP) is None


def test_size_limit_200_bytes() -> None:
    name = ".".join(["x" * 40] * 4)  # 165 bytes of name
    fits = query((name, "A"))
    assert len(fits.pack()) <= 200 and answer(fits.pack(), SOFTAP) is not None
    too_big = fits.pack() + b"\x00" * (201 - len(fits.pack()))
    assert answer(too_big, SOFTAP) is None


@pytest.mark.parametrize(
    "packet",
    [
        b"",
        b"\x00",
        b"\x12\x34\x01\x00\x00\x01",  # header cut short
        b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00",  # one question announced, none there
        b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07exam",  # name cut short
        b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\xc0\x0c\x00\x01\x00\x01",  # pointer loop
        b"\x12\x34\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00",  # no question at all
        bytes(range(64)),
    ],
)
def test_malformed_packets_are_dropped(packet: bytes) -> None:
    assert answer(packet, SOFTAP) is None


def test_reply_never_exceeds_512_bytes() -> None:
    # 26 one-letter names: a 194-byte request whose 26 answers would make 584 bytes
    request = query(*[(chr(ord("a") + i), "A") for i in range(26)])
    assert len(request.pack()) == 194
    raw = answer(request.pack(), SOFTAP)
    assert raw is not None and len(raw) <= MAX_REPLY
    reply = DNSRecord.parse(raw)
    assert reply.header.tc == 1
    assert len(reply.rr) == (MAX_REPLY - 194) // 16  # what fits: 19 answers
    one = DNSRecord.parse(answer(query(("a", "A")).pack(), SOFTAP))
    assert one.header.tc == 0


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=260))
def test_garbage_never_raises_and_never_amplifies(packet: bytes) -> None:
    raw = answer(packet, SOFTAP)
    if raw is not None:
        assert len(packet) <= 200
        assert len(raw) <= MAX_REPLY


async def test_live_responder_uses_the_softap_address(make_web: MakeWeb) -> None:
    web = await make_web()
    port = web.server.dns_port
    assert port is not None
    loop = asyncio.get_running_loop()
    replies: asyncio.Queue[bytes] = asyncio.Queue()

    class Client(asyncio.DatagramProtocol):
        def datagram_received(self, data: bytes, addr: object) -> None:
            replies.put_nowait(data)

    transport, _ = await loop.create_datagram_endpoint(Client, remote_addr=("127.0.0.1", port))
    try:
        transport.sendto(query(("captive.apple.com", "A")).pack())
        reply = DNSRecord.parse(await asyncio.wait_for(replies.get(), 5))
        assert str(reply.rr[0].rdata) == "192.168.4.1"
        out = await web.at.cmd('AT+CIPAP="192.168.5.1"')
        assert out.endswith(b"OK\r\n")
        transport.sendto(query(("captive.apple.com", "A")).pack())
        reply = DNSRecord.parse(await asyncio.wait_for(replies.get(), 5))
        assert str(reply.rr[0].rdata) == "192.168.5.1"
        # silence for what gets no reply, then an answer again
        transport.sendto(query(("x.example", "A"), opcode=OPCODE.STATUS).pack())
        transport.sendto(b"\x00" * 300)
        transport.sendto(query(("y.example", "A"), qid=7).pack())
        reply = DNSRecord.parse(await asyncio.wait_for(replies.get(), 5))
        assert reply.header.id == 7 and replies.empty()
    finally:
        transport.close()


def test_header_flags_of_a_query_without_recursion() -> None:
    request = DNSRecord(DNSHeader(id=9, rd=0), questions=[DNSQuestion("a.example", QTYPE.A)])
    reply = reply_to(request)
    assert reply.header.rd == 0 and reply.header.ra == 0
    assert struct.unpack("!H", answer(request.pack(), SOFTAP)[:2])[0] == 9  # type: ignore[index]


def test_cached_replies_carry_each_requests_id() -> None:
    cache = ReplyCache()
    first = cache.answer(query(("a.example", "A"), qid=1).pack(), SOFTAP)
    again = cache.answer(query(("a.example", "A"), qid=0xBEEF).pack(), SOFTAP)
    assert len(cache) == 1
    assert first is not None and again is not None
    assert again == answer(query(("a.example", "A"), qid=0xBEEF).pack(), SOFTAP)
    assert DNSRecord.parse(again).header.id == 0xBEEF


def test_cache_keys_on_the_softap_address_and_remembers_silences() -> None:
    cache = ReplyCache()
    request = query(("b.example", "A")).pack()
    old = DNSRecord.parse(cache.answer(request, SOFTAP))
    new = DNSRecord.parse(cache.answer(request, "192.168.5.1"))
    assert (str(old.rr[0].rdata), str(new.rr[0].rdata)) == (SOFTAP, "192.168.5.1")
    status = query(("b.example", "A"), opcode=OPCODE.STATUS).pack()
    assert cache.answer(status, SOFTAP) is None
    assert cache.answer(status, SOFTAP) is None and len(cache) == 3
    assert cache.answer(b"\x00" * 300, SOFTAP) is None and len(cache) == 3  # never kept


def test_cache_forgets_the_oldest_when_full() -> None:
    cache = ReplyCache(size=2)
    names = ["one.example", "two.example", "three.example"]
    for name in names:
        cache.answer(query((name, "A")).pack(), SOFTAP)
    assert len(cache) == 2
    for name in names:  # evicted or not, every reply is right
        raw = query((name, "A"), qid=42).pack()
        assert cache.answer(raw, SOFTAP) == answer(raw, SOFTAP)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=220), st.integers(0, 0xFFFF), st.sampled_from([SOFTAP, "10.0.0.1"]))
def test_cache_answers_exactly_as_answer_does(packet: bytes, qid: int, address: str) -> None:
    cache = ReplyCache(size=4)
    second = struct.pack("!H", qid) + packet[2:] if len(packet) >= 2 else packet
    assert cache.answer(packet, address) == answer(packet, address)
    assert cache.answer(second, address) == answer(second, address)
    valid = query(("c.example", "A"), qid=qid).pack()
    for _ in range(2):
        assert cache.answer(valid, address) == answer(valid, address)


async def test_queries_waiting_together_are_answered_in_one_turn(make_web: MakeWeb) -> None:
    """asyncio hands the responder one datagram per readiness of its socket; the
    responder reads the other waiting queries itself, so ten queries sent at once are
    answered within two turns of the loop (one at a time, it would take ten)."""
    web = await make_web()
    port = web.server.dns_port
    assert port is not None
    client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    client.setblocking(False)
    try:
        for qid in range(10):
            client.sendto(query(("captive.apple.com", "A"), qid=qid).pack(), ("127.0.0.1", port))
        for _ in range(2):  # the turn that finds the socket readable, then ours
            await asyncio.sleep(0)
        ids = []
        for _ in range(10):
            try:
                ids.append(DNSRecord.parse(client.recv(2048)).header.id)
            except BlockingIOError:
                break
        assert ids == list(range(10))
    finally:
        client.close()
