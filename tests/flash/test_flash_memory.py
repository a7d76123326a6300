"""The in-memory flash behaves as NOR flash over its shared base image, whatever the
sizes and alignment of the writes (whole-sector runs take a faster path than pieces)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from esp_at_sim.flash.flashio import SECTOR, MemoryFlashDevice

SECTORS = 12
# a base with erased, written and half-erased sectors
BASE = b"".join(
    (b"\xff" * SECTOR, bytes(range(256)) * (SECTOR // 256), b"\x00" * 2048 + b"\xff" * 2048)[i % 3]
    for i in range(SECTORS)
)
SIZE = len(BASE)

OPS = st.lists(
    st.one_of(
        st.tuples(
            st.sampled_from(["write_raw", "program", "program_erased"]),
            st.integers(0, SIZE - 1),
            st.integers(1, 3 * SECTOR + 100),
            st.integers(0, 255),
        ),
        st.tuples(st.just("erase"), st.integers(0, SECTORS - 1), st.integers(1, 4), st.just(0)),
    ),
    max_size=12,
)


def pattern(at: int, length: int, seed: int) -> bytes:
    """New bytes, or (odd seeds) the base's own bytes with one changed: the last byte of
    the last sector the write ends in or fills (sectors that equal the base again, or
    all but at their very end)."""
    if not seed % 2:
        return bytes((seed + 7 * i) & 0xFF for i in range(length))
    data = bytearray(BASE[at : at + length])
    ends = [i for i in range(length) if (at + i) % SECTOR == SECTOR - 1]
    data[ends[-1] if ends else -1] ^= seed
    return bytes(data)


@settings(max_examples=150, deadline=None)
@given(OPS, st.booleans())
def test_memory_flash_matches_a_plain_model(
    ops: list[tuple[str, int, int, int]], aligned: bool
) -> None:
    device = MemoryFlashDevice(BASE)
    model = bytearray(BASE)
    for op, at, length, seed in ops:
        if op == "erase":
            count = min(length, SECTORS - at)
            device.erase(at * SECTOR, count * SECTOR)
            model[at * SECTOR : (at + count) * SECTOR] = b"\xff" * (count * SECTOR)
            continue
        if aligned:
            at -= at % SECTOR
        length = min(length, SIZE - at)
        data = pattern(at, length, seed)
        if op == "program_erased":  # only into an erased area, as its callers promise
            device.erase(at - at % SECTOR, -(-(at + length) // SECTOR) * SECTOR - at + at % SECTOR)
            start, end = at - at % SECTOR, -(-(at + length) // SECTOR) * SECTOR
            model[start:end] = b"\xff" * (end - start)
        getattr(device, op)(at, data)
        if op == "program":
            data = bytes(a & b for a, b in zip(model[at : at + length], data, strict=True))
        model[at : at + length] = data
        assert device.read(0, SIZE) == model
    assert device.read(0, SIZE) == model
    for start in range(0, SIZE - SECTOR, SECTOR // 2):  # reads that cross sector edges
        assert device.read(start, SECTOR) == model[start : start + SECTOR]
