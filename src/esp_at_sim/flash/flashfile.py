"""The module's flash file (``--flash FILE``): layouts, creation and safe reopening.

A layout is ESP-AT's pair of partition CSVs (``partitions_at.csv`` for the primary
table at 0x8000, ``at_customize.csv`` for the secondary table stored at the start of the
``at_customize`` partition) plus the chip and the flash size (4 MB). ``esp32`` and
``esp32c3`` are built in (copies of ESP-AT's ``module_config`` defaults); any directory
holding the two CSVs is a layout too.

A new flash file looks like a freshly flashed module: bootloader area and everything
unused erased (0xFF), both partition tables, blank otadata (the first boot picks
``ota_0`` and records it), empty NVS, a valid factory image carrying the module's
version in ``ota_0`` (or in ``factory``, if the layout has one). It is written to a
temporary file, fsynced and linked into place, so a crash never leaves half a file and an
existing file is never replaced. Reopening checks size and both tables against the
layout and refuses any mismatch. A module without a flash file runs on
:meth:`FlashImage.in_memory`: the same contents in memory, the freshly flashed image shared
read-only by every such module and only the sectors it writes kept per module.
"""

from __future__ import annotations

import contextlib
import functools
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from types import TracebackType

from esp_at_sim.flash.errors import FlashFileError, PartitionTableError
from esp_at_sim.flash.flashio import FlashDevice, MemoryFlashDevice
from esp_at_sim.flash.image import CHIPS, build_app_image
from esp_at_sim.flash.nvs_store import DEFAULT_NAMESPACE, NvsSettingsStore
from esp_at_sim.flash.partitions import (
    DATA,
    SUBTYPE_NAMES,
    TABLE_LENGTH,
    TABLE_OFFSET,
    TABLE_SECTOR,
    Partition,
    PartitionTable,
    decode_table,
    encode_table,
    parse_csv,
)

FLASH_SIZE = 0x400000
PRIMARY_CSV = "partitions_at.csv"
CUSTOM_CSV = "at_customize.csv"
BUILTIN_LAYOUTS = ("esp32", "esp32c3")
DEFAULT_VERSION = "v4.0.0.0"


@dataclass(frozen=True)
class FlashLayout:
    """Which partitions a module's flash holds, for which chip."""

    name: str
    chip: str
    primary: PartitionTable
    custom: PartitionTable
    flash_size: int = FLASH_SIZE

    @property
    def at_customize(self) -> Partition:
        return self.primary.get("at_customize")

    @property
    def primary_bin(self) -> bytes:
        return encode_table(self.primary, md5=False)

    @property
    def custom_bin(self) -> bytes:
        return encode_table(self.custom, md5=True)


def layout_from_csv(name: str, primary_csv: str, custom_csv: str, *, chip: str) -> FlashLayout:
    """Build and check a layout from the text of its two CSVs."""
    if chip not in CHIPS:
        raise FlashFileError(f"unknown chip {chip!r} (known: {', '.join(CHIPS)})")
    primary = parse_csv(primary_csv, source=f"{name}/{PRIMARY_CSV}", flash_size=FLASH_SIZE)
    holder = primary.find("at_customize")
    if holder is None:
        raise PartitionTableError(f"{name}/{PRIMARY_CSV}: no at_customize partition")
    custom = parse_csv(
        custom_csv, source=f"{name}/{CUSTOM_CSV}", table_offset=holder.offset, flash_size=FLASH_SIZE
    )
    for part in custom.partitions:
        if part.offset < holder.offset + TABLE_SECTOR or part.end > holder.end:
            raise PartitionTableError(
                f"{name}/{CUSTOM_CSV}: {part.name!r} lies outside the at_customize partition "
                f"({holder.offset + TABLE_SECTOR:#x}-{holder.end - 1:#x})"
            )
    layout = FlashLayout(name, chip, primary, custom)
    for role, found in (("otadata", primary.otadata), ("nvs", _nvs(primary))):
        if found is None:
            raise PartitionTableError(f"{name}/{PRIMARY_CSV}: no {role} partition")
    if not primary.ota_slots and primary.factory is None:
        raise PartitionTableError(f"{name}/{PRIMARY_CSV}: no factory or ota_N app partition")
    return layout


def load_layout(spec: str | os.PathLike[str], *, chip: str | None = None) -> FlashLayout:
    """A built-in layout by name (``esp32``, ``esp32c3``) or a directory with both CSVs.

    A built-in layout is parsed once per process and shared (a layout is immutable); a
    directory is read anew each time, as its files may change."""
    if isinstance(spec, str) and spec in BUILTIN_LAYOUTS:
        return _builtin_layout(spec, chip or spec)
    folder = Path(spec)
    try:
        primary = (folder / PRIMARY_CSV).read_text(encoding="utf-8")
        custom = (folder / CUSTOM_CSV).read_text(encoding="utf-8")
    except OSError as exc:
        raise FlashFileError(
            f"layout {str(spec)!r} is neither {' nor '.join(BUILTIN_LAYOUTS)} nor a directory "
            f"with {PRIMARY_CSV} and {CUSTOM_CSV} ({exc.strerror})"
        ) from exc
    return layout_from_csv(str(folder), primary, custom, chip=chip or "esp32")


