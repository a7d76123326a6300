"""The text reports behind `image info` and `flash info`."""

from __future__ import annotations

from pathlib import Path

import pytest

from esp_at_sim.flash import (
    FlashFileError,
    FlashImage,
    begin_update,
    boot,
    build_app_image,
    mark_valid,
)
from esp_at_sim.flash.boot import BootResult
from esp_at_sim.flash.info import render_flash_info, render_image_info


def test_image_info_of_a_valid_image() -> None:
    text = render_image_info(build_app_image("v4.0.1.0", size=4096), name="app.bin")
    assert text.startswith("app.bin: 4096 bytes\n")
    assert "Chip:          ESP32 (chip id 0), revision v0.0 to v3.99" in text
    assert "Flash:         mode DIO, speed 40m, size 4MB, WP pin 0xee" in text
    assert "  0  0x3f400020  0x00000020" in text and "DROM" in text
    assert "Checksum:      0x" in text and "valid" in text.split("Checksum:")[1]
    assert "SHA-256:" in text and "INVALID" not in text
    assert "version:        v4.0.1.0" in text and "project name:   esp-at" in text
    assert text.rstrip().endswith("Verdict:       valid ESP32 app image")


def test_image_info_of_damaged_images() -> None:
    data = bytearray(build_app_image("v1", chip="esp32c3"))
    data[0x100] ^= 1
    text = render_image_info(bytes(data))
    assert "ESP32-C3 (chip id 5)" in text
    assert "INVALID (computed" in text and "SHA-256:" in text and " INVALID\n" in text
    assert "Verdict:       INVALID: checksum mismatch" in text
    assert "Invalid image: bad magic 0x00" in render_image_info(b"\x00" * 100)
    assert "truncated at byte 40" in render_image_info(bytes(data[:40]))


def test_flash_info(flash: FlashImage, running: BootResult) -> None:
    flash.settings().save({"ssid": "Lab", "mode": 1, "blob": b"\x01\x02"})
    update = begin_update(flash, running)
    update.write(build_app_image("v2.0.0"))
    update.end()
    mark_valid(flash, boot(flash))
    before = flash.path.read_bytes()
    text = render_flash_info(flash.path)
    assert flash.path.read_bytes() == before  # inspecting never writes
    assert "4096 KiB flash, chip ESP32" in text
    assert "  nvs               data  nvs        0x012000  0x00e000     56 KiB" in text
    assert "  fs_storage        data  0xff       0x070000  0x090000    576 KiB" in text
    assert "  sector 0: seq 1, state VALID, crc ok -> ota_0" in text
    assert "  sector 1: seq 2, state VALID, crc ok -> ota_1" in text
    assert "Boot slot: ota_1 at 0x280000, v2.0.0" in text
    assert "  ota_0 at 0x100000: valid, v1.0.0 (esp-at, Jan  1 2025 00:00:00, v5.0.0)" in text
    assert "  esp_at_sim.ssid = 'Lab' (SZ)" in text
    assert "  esp_at_sim.mode = 1 (I32)" in text
    assert "  esp_at_sim.blob = <2 bytes> 0102 (BLOB)" in text


def test_flash_info_of_a_module_that_cannot_boot(flash: FlashImage) -> None:
    flash.device.erase(flash.slots[0].offset, 0x1000)
    text = render_flash_info(flash.path)
    assert "  sector 0: blank" in text
    assert "Boot slot: none: no bootable app partition (ota_0: bad magic 0xff" in text
    assert "  ota_1 at 0x280000: invalid: bad magic 0xff" in text
    assert "Settings (NVS at 0x12000):\n  (none)" in text


def test_flash_info_refuses_other_files(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_bytes(b"\x00" * 0x9000)
    with pytest.raises(FlashFileError, match=r"is not a flash image: row 0: bad magic 0000"):
        render_flash_info(notes)
