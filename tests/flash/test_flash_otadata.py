"""otadata entries, the CRC and the selection rule."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from esp_at_sim.flash.errors import OtaError
from esp_at_sim.flash.otadata import (
    SECTOR,
    OtaEntry,
    OtaState,
    active_index,
    all_unusable,
    decode_otadata,
    encode_sector,
    initial_contents,
    next_seq,
    seq_crc,
    switch_to,
)

BLANK = OtaEntry()


def test_crc_of_sequence_one_matches_esp_idf() -> None:
    assert seq_crc(1) == 0x4743989A
    assert OtaEntry.make(1, OtaState.VALID).encode() == (
        b"\x01\x00\x00\x00" + b"\xff" * 20 + b"\x02\x00\x00\x00" + b"\x9a\x98\x43\x47"
    )


def test_blank_sectors() -> None:
    entries = decode_otadata(b"\xff" * 2 * SECTOR)
    assert entries == (BLANK, BLANK)
    assert active_index(entries) is None
    assert all_unusable(entries) and initial_contents(entries)


@pytest.mark.parametrize(
    ("a", "b", "winner"),
    [
        (OtaEntry.make(1, OtaState.VALID), BLANK, 0),
        (BLANK, OtaEntry.make(1, OtaState.VALID), 1),
        (OtaEntry.make(1, OtaState.VALID), OtaEntry.make(2, OtaState.NEW), 1),
        (OtaEntry.make(3, OtaState.VALID), OtaEntry.make(2, OtaState.VALID), 0),
        (OtaEntry.make(5, OtaState.VALID), OtaEntry.make(5, OtaState.VALID), 0),
        (OtaEntry.make(1, OtaState.VALID), OtaEntry.make(2, OtaState.ABORTED), 0),
        (OtaEntry.make(1, OtaState.VALID), OtaEntry.make(2, OtaState.INVALID), 0),
        (OtaEntry.make(1, OtaState.VALID), OtaEntry(2, b"\xff" * 20, 2, 0x12345678), 0),
        (OtaEntry.make(1, OtaState.ABORTED), OtaEntry.make(2, OtaState.INVALID), None),
        (OtaEntry.make(4, OtaState.UNDEFINED), OtaEntry.make(3, OtaState.PENDING_VERIFY), 0),
    ],
)
def test_selection_rule(a: OtaEntry, b: OtaEntry, winner: int | None) -> None:
    assert active_index((a, b)) == winner


def test_slot_mapping_wraps() -> None:
    assert [OtaEntry.make(s, 2).slot(2) for s in (1, 2, 3, 4, 5)] == [0, 1, 0, 1, 0]
    assert [OtaEntry.make(s, 2).slot(3) for s in (1, 2, 3, 4)] == [0, 1, 2, 0]


def test_next_seq_is_smallest_not_below_current() -> None:
    assert next_seq(1, 1, 2) == 2
    assert next_seq(2, 0, 2) == 3
    assert next_seq(3, 1, 2) == 4
    assert next_seq(1, 0, 2) == 1
    assert next_seq(7, 2, 3) == 9


def _counted_next_seq(current: int, slot: int, count: int) -> int:
    """ESP-IDF's own loop, the reference for small numbers."""
    i = 0
    while current > (slot + 1) % count + i * count:
        i += 1
    return (slot + 1) % count + i * count


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 5000), st.integers(0, 15), st.integers(1, 16))
def test_next_seq_matches_esp_idf_loop(current: int, slot: int, count: int) -> None:
    slot %= count
    assert next_seq(current, slot, count) == _counted_next_seq(current, slot, count)


def test_next_seq_near_the_top_and_exhausted() -> None:
    assert next_seq(0xFFFFFFF0, 0, 2) == 0xFFFFFFF1
    assert next_seq(0xFFFFFFF0, 1, 2) == 0xFFFFFFF0
    assert next_seq(0xFFFFFFFD, 1, 3) == 0xFFFFFFFE
    with pytest.raises(OtaError, match="used up"):
        next_seq(0xFFFFFFFE, 0, 2)  # ESP-IDF would store the blank value 0xFFFFFFFF
    with pytest.raises(OtaError, match="used up"):
        next_seq(0xFFFFFFFE, 0, 3)  # ESP-IDF's counter would wrap past 2**32


def test_switch_writes_the_other_sector() -> None:
    entries = (OtaEntry.make(1, OtaState.VALID), BLANK)
    sector, entry = switch_to(entries, 1, 2, OtaState.NEW)
    assert sector == 1 and entry.seq == 2 and entry.state == OtaState.NEW and entry.crc_ok
    sector, entry = switch_to((BLANK, BLANK), 1, 2, OtaState.NEW)
    assert sector == 0 and entry.seq == 2
    with pytest.raises(ValueError, match="slot 2 out of range"):
        switch_to(entries, 2, 2, OtaState.NEW)


entries_st = st.builds(
    OtaEntry,
    st.integers(0, 0xFFFFFFFF),
    st.binary(min_size=20, max_size=20),
    st.sampled_from([*OtaState, 7, 0x12345678]),
    st.integers(0, 0xFFFFFFFF),
)


@settings(max_examples=200, deadline=None)
@given(entries_st, entries_st)
def test_sector_round_trip(a: OtaEntry, b: OtaEntry) -> None:
    data = encode_sector(a) + encode_sector(b)
    assert len(data) == 2 * SECTOR
    assert decode_otadata(data) == (a, b)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 1000), st.integers(0, 15), st.integers(1, 16))
def test_switch_selects_requested_slot(seq: int, slot: int, count: int) -> None:
    if slot >= count:
        slot %= count
    entries = (OtaEntry.make(seq, OtaState.VALID), BLANK)
    sector, entry = switch_to(entries, slot, count, OtaState.NEW)
    after = (entries[0], entry) if sector == 1 else (entry, entries[1])
    active = active_index(after)
    assert active is not None
    assert after[active].slot(count) == slot
    assert entry.seq >= seq