@functools.cache
def _builtin_layout(name: str, chip: str) -> FlashLayout:
    base = resources.files("esp_at_sim").joinpath("data", "layouts", name)
    return layout_from_csv(
        name,
        base.joinpath(PRIMARY_CSV).read_text(encoding="utf-8"),
        base.joinpath(CUSTOM_CSV).read_text(encoding="utf-8"),
        chip=chip,
    )


def _nvs(table: PartitionTable) -> Partition | None:
    named = table.find("nvs")
    if named is not None and (named.type, named.subtype) == (DATA, SUBTYPE_NAMES[DATA]["nvs"]):
        return named
    return table.find_type(DATA, SUBTYPE_NAMES[DATA]["nvs"])


def initial_regions(
    layout: FlashLayout, version: str, factory_image: bytes | None = None
) -> list[tuple[int, bytes]]:
    """What a freshly flashed module holds besides erased (0xFF) bytes, as ``(offset,
    bytes)``: the two partition tables and ``factory_image`` in the first app slot (or a
    generated image carrying ``version``)."""
    slot = layout.primary.factory or layout.primary.ota_slots[0]
    image = (
        factory_image if factory_image is not None else build_app_image(version, chip=layout.chip)
    )
    if len(image) > slot.size:
        raise FlashFileError(f"the factory image ({len(image)} bytes) does not fit {slot.name}")
    return [
        (TABLE_OFFSET, layout.primary_bin),
        (layout.at_customize.offset, layout.custom_bin),
        (slot.offset, bytes(image)),
    ]


def initial_contents(
    layout: FlashLayout, version: str, factory_image: bytes | None = None
) -> bytes:
    """The bytes of a freshly flashed module for ``layout`` (``factory_image`` in the
    first app slot, or a generated image carrying ``version``)."""
    flash = bytearray(b"\xff") * layout.flash_size
    for offset, data in initial_regions(layout, version, factory_image):
        flash[offset : offset + len(data)] = data
    return bytes(flash)


@functools.lru_cache(maxsize=4)
def _shared_contents(
    layout: FlashLayout, version: str, factory_image: bytes | None
) -> tuple[bytes, dict[object, object]]:
    """A fresh flash's bytes and the memo its in-memory devices share."""
    return initial_contents(layout, version, factory_image), {}


_ERASED = b"\xff" * 0x40000  # written block by block: no 4 MiB buffer per new file


def create_flash_file(
    path: str | os.PathLike[str],
    layout: FlashLayout,
    *,
    version: str = DEFAULT_VERSION,
    factory_image: bytes | None = None,
    durable: bool = True,
) -> None:
    """Create ``path`` for ``layout``; raises :class:`FileExistsError` if it exists.
    ``durable=False`` (a throwaway file) skips the fsyncs."""
    target = Path(path)
    regions = initial_regions(layout, version, factory_image)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
    try:
        for block in range(0, layout.flash_size, len(_ERASED)):
            _write_all(fd, memoryview(_ERASED)[: layout.flash_size - block], block)
        for offset, data in regions:
            _write_all(fd, memoryview(data), offset)
        if durable:
            os.fsync(fd)
        os.close(fd)
        fd = -1
        os.link(tmp, target)  # fails instead of replacing an existing file
    finally:
        if fd >= 0:
            os.close(fd)
        tmp.unlink(missing_ok=True)
    if not durable:
        return
    dir_fd = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _write_all(fd: int, view: memoryview, offset: int) -> None:
    while view:
        done = os.pwrite(fd, view, offset)
        view = view[done:]
        offset += done


def _describe_mismatch(device: FlashDevice, layout: FlashLayout, path: str) -> str | None:
    if device.size != layout.flash_size:
        return (
            f"{path} is not a flash image for layout {layout.name}: it has {device.size} bytes, "
            f"expected {layout.flash_size}"
        )
    raw = device.read(TABLE_OFFSET, TABLE_LENGTH)
    if raw != layout.primary_bin:
        try:
            found = decode_table(raw, flash_size=device.size).table
        except PartitionTableError as exc:
            return f"{path} is not a flash image: no valid partition table at 0x8000 ({exc})"
        theirs = {(p.name, p.offset, p.size) for p in found.partitions}
        ours = {(p.name, p.offset, p.size) for p in layout.primary.partitions}
        diff = sorted(theirs ^ ours)
        detail = f"; first difference: {diff[0][0]} at {diff[0][1]:#x}" if diff else ""
        return f"{path} holds a different partition layout than {layout.name}{detail}"
    holder = layout.at_customize
    if device.read(holder.offset, TABLE_LENGTH) != layout.custom_bin:
        return f"{path} holds a different at_customize table than {layout.name}"
    return None


