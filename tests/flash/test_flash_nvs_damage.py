"""ESP-IDF's recovery rules on damaged NVS, on partitions the generator wrote: what is
kept, what is lost, and that every loss is reported."""

from __future__ import annotations

from pathlib import Path

from test_flash_nvs import generate_in_process

from esp_at_sim.flash import FlashImage
from esp_at_sim.flash.nvs import ENTRY, FIRST_ENTRY, PAGE, ItemType, NvsItem, PageState
from esp_at_sim.flash.nvs_read import Damage, page_headers, read_nvs
from esp_at_sim.flash.nvs_store import current_generation, current_readout

NS = "esp_at_sim"
I = ItemType  # noqa: E741 - short alias
SIZE = 0x6000


def spread_items() -> list[NvsItem]:
    """Enough strings to fill two FULL pages and start an ACTIVE third."""
    return [NvsItem(NS, f"k{n:02}", I.SZ, f"{n:02}" * 100) for n in range(40)]


def keys(items: list[NvsItem]) -> set[str]:
    return {i.key for i in items}


def where(data: bytes, key: str) -> tuple[int, int]:
    """Page and entry of ``key``'s (first) entry."""
    needle = key.encode().ljust(16, b"\0")
    for page in range(len(data) // PAGE):
        for entry in range(126):
            at = page * PAGE + FIRST_ENTRY + entry * ENTRY
            if data[at + 8 : at + 24] == needle:
                return page, entry
    raise AssertionError(key)


def lost(damage: list[Damage]) -> set[str]:
    return {name for d in damage for name in d.lost}


def test_generator_output_reads_clean() -> None:
    data = generate_in_process(spread_items(), SIZE)
    readout = read_nvs(data)
    assert readout.items == spread_items() and readout.damage == []
    states = [h.state for h in page_headers(data)[:3]]
    assert states == [PageState.FULL, PageState.FULL, PageState.ACTIVE]


def test_damaged_full_page_header_costs_that_page_only() -> None:
    data = bytearray(generate_in_process(spread_items(), SIZE))
    on_page_1 = {i.key for i in spread_items() if where(bytes(data), i.key)[0] == 1}
    data[PAGE + 4] ^= 0xFF  # page 1's sequence number, under its header CRC
    readout = current_readout(bytes(data))
    assert keys(readout.items) == keys(spread_items()) - on_page_1
    assert lost(readout.damage) == {f"{NS}.{k}" for k in on_page_1}
    assert "page 1: page header CRC mismatch" in str(readout.damage[0])


def test_damaged_active_page_header_keeps_the_full_pages() -> None:
    data = bytearray(generate_in_process(spread_items(), SIZE))
    on_active = {i.key for i in spread_items() if where(bytes(data), i.key)[0] == 2}
    data[2 * PAGE + 28] ^= 0x01  # the ACTIVE page's CRC itself
    readout = current_readout(bytes(data))
    assert on_active and keys(readout.items) == keys(spread_items()) - on_active
    assert lost(readout.damage) == {f"{NS}.{k}" for k in on_active}


def test_active_page_entry_marked_empty_loses_what_follows_it() -> None:
    items = [NvsItem(NS, k, I.I32, n) for n, k in enumerate("abcdef")]
    data = bytearray(generate_in_process(items, 0x3000))
    _, entry = where(bytes(data), "c")
    data[32 + entry // 4] |= 0b11 << (entry % 4 * 2)  # "c" back to EMPTY in the bitmap
    readout = read_nvs(bytes(data))
    # ESP-IDF: the first empty entry ends the page; written entries after it are erased
    assert keys(readout.items) == {"a", "b"}
    assert lost(readout.damage) == {f"{NS}.{k}" for k in "cdef"}


def test_illegal_entry_state_and_bad_crc_cost_one_entry_each() -> None:
    items = [NvsItem(NS, k, I.I32, n) for n, k in enumerate("abcd")]
    data = bytearray(generate_in_process(items, 0x3000))
    _, b = where(bytes(data), "b")
    data[32 + b // 4] ^= 0b11 << (b % 4 * 2)  # written 10 -> illegal 01
    page, d = where(bytes(data), "d")
    data[page * PAGE + FIRST_ENTRY + d * ENTRY + 24] ^= 0x40
    readout = read_nvs(bytes(data))
    assert keys(readout.items) == {"a", "c"}
    assert lost(readout.damage) == {f"{NS}.b", f"{NS}.d"}
    assert [d.problem for d in readout.damage] == ["entry state bits 01", "entry CRC mismatch"]


def test_blob_with_a_damaged_chunk_is_lost_whole_and_reported_once() -> None:
    items = [NvsItem(NS, "cert", I.BLOB, bytes(range(256)) * 20), NvsItem(NS, "n", I.U8, 7)]
    data = bytearray(generate_in_process(items, SIZE))
    page, entry = where(bytes(data), "cert")
    data[page * PAGE + FIRST_ENTRY + (entry + 3) * ENTRY] ^= 0x10  # inside chunk 0's data
    readout = read_nvs(bytes(data))
    assert readout.items == [items[1]]
    assert lost(readout.damage) == {f"{NS}.cert"} and len(readout.damage) == 1


def test_lost_namespace_entry_is_adopted_like_esp_idf_reopening_it(tmp_path: Path) -> None:
    items = [NvsItem(NS, "cwmode", I.I32, 3), NvsItem("other", "x", I.U8, 1)]
    data = bytearray(generate_in_process(items, 0x3000))
    data[FIRST_ENTRY + 24] ^= 0x01  # the first namespace entry's value: CRC mismatch
    plain = read_nvs(bytes(data))
    assert plain.items == [items[1]] and lost(plain.damage) == {"#1.cwmode"}
    adopted = read_nvs(bytes(data), adopt=NS)
    assert sorted(i.key for i in adopted.items) == ["cwmode", "x"]
    assert adopted.damage and lost(adopted.damage) == set()


def test_store_reports_damage_and_drops_it_at_the_next_save(flash: FlashImage) -> None:
    store = flash.settings()
    store.save({"a": 1, "b": 2})
    page = next(h.index for h in page_headers(flash.read_partition(flash.nvs)) if h.live)
    at = flash.nvs.offset + page * PAGE
    raw = flash.device.read(at, PAGE)
    _, entry = where(raw, "a")
    flash.device.write_raw(at + FIRST_ENTRY + entry * ENTRY + 24, b"\x00")
    assert store.load() == {"b": 2}
    assert [str(d) for d in store.damage] == [
        f"page {page} entry {entry}: entry CRC mismatch; lost: {NS}.a"
    ]
    store.save({"c": 3})
    assert store.load() == {"b": 2, "c": 3} and store.damage == []


def test_unfinished_first_save_leaves_a_marker_and_commits_nothing() -> None:
    pages = generate_in_process(spread_items(), SIZE)
    data = bytearray(pages)
    data[2 * PAGE : 2 * PAGE + 4] = b"\xff" * 4  # the last page written, never committed
    assert current_generation(page_headers(bytes(data))) == []
    data[2 * PAGE : 3 * PAGE] = b"\xff" * PAGE  # without the marker: a damaged ACTIVE page
    assert len(current_generation(page_headers(bytes(data)))) == 2
