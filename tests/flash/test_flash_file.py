"""The flash file: what a new one holds, and which files are refused (never overwritten)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from esp_at_sim.flash import FlashFileError, FlashImage, FlashLayout, PartitionTableError
from esp_at_sim.flash.boot import boot, read_otadata
from esp_at_sim.flash.errors import BootError
from esp_at_sim.flash.flashfile import (
    DEFAULT_VERSION,
    create_flash_file,
    initial_contents,
    load_layout,
)
from esp_at_sim.flash.image import verify_image
from esp_at_sim.flash.otadata import OtaEntry


def test_new_file_is_a_freshly_flashed_module(flash: FlashImage, esp32: FlashLayout) -> None:
    raw = flash.path.read_bytes()
    assert len(raw) == 4 * 1024 * 1024
    assert raw[:0x8000] == b"\xff" * 0x8000  # bootloader area erased
    assert raw[0x8000:0x8C00] == esp32.primary_bin
    assert raw[0x20000:0x20C00] == esp32.custom_bin
    assert raw[0x10000:0x12000] == b"\xff" * 0x2000  # otadata blank
    assert raw[0x12000:0x20000] == b"\xff" * 0xE000  # NVS empty
    assert raw[0x280000:0x400000] == b"\xff" * 0x180000  # ota_1 erased
    image = verify_image(raw[0x100000:0x280000], chip="esp32", partition_size=0x180000)
    assert image.descriptor is not None and image.descriptor.version == "v1.0.0"
    assert not list(flash.path.parent.glob(".*.tmp"))


def test_esp32c3_file(tmp_path: Path, esp32c3: FlashLayout) -> None:
    with FlashImage.open(tmp_path / "c3.flash", esp32c3, version="v3.3.0") as flash:
        assert flash.chip == "esp32c3"
        result = boot(flash)
        assert (result.slot, result.offset, result.version) == ("ota_0", 0x60000, "v3.3.0")
        assert result.image.header.chip_id == 5


def test_reopen_keeps_state(flash_path: Path, esp32: FlashLayout) -> None:
    with FlashImage.open(flash_path, esp32, version="v1") as flash:
        boot(flash)
        flash.settings().save({"k": "v"})
    with FlashImage.open(flash_path, esp32, version="ignored") as flash:
        assert flash.settings().load() == {"k": "v"}
        assert read_otadata(flash)[0] == OtaEntry.make(1, 2)
        assert boot(flash).version == "v1"


def _refused(path: Path, layout: FlashLayout, pattern: str) -> None:
    before = path.read_bytes()
    stamp = os.stat(path).st_mtime_ns
    with pytest.raises(FlashFileError, match=pattern):
        FlashImage.open(path, layout)
    assert path.read_bytes() == before and os.stat(path).st_mtime_ns == stamp


def test_refuses_a_file_that_is_not_a_flash_image(tmp_path: Path, esp32: FlashLayout) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("my shopping list\n")
    _refused(text, esp32, r"is not a flash image for layout esp32: it has 17 bytes")
    zeros = tmp_path / "zeros.bin"
    zeros.write_bytes(bytes(4 * 1024 * 1024))
    _refused(zeros, esp32, r"no valid partition table at 0x8000 \(row 0: bad magic 0000")


def test_refuses_another_layout(tmp_path: Path, esp32: FlashLayout, esp32c3: FlashLayout) -> None:
    path = tmp_path / "c3.flash"
    FlashImage.open(path, esp32c3).close()
    _refused(path, esp32, r"holds a different partition layout than esp32; first difference")
    with FlashImage.open(path, esp32c3) as flash:  # still perfectly good for its own layout
        assert boot(flash).slot == "ota_0"


def test_refuses_a_damaged_table(flash: FlashImage, esp32: FlashLayout) -> None:
    pristine = flash.path.read_bytes()
    for at, pattern in [
        (
            0x8000 + 32 * 2 + 8,
            r"no valid partition table at 0x8000 \(partition 'at_customize' at "
            r"0x20000 overlaps 'nvs'",
        ),  # nvs size 0xe001
        (0x8000 + 32 * 2 + 12, "different partition layout than esp32; first difference: mvs"),
        (0x8000 + 32 * 6, r"no valid partition table at 0x8000 \(row 6: bad magic fcff"),
        (0x20000 + 40, "different at_customize table"),  # its MD5 no longer matches
    ]:
        raw = bytearray(pristine)
        raw[at] ^= 0x03
        flash.path.write_bytes(bytes(raw))
        _refused(flash.path, esp32, pattern)


def test_create_never_replaces(flash_path: Path, esp32: FlashLayout) -> None:
    flash_path.write_bytes(b"precious")
    with pytest.raises(FileExistsError):
        create_flash_file(flash_path, esp32)
    assert flash_path.read_bytes() == b"precious"
    assert not list(flash_path.parent.glob(".*.tmp"))


def test_missing_file_without_create(tmp_path: Path, esp32: FlashLayout) -> None:
    with pytest.raises(FlashFileError, match="does not exist"):
        FlashImage.open(tmp_path / "nope.flash", esp32, create=False)


def test_directory_layout(tmp_path: Path) -> None:
    folder = tmp_path / "module"
    folder.mkdir()
    (folder / "partitions_at.csv").write_text(
        "otadata, data, ota, 0xd000, 0x2000\nnvs, data, nvs, 0x10000, 0xE000\n"
        "at_customize, 0x40, 0, 0x1E000, 0x42000\n"
        "factory, app, factory, 0x60000, 0x100000\nota_0, app, ota_0, , 0x100000\n"
    )
    (folder / "at_customize.csv").write_text("fs, data, fat, 0x1F000, 0x10000\n")
    layout = load_layout(folder, chip="esp32c3")
    assert layout.chip == "esp32c3" and layout.primary.get("ota_0").offset == 0x160000
    with FlashImage.open(tmp_path / "f.flash", layout, version="vF") as flash:
        result = boot(flash)
        assert (result.slot, result.version) == ("factory", "vF")
        assert read_otadata(flash) == (OtaEntry(), OtaEntry())  # factory boot: no record


def test_bad_layouts(tmp_path: Path) -> None:
    with pytest.raises(FlashFileError, match="neither esp32 nor esp32c3 nor a directory"):
        load_layout(tmp_path / "absent")
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "partitions_at.csv").write_text("# x\nnvs, data, nvs, 0x9000, 0x6000\nbad, app\n")
    (folder / "at_customize.csv").write_text("")
    with pytest.raises(PartitionTableError, match=r"partitions_at.csv line 3: the subtype|line 3"):
        load_layout(folder)
    (folder / "partitions_at.csv").write_text("nvs, data, nvs, 0x9000, 0x6000\n")
    with pytest.raises(PartitionTableError, match="no at_customize partition"):
        load_layout(folder)
    with pytest.raises(FlashFileError, match="unknown chip 'esp8266'"):
        load_layout("esp32", chip="esp8266")


def test_open_without_layout_reads_the_files_own(flash: FlashImage) -> None:
    with FlashImage.open(flash.path, readonly=True) as seen:
        assert seen.layout.primary == flash.layout.primary
        assert seen.layout.custom == flash.layout.custom
        with pytest.raises(PermissionError):
            seen.settings().save({"a": 1})


def test_in_memory_flash_is_nor_flash_over_a_shared_image(esp32: FlashLayout) -> None:
    one = FlashImage.in_memory(esp32)
    two = FlashImage.in_memory(esp32)
    pristine = one.device.read(0, esp32.flash_size)
    assert pristine == initial_contents(esp32, DEFAULT_VERSION)
    at = one.nvs.offset + 0xFF0  # a write across a sector boundary
    one.device.program(at, b"\x0f" * 32)
    one.device.program(at, b"\xf5" * 32)  # bits only clear: old AND new
    assert one.device.read(at, 32) == b"\x05" * 32
    assert two.device.read(0, esp32.flash_size) == pristine  # the shared image is untouched
    one.device.erase(one.nvs.offset, 0x2000)
    assert one.device.read(0, esp32.flash_size) == pristine
    slot = one.slots[0].offset
    one.device.erase(slot, 0x1000)
    assert one.device.read(slot - 2, 4) == pristine[slot - 2 : slot] + b"\xff\xff"
    one.device.sync()
    one.close()
    two.close()


def test_in_memory_flash_keeps_a_written_sector_without_its_erased_tail(
    esp32: FlashLayout,
) -> None:
    one = FlashImage.in_memory(esp32)
    pristine = one.device.read(0, esp32.flash_size)
    at = one.otadata.offset
    entry = OtaEntry.make(1, 2).encode()
    one.device.erase(at, 0x1000)
    one.device.program(at, entry)
    stored = one.device._sectors[at // 0x1000]  # type: ignore[attr-defined]
    assert stored == entry.rstrip(b"\xff")  # 32 bytes kept, not 4 KiB
    assert one.device.read(at, 0x1000) == entry + b"\xff" * (0x1000 - len(entry))
    # a sector that ends in written bytes, one that is all 0xFF, one across the boundary
    one.device.write_raw(at + 0xFFE, b"\x00\x01\x02\x03")
    assert one.device.read(at + 0xFFC, 8) == b"\xff\xff\x00\x01\x02\x03\xff\xff"
    assert one.device.read(at, 32) == entry
    one.device.erase(at, 0x2000)
    assert one.device.read(0, esp32.flash_size) == pristine
    one.close()


def test_in_memory_flashes_share_verification_only_of_untouched_slots(
    esp32: FlashLayout,
) -> None:
    one = FlashImage.in_memory(esp32)
    two = FlashImage.in_memory(esp32)
    first = boot(one)
    assert boot(two).image is first.image  # verified once for both
    slot = one.slots[0]
    assert one.device.shared_memo(slot.offset, slot.size) is not None
    one.device.program(slot.offset + 0x18, b"\x00")  # damage one module's image only
    assert one.device.shared_memo(slot.offset, slot.size) is None
    with pytest.raises(BootError):
        boot(one)
    assert boot(two).version == first.version
    one.close()
    two.close()