def layout_of_file(device: FlashDevice, name: str) -> FlashLayout:
    """Read the layout a flash file carries (for inspecting files of unknown layout)."""
    if device.size < TABLE_OFFSET + TABLE_LENGTH:
        raise PartitionTableError(
            f"{device.size} bytes is too small to hold a partition table at {TABLE_OFFSET:#x}"
        )
    primary = decode_table(device.read(TABLE_OFFSET, TABLE_LENGTH), flash_size=device.size).table
    holder = primary.find("at_customize")
    custom = PartitionTable(())
    if holder is not None:
        with contextlib.suppress(PartitionTableError):
            custom = decode_table(
                device.read(holder.offset, TABLE_LENGTH),
                flash_size=device.size,
                table_offset=holder.offset,
            ).table
    chip = "esp32"
    for slot in primary.ota_slots:
        head = device.read(slot.offset, 14)
        ids = {c.chip_id: c.name for c in CHIPS.values()}
        if head[0] == 0xE9 and int.from_bytes(head[12:14], "little") in ids:
            chip = ids[int.from_bytes(head[12:14], "little")]
            break
    return FlashLayout(name, chip, primary, custom, device.size)


class FlashImage:
    """An open flash file with its layout; every write goes through :attr:`device`."""

    __slots__ = ("device", "layout", "path")

    def __init__(self, path: Path, device: FlashDevice, layout: FlashLayout) -> None:
        self.path = path
        self.device = device
        self.layout = layout

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        layout: FlashLayout | None = None,
        *,
        version: str = DEFAULT_VERSION,
        create: bool = True,
        readonly: bool = False,
        durable: bool = True,
        factory_image: bytes | None = None,
    ) -> FlashImage:
        """Open (creating it for ``layout`` when missing and ``create``) a flash file.

        With ``layout`` the file must match it exactly, or :class:`FlashFileError` is
        raised and the file is left untouched. Without one, the file's own tables are
        used (read-only inspection).
        """
        target = Path(path)
        if layout is not None and create and not readonly and not target.exists():
            # FileExistsError: someone else created it first; verify theirs below.
            with contextlib.suppress(FileExistsError):
                create_flash_file(
                    target, layout, version=version, factory_image=factory_image, durable=durable
                )
        try:
            probe = FlashDevice.open(target, writable=False)
        except FileNotFoundError:
            raise FlashFileError(f"{target} does not exist") from None
        with probe:
            if layout is None:
                try:
                    layout = layout_of_file(probe, target.name)
                except PartitionTableError as exc:
                    raise FlashFileError(f"{target} is not a flash image: {exc}") from exc
            else:
                problem = _describe_mismatch(probe, layout, str(target))
                if problem is not None:
                    raise FlashFileError(problem + "; refusing to use it")
        device = FlashDevice.open(target, writable=not readonly, durable=durable)
        return cls(target, device, layout)

    @classmethod
    def in_memory(
        cls,
        layout: FlashLayout,
        *,
        version: str = DEFAULT_VERSION,
        factory_image: bytes | None = None,
    ) -> FlashImage:
        """A freshly flashed module's flash in memory: nothing touches the disk, and the
        initial contents are shared with every other in-memory flash of the same layout
        and factory image."""
        base, memo = _shared_contents(layout, version, factory_image)
        return cls(Path(f"<memory:{layout.name}>"), MemoryFlashDevice(base, memo), layout)

    def close(self) -> None:
        self.device.close()

    def __enter__(self) -> FlashImage:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def chip(self) -> str:
        return self.layout.chip

    @property
    def slots(self) -> tuple[Partition, ...]:
        return self.layout.primary.ota_slots

    @property
    def otadata(self) -> Partition:
        found = self.layout.primary.otadata
        if found is None:
            raise FlashFileError(f"{self.path} has no otadata partition")
        return found

    @property
    def nvs(self) -> Partition:
        found = _nvs(self.layout.primary)
        if found is None:
            raise FlashFileError(f"{self.path} has no nvs partition")
        return found

    def partition(self, name: str) -> Partition | None:
        """A partition of either table by label."""
        return self.layout.primary.find(name) or self.layout.custom.find(name)

    def read_partition(self, part: Partition, offset: int = 0, length: int | None = None) -> bytes:
        size = part.size - offset if length is None else length
        if offset < 0 or size < 0 or offset + size > part.size:
            raise ValueError(f"{offset:#x}+{size:#x} is outside partition {part.name!r}")
        return self.device.read(part.offset + offset, size)

    def settings(self, namespace: str = DEFAULT_NAMESPACE) -> NvsSettingsStore:
        """The settings store in this flash's ``nvs`` partition."""
        part = self.nvs
        return NvsSettingsStore(self.device, part.offset, part.size, namespace=namespace)
