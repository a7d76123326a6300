"""Partition CSV parsing and the binary table, against hand-checked bytes."""

from __future__ import annotations

import hashlib
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from esp_at_sim.flash.errors import PartitionTableError
from esp_at_sim.flash.flashfile import FlashLayout
from esp_at_sim.flash.partitions import (
    TABLE_LENGTH,
    Partition,
    PartitionTable,
    decode_table,
    encode_table,
    parse_csv,
    to_csv,
)

# The ESP32 primary table as gen_esp32part lays it out, written out by hand field by
# field: magic, type, subtype, offset (LE), size (LE), 16-byte label, flags.
ESP32_PRIMARY_ROWS = [
    "aa50 01 01 00f00000 00100000 7068795f696e69740000000000000000 00000000",  # phy_init
    "aa50 01 00 00000100 00200000 6f746164617461000000000000000000 00000000",  # otadata
    "aa50 01 02 00200100 00e00000 6e767300000000000000000000000000 00000000",  # nvs
    "aa50 40 00 00000200 00000e00 61745f637573746f6d697a6500000000 00000000",  # at_customize
    "aa50 00 10 00001000 00001800 6f74615f300000000000000000000000 00000000",  # ota_0
    "aa50 00 11 00002800 00001800 6f74615f310000000000000000000000 00000000",  # ota_1
]
ESP32_CUSTOM_ROWS = [
    "aa50 01 02 00100200 00c00100 6d66675f6e7673000000000000000000 00000000",  # mfg_nvs
    "aa50 01 ff 00000700 00000900 66735f73746f72616765000000000000 00000000",  # fs_storage
]


def _rows(rows: list[str]) -> bytes:
    return b"".join(bytes.fromhex(r.replace(" ", "")) for r in rows)


def test_esp32_primary_table_bytes(esp32: FlashLayout) -> None:
    expected = _rows(ESP32_PRIMARY_ROWS)
    assert esp32.primary_bin == expected + b"\xff" * (TABLE_LENGTH - len(expected))


def test_esp32_at_customize_table_has_md5_row(esp32: FlashLayout) -> None:
    body = _rows(ESP32_CUSTOM_ROWS)
    md5_row = b"\xeb\xeb" + b"\xff" * 14 + hashlib.md5(body).digest()
    assert esp32.custom_bin == body + md5_row + b"\xff" * (TABLE_LENGTH - len(body) - 32)


def test_esp32c3_layout(esp32c3: FlashLayout) -> None:
    names = [(p.name, p.offset, p.size) for p in esp32c3.primary]
    assert names == [
        ("otadata", 0xD000, 0x2000),
        ("phy_init", 0xF000, 0x1000),
        ("nvs", 0x10000, 0xE000),
        ("at_customize", 0x1E000, 0x42000),
        ("ota_0", 0x60000, 0x1D0000),
        ("ota_1", 0x230000, 0x1D0000),
    ]
    assert [(p.name, p.offset, p.size) for p in esp32c3.custom] == [
        ("mfg_nvs", 0x1F000, 124 * 1024),
        ("fs_storage", 0x47000, 100 * 1024),
    ]
    assert decode_table(esp32c3.custom_bin).has_md5


def test_csv_syntax_defaults_and_flags() -> None:
    text = """
    # comment line
      nvs ,data, nvs,,  0x6000
    phy,   data , phy ,  , 4K
    app0,  app,  factory, , 1M
    app1,  app,  ota_3, , 0x100000
    blob,  0x40, 15, , 8k, encrypted:readonly
    last,  1, 0x99, 0x380000, -0x400000
    """
    table = parse_csv(text)
    got = [(p.name, p.type, p.subtype, p.offset, p.size) for p in table]
    assert got == [
        ("nvs", 1, 2, 0x9000, 0x6000),
        ("phy", 1, 1, 0xF000, 0x1000),
        ("app0", 0, 0, 0x10000, 0x100000),
        ("app1", 0, 0x13, 0x110000, 0x100000),
        ("blob", 0x40, 15, 0x210000, 0x2000),
        ("last", 1, 0x99, 0x380000, 0x80000),
    ]
    blob = table.get("blob")
    assert blob.encrypted and blob.readonly and blob.flags == 3
    assert table.ota_slots == (table.get("app1"),)
    assert table.factory == table.get("app0")


def test_empty_data_subtype_is_undefined() -> None:
    assert parse_csv("x, data, , 0x9000, 0x1000").get("x").subtype == 0x06


