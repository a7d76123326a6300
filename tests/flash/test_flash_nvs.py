"""NVS codec: byte-identical to esp-idf-nvs-partition-gen, and reads what it writes."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

import pytest
from esp_idf_nvs_partition_gen import nvs_partition_gen as gen
from hypothesis import given, settings
from hypothesis import strategies as st

from esp_at_sim.flash.errors import NvsError
from esp_at_sim.flash.nvs import (
    ENTRIES,
    PAGE,
    ItemType,
    NvsItem,
    PageState,
    encode_pages,
    encode_partition,
)
from esp_at_sim.flash.nvs_read import page_headers, read_items

I = ItemType  # noqa: E741 - short alias for the tables below
ENCODINGS = {
    I.U8: "u8", I.I8: "i8", I.U16: "u16", I.I16: "i16",
    I.U32: "u32", I.I32: "i32", I.U64: "u64", I.I64: "i64",
    I.SZ: "string", I.BLOB: "hex2bin",
}  # fmt: skip


def _rows(items: list[NvsItem]) -> list[list[str]]:
    rows = [["key", "type", "encoding", "value"]]
    current = None
    for item in items:
        if item.namespace != current:
            rows.append([item.namespace, "namespace", "", ""])
            current = item.namespace
        value = item.value.hex() if isinstance(item.value, bytes) else str(item.value)
        rows.append([item.key, "data", ENCODINGS[item.type], value])
    return rows


def run_generator(tmp_path: Path, items: list[NvsItem], size: int) -> bytes:
    """The partition esp-idf-nvs-partition-gen makes for ``items``, run as a program."""
    source = tmp_path / "nvs.csv"
    with source.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(_rows(items))
    out = tmp_path / "nvs.bin"
    command = [sys.executable, "-m", "esp_idf_nvs_partition_gen", "generate"]
    result = subprocess.run(
        [*command, str(source), str(out), hex(size)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0 and out.exists(), result.stdout + result.stderr
    return out.read_bytes()


def generate_in_process(items: list[NvsItem], size: int) -> bytes:
    """The same generator through its Python API (fast enough for property tests)."""
    sink = io.BytesIO()
    nvs = gen.nvs_open(sink, size - PAGE, gen.Page.VERSION2)
    for row in _rows(items)[1:]:
        gen.write_entry(nvs, row[0], row[1], row[2], row[3])
    gen.nvs_close(nvs)
    return sink.getvalue()


NS = "esp_at_sim"
CASES: dict[str, list[NvsItem]] = {
    "mixed": [
        NvsItem(NS, "u8", I.U8, 255),
        NvsItem(NS, "i8", I.I8, -128),
        NvsItem(NS, "u16", I.U16, 65535),
        NvsItem(NS, "i16", I.I16, -32768),
        NvsItem(NS, "u32", I.U32, 0xFFFFFFFF),
        NvsItem(NS, "i32", I.I32, -(2**31)),
        NvsItem(NS, "u64", I.U64, 2**64 - 1),
        NvsItem(NS, "i64", I.I64, -(2**63)),
        NvsItem(NS, "text", I.SZ, 'héllo, "world"'),
        NvsItem(NS, "empty", I.SZ, ""),
        NvsItem(NS, "blob", I.BLOB, bytes(range(40))),
        NvsItem(NS, "noblob", I.BLOB, b""),
    ],
    "many_ints": [NvsItem(NS, f"k{i}", I.I32, i * 7919) for i in range(300)],
    "strings_to_page_edges": [
        NvsItem(NS, f"s{i}", I.SZ, "x" * n)
        for i, n in enumerate([3967, 31, 32, 33, 2000, 1500, 95, 96, 500, 3000, 3967, 63, 64])
    ],
    "blobs_across_pages": [
        NvsItem(NS, "big", I.BLOB, bytes(i % 251 for i in range(10_000))),
        NvsItem(NS, "fill", I.BLOB, b"\x5a" * (126 - 3) * 32),
        NvsItem(NS, "after", I.I32, 1),
        NvsItem(NS, "exact", I.BLOB, b"\xa5" * 3968),
        NvsItem(NS, "tail", I.SZ, "end"),
    ],
    "namespaces": [
        NvsItem("first", "a", I.U8, 1),
        NvsItem("first", "b", I.U8, 3),
        NvsItem("second", "a", I.SZ, "two"),
        NvsItem("second", "b", I.I64, -5),
        NvsItem("third", "c", I.BLOB, b"\x00\x01"),
    ],
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_byte_identical_to_generator(tmp_path: Path, name: str) -> None:
    items = CASES[name]
    reference = run_generator(tmp_path, items, 0x10000)
    assert encode_partition(items, 0x10000) == reference
    assert read_items(reference) == items


def test_reads_generator_output_for_the_esp32_nvs_size(tmp_path: Path) -> None:
    items = [NvsItem(NS, "ssid", I.SZ, "Lab"), NvsItem(NS, "pwd", I.SZ, "pass1234")]
    reference = run_generator(tmp_path, items, 0xE000)
    assert len(reference) == 0xE000
    assert read_items(reference) == items
    headers = page_headers(reference)
    assert headers[0].state == PageState.ACTIVE and headers[0].seq == 0
    assert all(h.state == PageState.UNINITIALIZED for h in headers[1:])


keys = st.text("abcdefghijklmnopqrstuvwxyz0123456789_", min_size=1, max_size=15)
text = st.text(
    st.characters(codec="utf-8", exclude_characters="\x00\r\n", exclude_categories=["Cs"]),
    max_size=120,
).filter(lambda s: len(s.encode()) < 4000)


@st.composite
def item_lists(draw: st.DrawFn, max_items: int = 25, *, contiguous: bool = False) -> list[NvsItem]:
    namespaces = draw(st.lists(keys, min_size=1, max_size=3, unique=True))
    chosen = draw(
        st.lists(st.tuples(st.sampled_from(namespaces), keys), max_size=max_items, unique=True)
    )
    items = []
    for namespace, key in chosen:
        kind = draw(st.sampled_from(list(ENCODINGS)))
        value: int | str | bytes
        if kind == I.SZ:
            value = draw(text)
        elif kind == I.BLOB:
            value = draw(st.binary(max_size=draw(st.sampled_from([40, 600, 5000]))))
        else:
            bits = {1: 8, 2: 16, 4: 32, 8: 64}[kind & 0x0F]
            signed = kind & 0x10
            low, high = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)
            value = draw(st.integers(low, high))
        items.append(NvsItem(namespace, key, kind, value))
    if contiguous:  # the generator cannot go back to an earlier namespace
        items.sort(key=lambda item: namespaces.index(item.namespace))
    return items


@settings(max_examples=40, deadline=None)
@given(item_lists(contiguous=True))
def test_matches_generator_property(items: list[NvsItem]) -> None:
    try:
        ours = encode_partition(items, 0x8000)
    except NvsError:
        return  # does not fit: checked against the generator below
    assert ours == generate_in_process(items, 0x8000)


def test_whole_page_string_and_interleaved_namespaces() -> None:
    items = [
        NvsItem(NS, "a", I.U8, 1),
        NvsItem(NS, "max", I.SZ, "m" * 3999),
        NvsItem("other", "b", I.U8, 2),
        NvsItem(NS, "c", I.U8, 3),
    ]
    pages = encode_pages(items)
    assert len(pages) == 3
    assert pages[1][32:64] == b"\xaa" * 31 + b"\xfa"  # 126 entries: written, 4 bits spare
    assert read_items(b"".join(pages)) == items


def test_too_much_for_the_partition_is_refused() -> None:
    items = [NvsItem(NS, "big", I.BLOB, b"\x00" * 9000)]
    with pytest.raises(NvsError, match="need 3 pages; a 0x3000 partition has 2"):
        encode_partition(items, 0x3000)
    with pytest.raises(gen.InsufficientSizeError):
        generate_in_process(items, 0x3000)


@settings(max_examples=60, deadline=None)
@given(item_lists(max_items=40), st.integers(0, 1000))
def test_decode_round_trip(items: list[NvsItem], first_seq: int) -> None:
    pages = encode_pages(items, first_seq=first_seq)
    data = b"".join(pages) + b"\xff" * PAGE
    assert read_items(data) == items
    headers = page_headers(data)
    assert [h.seq for h in headers[: len(pages)]] == list(range(first_seq, first_seq + len(pages)))
    assert headers[len(pages) - 1].state == PageState.ACTIVE
    assert all(h.state == PageState.FULL for h in headers[: len(pages) - 1])


def _entry_offset(data: bytes, key: str) -> int:
    needle = key.encode().ljust(16, b"\x00")
    for index in range(ENTRIES):
        at = 64 + 32 * index
        if data[at + 8 : at + 24] == needle:
            return at
    raise AssertionError(key)


def test_damaged_entries_and_pages_are_skipped() -> None:
    items = [NvsItem(NS, "a", I.I32, 1), NvsItem(NS, "s", I.SZ, "text"), NvsItem(NS, "b", I.U8, 2)]
    clean = encode_partition(items, 0x3000)
    bad_entry = bytearray(clean)
    bad_entry[_entry_offset(clean, "a") + 24] ^= 0xFF  # value byte: entry CRC fails
    assert read_items(bytes(bad_entry)) == [items[1], items[2]]
    bad_data = bytearray(clean)
    bad_data[_entry_offset(clean, "s") + 32] ^= 0x01  # string data: data CRC fails
    assert read_items(bytes(bad_data)) == [items[0], items[2]]
    erased = bytearray(clean)
    erased[32] &= ~(0b11 << 2) & 0xFF  # entry 1 (key "a") marked erased in the bitmap
    assert read_items(bytes(erased)) == [items[1], items[2]]
    bad_header = bytearray(clean)
    bad_header[5] ^= 1  # sequence number: header CRC fails, the page is ignored
    assert read_items(bytes(bad_header)) == []


def test_later_value_wins_and_orphans_are_dropped() -> None:
    first = encode_pages([NvsItem(NS, "k", I.I32, 1)], first_seq=0)[0]
    second = encode_pages([NvsItem(NS, "k", I.I32, 2)], first_seq=1)[0]
    assert read_items(second + first) == [NvsItem(NS, "k", I.I32, 2)]
    no_namespace = bytearray(first)
    no_namespace[32] &= 0b11111100  # entry 0, the namespace name, marked erased
    assert read_items(bytes(no_namespace)) == []


@pytest.mark.parametrize(
    ("item", "message"),
    [
        (lambda: NvsItem(NS, "k" * 16, I.U8, 1), "1 to 15 bytes"),
        (lambda: NvsItem("", "k", I.U8, 1), "namespace '' must be"),
        (lambda: NvsItem(NS, "k", I.U8, 256), "does not fit U8"),
        (lambda: NvsItem(NS, "k", I.I8, True), "needs an int"),
        (lambda: NvsItem(NS, "k", I.SZ, b"x"), "needs a str"),
        (lambda: NvsItem(NS, "k", I.SZ, "x" * 4000), "longer than 3999"),
        (lambda: NvsItem(NS, "k", I.BLOB, "x"), "needs bytes"),
        (lambda: NvsItem(NS, "k", I.BLOB_IDX, b""), "cannot have type BLOB_IDX"),
    ],
)
def test_item_validation(item: object, message: str) -> None:
    with pytest.raises(NvsError, match=message):
        item()  # type: ignore[operator]
