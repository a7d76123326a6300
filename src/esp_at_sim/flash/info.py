"""Plain-text reports for ``esp-at-sim image info FILE`` and ``esp-at-sim flash info FILE``.

Both only read: ``flash info`` predicts the boot with a dry run, so inspecting a file
never changes it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Iterable
from pathlib import Path

from esp_at_sim.core.settings import Settings
from esp_at_sim.flash.boot import boot, read_otadata, verify_partition
from esp_at_sim.flash.errors import FlashError, ImageError
from esp_at_sim.flash.flashfile import FlashImage
from esp_at_sim.flash.image import (
    CHIPS,
    SPI_MODES,
    SPI_SIZES,
    SPI_SPEEDS,
    AppDescriptor,
    AppImage,
    Chip,
    parse_image,
    verify_image,
)
from esp_at_sim.flash.mfg import MFG_PARTITION, MfgNvs
from esp_at_sim.flash.nvs import NvsItem
from esp_at_sim.flash.nvs_store import NAMESPACE_NOTES, OTHER_NAMESPACE
from esp_at_sim.flash.otadata import OtaEntry, state_name
from esp_at_sim.flash.partitions import PartitionTable

# What the module's settings codec says of the stored settings: one line per bad value.
SettingsCheck = Callable[[Settings], Iterable[object]]
SECRET_SHOWN = "***"  # a stored secret, unless `flash info --show-secrets`


def _size(n: int) -> str:
    return f"{n // 1024} KiB" if n % 1024 == 0 else f"{n} B"


def _rev(full: int) -> str:
    return f"v{full // 100}.{full % 100}"


def _descriptor_lines(desc: AppDescriptor | None, indent: str = "  ") -> list[str]:
    if desc is None:
        return [f"{indent}app descriptor: missing (no 0xABCD5432 magic at offset 0x20)"]
    return [
        f"{indent}version:        {desc.version}",
        f"{indent}project name:   {desc.project_name}",
        f"{indent}compiled:       {desc.date} {desc.time}",
        f"{indent}ESP-IDF:        {desc.idf_ver}",
        f"{indent}ELF SHA-256:    {desc.elf_sha256.hex()}",
        f"{indent}secure version: {desc.secure_version}",
    ]


def _chip_for(image: AppImage) -> Chip | None:
    return next((c for c in CHIPS.values() if c.chip_id == image.header.chip_id), None)


def render_image_info(data: bytes, *, name: str = "image") -> str:
    """Describe an app image file: header, segments, checksum, hash, descriptor, verdict."""
    lines = [f"{name}: {len(data)} bytes"]
    try:
        image = parse_image(data)
    except ImageError as exc:
        lines.append(f"Invalid image: {exc.reason}")
        return "\n".join(lines) + "\n"
    h = image.header
    chip = _chip_for(image)
    lines += [
        f"Chip:          {h.chip_title} (chip id {h.chip_id}), "
        f"revision {_rev(h.min_rev_full)} to "
        f"{'any' if h.max_rev_full in (0, 0xFFFF) else _rev(h.max_rev_full)}",
        f"Entry point:   {h.entry:#010x}",
        f"Flash:         mode {SPI_MODES.get(h.spi_mode, h.spi_mode)}, "
        f"speed {SPI_SPEEDS.get(h.spi_speed, h.spi_speed)}, "
        f"size {SPI_SIZES.get(h.spi_size, h.spi_size)}, WP pin {h.wp_pin:#04x}",
        f"Segments:      {h.segment_count}",
    ]
    lines.append("  #  load addr   offset      length    memory")
    for seg in image.segments:
        region = chip.region(seg.load_addr) if chip else "?"
        lines.append(
            f"  {seg.index:<2} {seg.load_addr:#010x}  {seg.data_offset:#010x}  "
            f"{seg.length:#08x}  {region}"
        )
    verdict = "valid" if image.checksum_ok else f"INVALID (computed 0x{image.checksum_calc:02x})"
    lines.append(f"Checksum:      0x{image.checksum:02x} {verdict}")
    if image.sha256 is None:
        lines.append("SHA-256:       not appended")
    else:
        state = "valid" if image.sha256_ok else "INVALID"
        lines.append(f"SHA-256:       {image.sha256.hex()} {state}")
    lines.append(f"Image length:  {image.length} bytes")
    lines.append("App descriptor:")
    lines += _descriptor_lines(image.descriptor)
    if chip is None:
        lines.append(f"Verdict:       not bootable here (unsupported {h.chip_title})")
    else:
        try:
            verify_image(data, chip=chip, for_boot=True)
            lines.append(f"Verdict:       valid {chip.title} app image")
        except ImageError as exc:
            lines.append(f"Verdict:       INVALID: {exc.reason}")
    return "\n".join(lines) + "\n"


def _table_lines(table: PartitionTable) -> list[str]:
    lines = ["  name              type  subtype    offset    size"]
    for p in table.partitions:
        flags = " ".join(f for f in ("encrypted", "readonly") if getattr(p, f))
        lines.append(
            f"  {p.name:<17} {p.type_name:<5} {p.subtype_name:<10} 0x{p.offset:06x}  "
            f"0x{p.size:06x}  {_size(p.size):>9} {flags}".rstrip()
        )
    return lines


def _entry_line(index: int, entry: OtaEntry, slots: int) -> str:
    if entry.is_blank:
        return f"  sector {index}: blank"
    crc = "crc ok" if entry.crc_ok else f"BAD crc {entry.crc:#010x}"
    target = f" -> ota_{entry.slot(slots)}" if slots and entry.crc_ok else ""
    return f"  sector {index}: seq {entry.seq}, state {state_name(entry.state)}, {crc}{target}"


def _value(item: NvsItem) -> str:
    if isinstance(item.value, bytes):
        shown = item.value[:32].hex()
        return f"<{len(item.value)} bytes> {shown}{'...' if len(item.value) > 32 else ''}"
    return repr(item.value) if isinstance(item.value, str) else str(item.value)


def _boot_lines(flash: FlashImage) -> list[str]:
    if flash.layout.primary.otadata is None:
        return ["otadata: none in the partition table"]
    lines = [f"otadata ({flash.otadata.offset:#x}):"]
    lines += [_entry_line(i, e, len(flash.slots)) for i, e in enumerate(read_otadata(flash))]
    try:
        result = boot(flash, dry_run=True)
    except FlashError as exc:
        return [*lines, f"Boot slot: none: {exc.reason}"]
    note = f" (rolled back from {result.selected})" if result.rolled_back else ""
    return [*lines, f"Boot slot: {result.slot} at {result.offset:#x}, {result.version}{note}"]


def _slot_lines(flash: FlashImage) -> list[str]:
    lines = ["App slots:"]
    for slot in flash.slots:
        try:
            desc = verify_partition(flash, slot, for_boot=True).descriptor
            assert desc is not None
            state = f"valid, {desc.version} ({desc.project_name}, {desc.date} {desc.time}, "
            state += f"{desc.idf_ver})"
        except ImageError as exc:
            state = f"invalid: {exc.reason}"
        lines.append(f"  {slot.name} at {slot.offset:#x}: {state}")
    return lines


def _settings_lines(
    flash: FlashImage, secrets: Collection[str], check: SettingsCheck | None
) -> list[str]:
    try:
        lines = [f"Settings (NVS at {flash.nvs.offset:#x}):"]
        store = flash.settings()
        items = store.items()
    except FlashError as exc:
        return [f"Settings: unreadable: {exc.reason}"]
    lines += [
        f"  {i.namespace}.{i.key} = {SECRET_SHOWN if i.key in secrets else _value(i)} "
        f"({i.type.name})"
        for i in items
    ]
    if not items:
        lines.append("  (none)")
    namespaces = sorted({i.namespace for i in items}, key=lambda n: (n not in NAMESPACE_NOTES, n))
    if namespaces:
        lines.append("Namespaces (docs/nvs-settings.md names each setting's key and source):")
        lines += [f"  {n}: {NAMESPACE_NOTES.get(n, OTHER_NAMESPACE)}" for n in namespaces]
    bad = list(check(store.load())) if check is not None else []
    if bad:
        lines.append("Bad settings (the module ignores them and uses the default):")
        lines += [f"  {problem}" for problem in bad]
    if store.damage:
        lines.append("NVS damage (read as ESP-IDF does; dropped at the next save):")
        lines += [f"  {d}" for d in store.damage]
    return lines


def _mfg_value(item: NvsItem) -> str:
    """A PKI file as its PEM label (a key's bytes are never shown), other values as usual."""
    value = item.value
    if isinstance(value, bytes) and value.startswith(b"-----BEGIN "):
        label = value[11 : value.find(b"-----", 11)].decode("ascii", "replace")
        return f"<{len(value)} bytes: PEM {label}>"
    if isinstance(value, bytes) and item.namespace.endswith("_key"):
        return f"<{len(value)} bytes>"
    return _value(item)


def _mfg_lines(flash: FlashImage) -> list[str]:
    part = flash.partition(MFG_PARTITION)
    if part is None:
        return []
    try:
        mfg = MfgNvs(flash.device, part.offset, part.size)
        items = mfg.items()
    except FlashError as exc:
        return [f"{MFG_PARTITION}: unreadable: {exc.reason}"]
    lines = [f"{MFG_PARTITION} ({part.offset:#x}; AT+SYSMFG, flash pki):"]
    lines += [f"  {i.namespace}.{i.key} = {_mfg_value(i)} ({i.type.name})" for i in items]
    if not items:
        lines.append("  (none)")
    if mfg.damage:
        lines.append(f"{MFG_PARTITION} damage (read as ESP-IDF does):")
        lines += [f"  {d}" for d in mfg.damage]
    return lines


def render_flash_info(
    path: str | os.PathLike[str],
    *,
    secrets: Collection[str] = (),
    check: SettingsCheck | None = None,
) -> str:
    """Describe a flash file: tables, otadata, the slot that would boot, slots, settings
    (the values of the keys named in ``secrets`` masked; the stored values ``check``
    refuses listed, with its reason)."""
    with FlashImage.open(Path(path), readonly=True) as flash:
        layout = flash.layout
        lines = [f"{flash.path}: {_size(flash.device.size)} flash, chip {CHIPS[flash.chip].title}"]
        lines.append("Partition table (0x8000):")
        lines += _table_lines(layout.primary)
        holder = layout.primary.find("at_customize")
        if holder is not None:
            lines.append(f"at_customize table ({holder.offset:#x}):")
            lines += _table_lines(layout.custom) if layout.custom.partitions else ["  (none)"]
        lines += _boot_lines(flash) + _slot_lines(flash) + _settings_lines(flash, secrets, check)
        lines += _mfg_lines(flash)
    return "\n".join(lines) + "\n"