@pytest.mark.parametrize(
    ("csv", "message"),
    [
        ("a, fish, nvs, 0x9000, 0x3000", "line 2: 'fish' is not valid"),
        ("a, data, fish, 0x9000, 0x3000", "line 2: 'fish' is not valid"),
        ("a, data, nvs, 0xZZ, 0x3000", "line 2: invalid number '0xZZ'"),
        ("a, data, nvs, 0x9000,", "line 2: the size field is empty"),
        ("a, app, , 0x10000, 0x10000", "line 2: an app partition needs a subtype"),
        ("a, data, nvs, 0x9000, 0x3000, shiny", "line 2: unknown flag 'shiny'"),
        ("a234567890abcdefg, data, nvs, 0x9000, 0x3000", "longer than 16 bytes"),
        ("a, app, ota_0, 0x11000, 0x10000", "line 2: offset 0x11000 is not aligned to 0x10000"),
        ("a, data, nvs, 0x9000, 0x2000", "must be readonly"),
        ("a, data, ota, 0x9000, 0x2000, readonly", "cannot be readonly"),
        ("a, data, ota, 0x9000, 0x3000", "otadata partition must be 0x2000"),
        ("a, data, nvs, 0x8000, 0x3000", "line 2: partition 'a' at 0x8000 overlaps"),
        ("a, data, nvs, 0x9000, 0x3000\nb, data, phy, 0xa000, 0x1000", "line 3"),
        ("a, data, nvs, , 0x3000\na, data, phy, , 0x1000", "name 'a' is used twice"),
        ("a, data, nvs, 0x3f0000, 0x20000", "outside the 4 MB flash"),
    ],
)
def test_csv_errors_name_the_line(csv: str, message: str) -> None:
    with pytest.raises(PartitionTableError, match=r"my\.csv") as info:
        parse_csv("# header\n" + csv, source="my.csv", flash_size=0x400000)
    assert message in str(info.value)


def test_binary_damage_is_reported(esp32: FlashLayout) -> None:
    good = bytearray(esp32.custom_bin)
    decode_table(bytes(good))
    bad_magic = bytearray(good)
    bad_magic[32] = 0x00
    with pytest.raises(PartitionTableError, match="row 1: bad magic 0050"):
        decode_table(bytes(bad_magic))
    bad_md5 = bytearray(good)
    bad_md5[2 * 32 + 20] ^= 1
    with pytest.raises(PartitionTableError, match="MD5 mismatch"):
        decode_table(bytes(bad_md5))
    flipped_entry = bytearray(good)
    flipped_entry[4] ^= 0x10  # offset of mfg_nvs: the MD5 no longer matches
    with pytest.raises(PartitionTableError, match="MD5 mismatch"):
        decode_table(bytes(flipped_entry))
    with pytest.raises(PartitionTableError, match="no end marker"):
        decode_table(b"".join(bytes(good[:32]) for _ in range(TABLE_LENGTH // 32)))


def test_binary_overlap_and_outside_flash() -> None:
    def row(name: str, offset: int, size: int) -> bytes:
        return struct.pack("<2sBBLL16sL", b"\xaa\x50", 1, 2, offset, size, name.encode(), 0)

    overlap = row("a", 0x9000, 0x3000) + row("b", 0xA000, 0x3000) + b"\xff" * 32
    with pytest.raises(PartitionTableError, match="'b' at 0xa000 overlaps 'a'"):
        decode_table(overlap)
    outside = row("a", 0x3FF000, 0x3000) + b"\xff" * 32
    with pytest.raises(PartitionTableError, match="exceeds the 0x400000-byte flash"):
        decode_table(outside, flash_size=0x400000)


names = st.text("abcdefghijklmnopqrstuvwxyz0123456789_", min_size=1, max_size=16)


@st.composite
def tables(draw: st.DrawFn) -> PartitionTable:
    labels = draw(st.lists(names, min_size=1, max_size=12, unique=True))
    offset = 0x9000
    parts = []
    for label in labels:
        kind = draw(st.sampled_from(["app", "data", "custom"]))
        offset += draw(st.integers(0, 4)) * 0x1000
        if kind == "app":
            offset = -(-offset // 0x10000) * 0x10000
            ptype, subtype = 0, draw(st.sampled_from([0x00, 0x20, *range(0x10, 0x20)]))
        elif kind == "data":
            ptype, subtype = 1, draw(st.integers(1, 0xFF).filter(lambda s: s not in (2, 3)))
        else:
            ptype, subtype = draw(st.integers(0x40, 0xFE)), draw(st.integers(0, 0xFF))
        size = draw(st.integers(1, 64)) * 0x1000
        flags = draw(st.sampled_from([(False, False), (True, False), (False, True), (True, True)]))
        parts.append(Partition(label, ptype, subtype, offset, size, *flags))
        offset += size
    return PartitionTable(tuple(parts))


@settings(max_examples=60, deadline=None)
@given(tables(), st.booleans())
def test_binary_round_trip(table: PartitionTable, md5: bool) -> None:
    decoded = decode_table(encode_table(table, md5=md5), flash_size=0x1000000)
    assert decoded.table == table
    assert decoded.has_md5 == md5


@settings(max_examples=60, deadline=None)
@given(tables())
def test_csv_round_trip(table: PartitionTable) -> None:
    assert parse_csv(to_csv(table)) == table


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(1, 40)), min_size=1, max_size=10))
def test_empty_offsets_follow_on_with_alignment(specs: list[tuple[bool, int]]) -> None:
    lines = [
        f"p{i}, {'app' if is_app else 'data'}, {f'ota_{i}' if is_app else 'fat'}, , {n * 4}K"
        for i, (is_app, n) in enumerate(specs)
    ]
    table = parse_csv("\n".join(lines))
    end = 0x9000
    for part, (is_app, n) in zip(table, specs, strict=True):
        align = 0x10000 if is_app else 0x1000
        assert part.offset == -(-end // align) * align
        assert part.size == n * 0x1000
        end = part.end
