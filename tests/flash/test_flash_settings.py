"""NvsSettingsStore: the SettingsStore contract over the flash file's NVS partition."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from esp_at_sim.core.settings import I8, U8, U16, SettingValue
from esp_at_sim.flash import FlashImage, FlashLayout, NvsError
from esp_at_sim.flash.nvs import (
    ItemType,
    NvsItem,
    PageState,
    encode_pages,
    encode_partition,
)
from esp_at_sim.flash.nvs_read import page_headers, read_items
from esp_at_sim.flash.nvs_store import NvsSettingsStore, current_generation


def _nvs_bytes(flash: FlashImage) -> bytes:
    return flash.read_partition(flash.nvs)


def test_save_load_delete_and_types(flash: FlashImage) -> None:
    store = flash.settings()
    assert store.load() == {}
    store.save({"ssid": "Lab", "pwd": "pass1234", "mode": 1, "mac": b"\x24\x0a\xc4\x00\x00\x01"})
    store.save({"mode": -3, "pwd": None, "new": "ok"})
    assert store.load() == {"ssid": "Lab", "mode": -3, "mac": b"\x24\x0a\xc4\0\0\1", "new": "ok"}
    again = FlashImage.open(flash.path, flash.layout, readonly=True).settings()
    assert again.load() == store.load()


def test_at_rest_it_is_plain_nvs(flash: FlashImage) -> None:
    store = flash.settings()
    for n in range(30):
        store.save({"count": n, f"k{n % 5}": "v" * n})
    data = _nvs_bytes(flash)
    expected = {"count": 29, **{f"k{n % 5}": "v" * n for n in range(25, 30)}}
    assert store.load() == expected
    # What ESP-IDF (reading every live page) sees is exactly the stored settings...
    assert {i.key: i.value for i in read_items(data)} == expected
    # ...and the pages rotate through the partition instead of wearing out page 0.
    live = [h for h in page_headers(data) if h.state != PageState.UNINITIALIZED]
    assert len(live) == 1 and live[0].state == PageState.ACTIVE and live[0].seq == 29
    assert live[0].index != 0


def test_first_save_is_what_the_generator_writes(flash: FlashImage) -> None:
    flash.settings().save({"ssid": "Lab", "mode": 1})
    items = [
        NvsItem("esp_at_sim", "ssid", ItemType.SZ, "Lab"),
        NvsItem("esp_at_sim", "mode", ItemType.I32, 1),
    ]
    assert _nvs_bytes(flash) == encode_partition(items, flash.nvs.size)


def test_the_firmwares_namespaces_are_the_modules_and_others_survive(flash: FlashImage) -> None:
    wifi = NvsItem("nvs.net80211", "sta.ssid", ItemType.BLOB, b"\x03\x00\x00\x00Lab")
    phy = NvsItem("phy", "cal_version", ItemType.U32, 4)
    flash.device.program(flash.nvs.offset, encode_partition([wifi, phy], flash.nvs.size))
    store = flash.settings()
    assert store.load() == {"nvs.net80211:sta.ssid": b"\x03\x00\x00\x00Lab"}
    store.save(
        {
            "a": 1,
            "nvs.net80211:opmode": U8(2),
            "nvs.net80211:sta.lis_intval": U16(3),
            "UART:parity": I8(3),
        }
    )
    loaded = store.load()
    assert loaded["UART:parity"] == 3 and type(loaded["UART:parity"]) is I8
    assert loaded["nvs.net80211:opmode"] == 2 and type(loaded["nvs.net80211:opmode"]) is U8
    assert type(loaded["nvs.net80211:sta.lis_intval"]) is U16 and type(loaded["a"]) is int
    types = {(i.namespace, i.key): i.type for i in store.items()}
    assert types["nvs.net80211", "opmode"] == ItemType.U8
    assert types["nvs.net80211", "sta.lis_intval"] == ItemType.U16
    assert types["esp_at_sim", "a"] == ItemType.I32
    assert types["UART", "parity"] == ItemType.I8
    store.erase()  # AT+RESTORE: the module's settings go, PHY calibration stays
    assert store.load() == {}
    assert flash.settings("phy").load() == {"cal_version": 4}
    assert store.items() == [phy]


@pytest.mark.parametrize(
    ("updates", "error"),
    [
        ({"k" * 16: 1}, ValueError),
        ({"": 1}, ValueError),
        ({"nvs.net80211:" + "k" * 16: 1}, ValueError),
        ({"ok": 1, "ns:bad": U8(256)}, ValueError),
        ({"ok": 1, "bad": 2**31}, ValueError),
        ({"ok": 1, "bad": True}, TypeError),
        ({"ok": 1, "bad": 1.5}, TypeError),
        ({"ok": 1, "bad": "x" * 4000}, ValueError),
        ({"ok": 1, "bad": "nul\x00"}, ValueError),
    ],
)
def test_bad_input_changes_nothing(
    flash: FlashImage, updates: dict[str, SettingValue], error: type[Exception]
) -> None:
    store = flash.settings()
    store.save({"keep": "me"})
    before = _nvs_bytes(flash)
    with pytest.raises(error):
        store.save(updates)
    assert _nvs_bytes(flash) == before


def test_settings_that_do_not_fit_change_nothing(flash: FlashImage) -> None:
    store = flash.settings()
    store.save({"keep": "me"})
    before = _nvs_bytes(flash)
    with pytest.raises(NvsError, match=r"need 16 NVS pages but only 13 are free"):
        store.save({"huge": b"\x00" * 60_000})
    assert _nvs_bytes(flash) == before
    store.save({"big": b"\x01" * 20_000})  # six pages: fits beside the current generation
    assert store.load()["big"] == b"\x01" * 20_000


def test_erase_and_unchanged_saves(flash: FlashImage) -> None:
    store = flash.settings()
    store.save({"a": 1})
    before = _nvs_bytes(flash)
    store.save({"a": 1, "gone": None})
    assert _nvs_bytes(flash) == before  # nothing changed, nothing written
    store.erase()
    assert store.load() == {}
    assert read_items(_nvs_bytes(flash)) == []


def test_region_checks(flash: FlashImage) -> None:
    with pytest.raises(NvsError, match="whole pages"):
        NvsSettingsStore(flash.device, flash.nvs.offset + 1, 0x3000)
    with pytest.raises(ValueError, match="setting key"):
        NvsSettingsStore(flash.device, flash.nvs.offset, 0x3000, namespace="n" * 16)


def test_generation_rule_ignores_uncommitted_and_retired_pages() -> None:
    old = encode_partition([NvsItem("ns", "v", ItemType.I32, 1)], 0x3000)[:0x1000]
    new_items = [NvsItem("ns", "v", ItemType.I32, 2)]
    uncommitted = b"\xff" * 4 + encode_pages(new_items, first_seq=1)[0][4:]
    data = old + uncommitted + b"\xff" * 0x1000
    gen = current_generation(page_headers(data))
    assert [p.index for p in gen] == [0]
    committed = encode_pages(new_items, first_seq=1)[0]
    data = old + committed + b"\xff" * 0x1000
    assert [p.index for p in current_generation(page_headers(data))] == [1]


values = st.one_of(
    st.integers(-(2**31), 2**31 - 1),
    st.text(max_size=40).filter(lambda s: "\x00" not in s),
    st.binary(max_size=300),
)
key_names = st.sampled_from(["a", "b", "ssid", "pwd", "mode", "x_y_z", "k" * 15])


@settings(max_examples=25, deadline=None)
@given(st.lists(st.dictionaries(key_names, st.none() | values, max_size=4), max_size=8))
def test_store_behaves_like_a_dict(
    tmp_path_factory: pytest.TempPathFactory,
    esp32: FlashLayout,
    batches: list[dict[str, SettingValue | None]],
) -> None:
    path: Path = tmp_path_factory.mktemp("nvs") / "f.flash"
    with FlashImage.open(path, esp32, durable=False) as flash:
        store = flash.settings()
        model: dict[str, SettingValue] = {}
        for batch in batches:
            store.save(batch)
            for key, value in batch.items():
                if value is None:
                    model.pop(key, None)
                else:
                    model[key] = value
            assert store.load() == model
