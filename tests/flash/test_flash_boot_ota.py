"""Boot selection, rollback, the OTA writer and raw AT+SYSFLASH access."""

from __future__ import annotations

import pytest

from esp_at_sim.flash import (
    BootError,
    FlashAccessError,
    FlashImage,
    ImageError,
    OtaError,
    begin_update,
    boot,
    build_app_image,
    mark_valid,
    rollback,
    rollback_info,
)
from esp_at_sim.flash.boot import BootResult, read_otadata, set_boot_partition
from esp_at_sim.flash.image import encode_image
from esp_at_sim.flash.ota import sysflash_erase, sysflash_read, sysflash_write, user_partitions
from esp_at_sim.flash.otadata import OtaEntry, OtaState

V2 = build_app_image("v2.0.0", size=200_000)


def upload(flash: FlashImage, running: BootResult, data: bytes, target: str | None = None) -> None:
    update = begin_update(flash, running, target)
    for at in range(0, len(data), 320):  # ESP-AT reads the body 320 bytes at a time
        update.write(data[at : at + 320])
    update.end()


def otadata_bytes(flash: FlashImage) -> bytes:
    return flash.read_partition(flash.otadata)


def test_first_boot_records_ota_0(flash: FlashImage) -> None:
    assert read_otadata(flash) == (OtaEntry(), OtaEntry())
    result = boot(flash)
    assert (result.slot, result.offset, result.version) == ("ota_0", 0x100000, "v1.0.0")
    assert result.app.project_name == "esp-at" and not result.rolled_back
    assert read_otadata(flash)[0] == OtaEntry.make(1, OtaState.VALID)
    assert result.ota_state == OtaState.VALID


def test_update_confirmed_stays(flash: FlashImage, running: BootResult) -> None:
    upload(flash, running, V2)
    assert read_otadata(flash)[1] == OtaEntry.make(2, OtaState.NEW)
    assert boot(flash, dry_run=True).slot == "ota_1"
    assert read_otadata(flash)[1].state == OtaState.NEW  # the dry run wrote nothing
    new = boot(flash)
    assert (new.slot, new.version, new.ota_state) == ("ota_1", "v2.0.0", OtaState.PENDING_VERIFY)
    assert mark_valid(flash, new) and not mark_valid(flash, new)
    again = boot(flash)
    assert (again.slot, again.ota_state, again.rolled_back) == ("ota_1", OtaState.VALID, False)


def test_unconfirmed_update_rolls_back(flash: FlashImage, running: BootResult) -> None:
    upload(flash, running, V2)
    assert boot(flash).slot == "ota_1"  # new image runs but never calls mark_valid
    back = boot(flash)
    assert (back.slot, back.version, back.rolled_back) == ("ota_0", "v1.0.0", True)
    assert back.selected == "ota_1" and back.aborted == ("ota_1",)
    assert read_otadata(flash)[1].state == OtaState.ABORTED
    assert boot(flash).rolled_back is False  # settled on ota_0


def test_failing_slot_is_skipped(flash: FlashImage, running: BootResult) -> None:
    upload(flash, running, V2)
    flash.device.program(flash.slots[1].offset + 0x1000, b"\x00" * 16)  # bits rot in flash
    result = boot(flash)
    assert (result.slot, result.rolled_back) == ("ota_0", True)
    assert [f.slot for f in result.failures] == ["ota_1"]
    assert "mismatch" in result.failures[0].reason  # checksum or SHA-256
    assert not mark_valid(flash, result)  # otadata names ota_1: nothing to confirm


def test_nothing_bootable(flash: FlashImage) -> None:
    flash.device.erase(flash.slots[0].offset, 0x1000)
    with pytest.raises(BootError, match=r"ota_0: bad magic 0xff.*ota_1: bad magic 0xff"):
        boot(flash)


def test_rollback_command(flash: FlashImage, running: BootResult) -> None:
    info = rollback_info(flash, running)
    assert (info.running.name, info.target.name, info.target_version) == ("ota_0", "ota_1", None)
    before = otadata_bytes(flash)
    with pytest.raises(OtaError, match="cannot roll back: ota_1 holds no valid image"):
        rollback(flash, running)
    assert otadata_bytes(flash) == before
    upload(flash, running, V2)
    new = boot(flash)
    mark_valid(flash, new)
    assert rollback_info(flash, new).target_version == "v1.0.0"
    assert rollback(flash, new).name == "ota_0"
    old = boot(flash)
    assert (old.slot, old.version, old.ota_state) == ("ota_0", "v1.0.0", OtaState.PENDING_VERIFY)


