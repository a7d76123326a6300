"""Hand-built DNS request datagrams for the captive DNS abuse tests: names with labels,
compression pointers (backwards, forwards, into labels, into the header, in loops),
many questions, every opcode, and cut or padded packets."""

from __future__ import annotations

import struct

from hypothesis import strategies as st

QTYPE_A, QTYPE_AAAA, CLASS_IN = 1, 28, 1
HEADER = 12
ANSWER_SIZE = 16  # a name pointer, type, class, TTL, length, four address bytes


def header(
    qid: int = 0x4242, *, qr: int = 0, opcode: int = 0, rd: int = 1, counts: tuple[int, ...] = ()
) -> bytes:
    qd, an, ns, ar = (*counts, 0, 0, 0, 0)[:4]
    flags = (qr << 15) | (opcode << 11) | (rd << 8)
    return struct.pack("!HHHHHH", qid, flags, qd, an, ns, ar)


def name(*labels: bytes, pointer: int | None = None) -> bytes:
    out = b"".join(bytes([len(label)]) + label for label in labels)
    return out + (struct.pack("!H", 0xC000 | pointer) if pointer is not None else b"\x00")


def question(encoded_name: bytes, qtype: int = QTYPE_A, qclass: int = CLASS_IN) -> bytes:
    return encoded_name + struct.pack("!HH", qtype, qclass)


def query(*names: bytes, qid: int = 0x4242, opcode: int = 0) -> bytes:
    body = b"".join(question(n) for n in names)
    return header(qid, opcode=opcode, counts=(len(names),)) + body


def a_questions(packet: bytes) -> int:
    """The number of questions a request announces (an upper bound on its A answers)."""
    return struct.unpack("!H", packet[4:6])[0] if len(packet) >= HEADER else 0


# ------------------------------------------------------------------- the corpus
SIMPLE = query(name(b"captive", b"apple", b"com"))


def abusive_packets() -> dict[str, bytes]:
    """Named requests that must get no reply at all."""
    first = HEADER  # where the first question's name starts
    packets = {
        "empty": b"",
        "one byte": b"\x00",
        "header only, no question": header(counts=(0,)),
        "header cut": SIMPLE[:7],
        "name cut": SIMPLE[: HEADER + 5],
        "type cut": SIMPLE[:-3],
        "question announced twice, present once": header(counts=(2,)) + SIMPLE[HEADER:],
        "65535 questions announced": header(counts=(0xFFFF,)) + SIMPLE[HEADER:],
        "pointer to itself": header(counts=(1,)) + question(name(pointer=first)),
        "pointer past the end": header(counts=(1,)) + question(name(pointer=0x3FFF)),
        "pointer loop of two names": header(counts=(2,))
        + question(name(b"a", pointer=first + 8))
        + question(name(b"b", pointer=first)),
        "label longer than 63": header(counts=(1,)) + question(b"\x50" + b"x" * 80 + b"\x00"),
        "reserved label type 0x40": header(counts=(1,)) + question(b"\x41x\x00"),
        "name of 300 bytes by pointers": _long_name_by_pointers(),
        "a response (QR set)": header(qr=1, counts=(1,)) + SIMPLE[HEADER:],
        "201 bytes": SIMPLE + b"\x00" * (201 - len(SIMPLE)),
        "4 KiB": query(*[name(b"n%03d" % i, b"example") for i in range(200)])[:4096],
        "60 KiB of zeros": bytes(60_000),
    }
    for opcode in range(1, 16):
        packets[f"opcode {opcode}"] = query(name(b"x", b"example"), opcode=opcode)
    return packets


def _long_name_by_pointers() -> bytes:
    """Four questions whose last name is 4 x 63-byte labels joined by pointers (> 255)."""
    label = b"L" * 63
    first = HEADER
    q1 = question(name(label))
    q2 = question(name(label, pointer=first))
    q3 = question(name(label, pointer=first + len(q1)))
    q4 = question(name(label, pointer=first + len(q1) + len(q2)))
    return header(counts=(4,)) + q1 + q2 + q3 + q4


def answered_packets() -> dict[str, bytes]:
    """Named requests that must be answered (within the amplification bound)."""
    many = [name(b"q%02d" % i) for i in range(20)]  # 20 one-label names: a 192-byte request
    shared = name(b"shared", b"example")
    hidden = b"\x0a\x02hi\x00pad\x00\x00\x00\x00"  # one 10-byte label hiding the name "hi"
    return {
        "one question": SIMPLE,
        "many questions": query(*many),
        "many questions, one compressed name": header(counts=(20,))
        + question(shared)
        + b"".join(question(name(pointer=HEADER)) for _ in range(19)),
        "pointer into the middle of a label": header(counts=(9,))
        + question(hidden)
        + b"".join(question(name(pointer=HEADER + 1)) for _ in range(8)),
        "mixed types": header(counts=(3,))
        + question(name(b"a"), QTYPE_AAAA)
        + question(name(b"b"))
        + question(name(b"c"), QTYPE_A, 3),
        "trailing bytes after the question": SIMPLE + b"\xff" * 20,
    }


# --------------------------------------------------------------- hypothesis
@st.composite
def dns_requests(draw: st.DrawFn) -> bytes:
    """Requests built from parts: names with labels and pointers to anywhere, several
    questions, random flags and counts, cut or padded at random."""
    count = draw(st.integers(1, 30))
    body = b""
    for _ in range(count):
        labels = draw(st.lists(st.binary(min_size=0, max_size=20), max_size=4))
        pointer = draw(st.none() | st.integers(0, HEADER + len(body) + 40))
        encoded = name(*[label[:63] for label in labels if label], pointer=pointer)
        qtype = draw(st.sampled_from([QTYPE_A, QTYPE_A, QTYPE_AAAA, 255, 0]))
        qclass = draw(st.sampled_from([CLASS_IN, CLASS_IN, 3, 255]))
        body += question(encoded, qtype, qclass)
    announced = draw(st.integers(0, count + 2))
    opcode = draw(st.sampled_from([0, 0, 0, 1, 2, 4, 5, 15]))
    packet = header(draw(st.integers(0, 0xFFFF)), opcode=opcode, counts=(announced,)) + body
    cut = draw(st.none() | st.integers(0, len(packet)))
    pad = draw(st.binary(max_size=8))
    return (packet if cut is None else packet[:cut]) + pad
