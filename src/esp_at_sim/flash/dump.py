"""A real module's flash, in and out: ``esp-at-sim flash import`` and ``flash export``.

A flash file of ours is already what ``esptool read_flash 0 0x400000`` reads from a
module: the whole flash, byte for byte, with the partition table at 0x8000. So importing
a dump checks that it is one (the size, a partition table at 0x8000 that is one of the
supported ESP-AT layouts, a valid app image for that chip in an app slot, a readable NVS
partition) and takes it as it is; exporting copies a flash file with the bootloader
region (below the partition table) erased, since esp-at-sim has no bootloader to give,
or with one the user supplies, so that ``esptool write_flash 0x0 DUMP`` writes it.

Settings need no conversion either way: they live in the NVS partition where the
firmware keeps them (the Wi-Fi configuration in ESP-IDF's own namespace ``nvs.net80211``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from esp_at_sim.flash.boot import boot, verify_partition
from esp_at_sim.flash.errors import FlashError
from esp_at_sim.flash.flashfile import (
    BUILTIN_LAYOUTS,
    FLASH_SIZE,
    FlashImage,
    FlashLayout,
    load_layout,
)
from esp_at_sim.flash.flashio import MemoryFlashDevice
from esp_at_sim.flash.image import CHIPS, parse_image
from esp_at_sim.flash.partitions import TABLE_LENGTH, TABLE_OFFSET, decode_table

# Where each chip's second-stage bootloader sits (esptool's default addresses).
BOOTLOADER_OFFSET = {"esp32": 0x1000, "esp32c3": 0x0}


class DumpError(FlashError, ValueError):
    """A file that is not a flash dump of a supported module (or cannot be written as one)."""


@dataclass(frozen=True)
class DumpReport:
    """What ``flash import`` found in a dump."""

    layout: str
    chip: str
    boots: str  # "ota_0, v4.0.0.0" or why nothing would boot
    apps: list[str] = field(default_factory=list)  # one line per valid app slot
    settings: int = 0  # NVS items, every namespace
    damage: list[str] = field(default_factory=list)


def _matching_layout(data: bytes, name: str) -> FlashLayout:
    raw = data[TABLE_OFFSET : TABLE_OFFSET + TABLE_LENGTH]
    try:
        found = decode_table(raw, flash_size=len(data)).table
    except FlashError as exc:
        raise DumpError(
            f"{name}: no partition table at {TABLE_OFFSET:#x} ({exc.reason}): not a flash dump, "
            "or one of a module with flash encryption"
        ) from exc
    if not found.partitions:
        raise DumpError(
            f"{name}: no partition table at {TABLE_OFFSET:#x} (erased): not a flash dump"
        )
    for candidate in BUILTIN_LAYOUTS:
        layout = load_layout(candidate)
        holder = layout.at_customize
        custom = data[holder.offset : holder.offset + TABLE_LENGTH]
        if raw == layout.primary_bin and custom == layout.custom_bin:
            return layout
    rows = ", ".join(f"{p.name}@{p.offset:#x}" for p in found.partitions)
    raise DumpError(
        f"{name}: its partition tables ({rows}) are not those of a supported layout "
        f"({', '.join(BUILTIN_LAYOUTS)}: ESP-AT's default module_config)"
    )


def check_dump(data: bytes, name: str) -> DumpReport:
    """Check that ``data`` is a whole flash dump of a supported ESP-AT module."""
    if len(data) != FLASH_SIZE:
        raise DumpError(
            f"{name}: {len(data)} bytes; a dump of a supported module is the whole 4 MB flash "
            f"({FLASH_SIZE} bytes: esptool read_flash 0 {FLASH_SIZE:#x} FILE)"
        )
    layout = _matching_layout(data, name)
    flash = FlashImage(Path(name), MemoryFlashDevice(data), layout)
    apps = []
    for slot in flash.slots:
        try:
            desc = verify_partition(flash, slot, for_boot=True).descriptor
        except FlashError:
            continue
        if desc is not None:
            apps.append(f"{slot.name}: {desc.version} ({desc.project_name}, {desc.idf_ver})")
    if not apps:
        raise DumpError(
            f"{name}: no valid {CHIPS[layout.chip].title} app image in "
            f"{', '.join(s.name for s in flash.slots)}: not a dump of an ESP-AT module"
        )
    try:
        result = boot(flash, dry_run=True)
        boots = f"{result.slot}, {result.version}"
    except FlashError as exc:
        boots = f"nothing: {exc.reason}"
    try:
        store = flash.settings()
        items = store.items()
    except FlashError as exc:
        raise DumpError(f"{name}: its NVS partition cannot be read: {exc.reason}") from exc
    damage = [str(d) for d in store.damage]
    return DumpReport(layout.name, layout.chip, boots, apps, len(items), damage)


def _write_new(target: Path, data: bytes, *, replace: bool) -> None:
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "xb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if replace:
            os.replace(tmp, target)
        else:
            os.link(tmp, target)  # FileExistsError instead of replacing
    finally:
        tmp.unlink(missing_ok=True)


def import_dump(source: str | os.PathLike[str], target: str | os.PathLike[str]) -> DumpReport:
    """Check the dump ``source`` and make it the flash file ``target`` (never replaced)."""
    src, dst = Path(source), Path(target)
    size = src.stat().st_size
    if size != FLASH_SIZE:  # before reading a file of any size into memory
        raise DumpError(
            f"{src}: {size} bytes; a dump of a supported module is the whole 4 MB flash "
            f"({FLASH_SIZE} bytes: esptool read_flash 0 {FLASH_SIZE:#x} FILE)"
        )
    data = src.read_bytes()
    report = check_dump(data, str(src))
    if dst.exists():
        raise DumpError(f"{dst} exists; not replacing it")
    _write_new(dst, data, replace=False)
    return report


def export_flash(
    source: str | os.PathLike[str],
    target: str | os.PathLike[str],
    *,
    bootloader: bytes | None = None,
) -> FlashLayout:
    """Write the flash file ``source`` as a dump for ``esptool write_flash 0x0``: the
    bootloader region erased, or holding ``bootloader`` at the chip's address."""
    with FlashImage.open(source, readonly=True) as flash:
        data = bytearray(flash.device.read(0, flash.device.size))
        layout = flash.layout
    data[:TABLE_OFFSET] = b"\xff" * TABLE_OFFSET
    if bootloader is not None:
        at = BOOTLOADER_OFFSET[layout.chip]
        try:
            header = parse_image(bootloader).header
        except FlashError as exc:
            raise DumpError(f"the bootloader is not an ESP image: {exc.reason}") from exc
        if header.chip_id != CHIPS[layout.chip].chip_id:
            raise DumpError(f"the bootloader is not for {CHIPS[layout.chip].title}")
        if at + len(bootloader) > TABLE_OFFSET:
            raise DumpError(
                f"the bootloader ({len(bootloader)} bytes at {at:#x}) runs into the partition "
                f"table at {TABLE_OFFSET:#x}"
            )
        data[at : at + len(bootloader)] = bootloader
    _write_new(Path(target), bytes(data), replace=True)
    return layout