def test_set_boot_partition_verifies_first(flash: FlashImage, running: BootResult) -> None:
    before = otadata_bytes(flash)
    with pytest.raises(ImageError, match="bad magic 0xff"):
        set_boot_partition(flash, flash.slots[1])
    assert otadata_bytes(flash) == before


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"\x00" + V2[1:], "bad magic 0x00"),
        (V2[: len(V2) // 2], "truncated: 100000 bytes arrived, truncated at byte 100000"),
        (V2[:-40] + b"\x00" * 40, "SHA-256 mismatch|checksum mismatch"),
        (V2[:5000] + bytes([V2[5000] ^ 0x20]) + V2[5001:], "checksum mismatch"),
        (build_app_image("v9", chip="esp32c3"), r"image is for ESP32-C3 \(chip id 5\)"),
        (encode_image([(0x3F400020, b"\x00" * 256)]), "app descriptor magic missing"),
    ],
)
def test_bad_uploads_change_nothing(
    flash: FlashImage, running: BootResult, data: bytes, reason: str
) -> None:
    before = otadata_bytes(flash)
    update = begin_update(flash, running)
    with pytest.raises(ImageError, match=reason):
        update.write(data[:320])
        for at in range(320, len(data), 320):
            update.write(data[at : at + 320])
        update.end()
    update.abort()
    assert otadata_bytes(flash) == before
    result = boot(flash)
    assert (result.slot, result.version, result.rolled_back) == ("ota_0", "v1.0.0", False)


def test_oversized_upload_is_refused(flash: FlashImage, running: BootResult) -> None:
    update = begin_update(flash, running)
    slot = update.partition
    update.write(V2[:320])
    update.write(b"\x00" * (slot.size - 320))
    with pytest.raises(OtaError, match=r"data past the end of ota_1 \(1572865 > 1572864 bytes\)"):
        update.write(b"\x00")
    assert update.written == slot.size
    update.abort()
    with pytest.raises(OtaError, match="already finished"):
        update.write(b"x")
    assert boot(flash).slot == "ota_0"


def test_abort_keeps_running_image_and_selection(flash: FlashImage, running: BootResult) -> None:
    before = otadata_bytes(flash)
    running_slot = flash.read_partition(flash.slots[0])
    update = begin_update(flash, running)
    update.write(V2[:100_000])
    update.abort()
    assert otadata_bytes(flash) == before
    assert flash.read_partition(flash.slots[0]) == running_slot


def test_update_refusals(flash: FlashImage, running: BootResult) -> None:
    with pytest.raises(OtaError, match="ota_0 holds the running firmware"):
        begin_update(flash, running, "ota_0")
    with pytest.raises(OtaError, match="no partition named 'ota_7'"):
        begin_update(flash, running, "ota_7")
    with pytest.raises(OtaError, match="nvs is not an OTA slot or a user partition"):
        begin_update(flash, running, "nvs")
    with pytest.raises(OtaError, match="no data was written"):
        begin_update(flash, running).end()
    upload(flash, running, V2)
    pending = boot(flash)
    with pytest.raises(OtaError, match="has not confirmed itself"):
        begin_update(flash, pending)


def test_user_partition_written_raw(flash: FlashImage, running: BootResult) -> None:
    before = otadata_bytes(flash)
    update = begin_update(flash, running, "fs_storage")
    assert not update.is_app
    update.write(b"not an image at all")
    assert update.end() is None
    assert sysflash_read(flash, "fs_storage", 0, 19) == b"not an image at all"
    assert sysflash_read(flash, "fs_storage", 19, 4) == b"\xff" * 4
    assert otadata_bytes(flash) == before


def test_sysflash(flash: FlashImage) -> None:
    assert [p.name for p in user_partitions(flash)] == ["mfg_nvs", "fs_storage"]
    sysflash_write(flash, "mfg_nvs", 0x10, b"\x0f\xf0")
    assert sysflash_read(flash, "mfg_nvs", 0x10, 2) == b"\x0f\xf0"
    sysflash_write(flash, "mfg_nvs", 0x10, b"\xff\x3c")  # flash can only clear bits
    assert sysflash_read(flash, "mfg_nvs", 0x10, 2) == b"\x0f\x30"
    sysflash_erase(flash, "mfg_nvs", 0, 0x1000)
    assert sysflash_read(flash, "mfg_nvs", 0x10, 2) == b"\xff\xff"
    sysflash_write(flash, "mfg_nvs", 0x1C000 - 4, b"tail")
    sysflash_erase(flash, "mfg_nvs")
    assert sysflash_read(flash, "mfg_nvs", 0x1C000 - 4, 4) == b"\xff" * 4
    with pytest.raises(FlashAccessError, match=r"0x1bffe\+0x4 is outside mfg_nvs \(0x1c000"):
        sysflash_write(flash, "mfg_nvs", 0x1C000 - 2, b"over")
    with pytest.raises(FlashAccessError, match="outside"):
        sysflash_read(flash, "mfg_nvs", -1, 1)
    with pytest.raises(FlashAccessError, match="must be 4 KiB aligned"):
        sysflash_erase(flash, "mfg_nvs", 0x800, 0x1000)
    with pytest.raises(FlashAccessError, match="no user partition named 'ota_0'"):
        sysflash_read(flash, "ota_0", 0, 1)
