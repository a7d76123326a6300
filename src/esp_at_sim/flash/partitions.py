"""ESP-IDF partition tables: the CSV source and the binary table the bootloader reads.

The CSV dialect is the one ESP-IDF's ``gen_esp32part`` accepts: ``#`` comments and blank
lines are skipped, fields are split on commas and stripped, missing trailing fields are
empty. Types are ``app``, ``data`` or a number (ESP-AT's custom ``0x40``); subtypes are
names (``factory``, ``ota_0`` .. ``ota_15``, ``test``, ``ota``, ``phy``, ``nvs``, ...)
or numbers. Numbers may be decimal or ``0x`` hex with a ``K`` or ``M`` suffix. An empty
offset follows on from the previous partition (apps aligned to 64 KiB, everything else
to 4 KiB); a negative size means "up to that absolute address". Flags are ``encrypted``
and ``readonly``, joined with ``:``. Environment variables (``$VAR``) are not expanded.

The binary table is a run of 32-byte entries ``<2sBBLL16sL`` (magic ``AA 50``, type,
subtype, offset, size, label, flags), optionally followed by an MD5 row (``EB EB``,
14 x ``FF``, MD5 of all entries before it), then ``FF`` padding to 0xC00 bytes; the
first all-``FF`` row ends the table.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterator
from dataclasses import dataclass

from esp_at_sim.flash.errors import PartitionTableError

TABLE_OFFSET = 0x8000
TABLE_SECTOR = 0x1000
TABLE_LENGTH = 0xC00
ENTRY = struct.Struct("<2sBBLL16sL")
ENTRY_MAGIC = b"\xaa\x50"
MD5_MAGIC = b"\xeb\xeb"
MD5_ROW_HEAD = MD5_MAGIC + b"\xff" * 14
MAX_ENTRIES = TABLE_LENGTH // ENTRY.size

APP = 0x00
DATA = 0x01
TYPE_NAMES = {"app": APP, "data": DATA}
OTA_0 = 0x10
NUM_OTA = 16
SUBTYPE_NAMES: dict[int, dict[str, int]] = {
    APP: {"factory": 0x00, "test": 0x20, **{f"ota_{i}": OTA_0 + i for i in range(NUM_OTA)}},
    DATA: {
        "ota": 0x00,
        "phy": 0x01,
        "nvs": 0x02,
        "coredump": 0x03,
        "nvs_keys": 0x04,
        "efuse": 0x05,
        "undefined": 0x06,
        "esphttpd": 0x80,
        "fat": 0x81,
        "spiffs": 0x82,
        "littlefs": 0x83,
    },
}
FLAG_BITS = {"encrypted": 0, "readonly": 1}
ALIGN_APP = 0x10000
ALIGN_DATA = 0x1000
NVS_RW_MIN_SIZE = 0x3000
OTADATA_SIZE = 0x2000


@dataclass(frozen=True)
class Partition:
    """One partition: a labelled region of flash with a type and subtype."""

    name: str
    type: int
    subtype: int
    offset: int
    size: int
    encrypted: bool = False
    readonly: bool = False

    @property
    def end(self) -> int:
        """First byte after the partition."""
        return self.offset + self.size

    @property
    def is_app(self) -> bool:
        return self.type == APP

    @property
    def ota_index(self) -> int | None:
        """N for an ``ota_N`` app partition, else ``None``."""
        if self.type == APP and OTA_0 <= self.subtype < OTA_0 + NUM_OTA:
            return self.subtype - OTA_0
        return None

    @property
    def type_name(self) -> str:
        return next((k for k, v in TYPE_NAMES.items() if v == self.type), f"0x{self.type:02x}")

    @property
    def subtype_name(self) -> str:
        names = SUBTYPE_NAMES.get(self.type, {})
        return next((k for k, v in names.items() if v == self.subtype), f"0x{self.subtype:02x}")

    @property
    def flags(self) -> int:
        """The flags word of the binary entry (bit 0 encrypted, bit 1 read-only)."""
        return sum(1 << bit for name, bit in FLAG_BITS.items() if getattr(self, name))


@dataclass(frozen=True)
class PartitionTable:
    """An ordered partition table, as written in its CSV."""

    partitions: tuple[Partition, ...]

    def __iter__(self) -> Iterator[Partition]:
        return iter(self.partitions)

    def __len__(self) -> int:
        return len(self.partitions)

    def find(self, name: str) -> Partition | None:
        return next((p for p in self.partitions if p.name == name), None)

    def get(self, name: str) -> Partition:
        found = self.find(name)
        if found is None:
            raise PartitionTableError(f"no partition named {name!r}")
        return found

    def find_type(self, ptype: int, subtype: int) -> Partition | None:
        return next((p for p in self.partitions if (p.type, p.subtype) == (ptype, subtype)), None)

    @property
    def ota_slots(self) -> tuple[Partition, ...]:
        """The ``ota_N`` app partitions in slot order (as the bootloader numbers them)."""
        slots = [p for p in self.partitions if p.ota_index is not None]
        return tuple(sorted(slots, key=lambda p: p.subtype))

    @property
    def factory(self) -> Partition | None:
        return self.find_type(APP, SUBTYPE_NAMES[APP]["factory"])

    @property
    def otadata(self) -> Partition | None:
        return self.find_type(DATA, SUBTYPE_NAMES[DATA]["ota"])

    @property
    def end(self) -> int:
        return max((p.end for p in self.partitions), default=0)


def _parse_int(text: str, keywords: dict[str, int] | None = None) -> int:
    lowered = text.lower()
    for suffix, multiplier in (("k", 1024), ("m", 1024 * 1024)):
        if lowered.endswith(suffix) and (keywords is None or lowered not in keywords):
            return _parse_int(text[:-1], keywords) * multiplier
    try:
        return int(text, 0)
    except ValueError:
        if keywords and lowered in keywords:
            return keywords[lowered]
        if keywords:
            known = ", ".join(keywords)
            raise PartitionTableError(f"{text!r} is not valid (known: {known})") from None
        raise PartitionTableError(f"invalid number {text!r}") from None


@dataclass(frozen=True)
class _Row:
    line: int
    name: str
    type: int
    subtype: int
    offset: int | None
    size: int
    flags: set[str]


def _parse_row(text: str, line: int) -> _Row:
    fields = [f.strip() for f in (text + ",,,,").split(",")]
    name = fields[0]
    if not name:
        raise PartitionTableError("the name field is empty")
    if len(name.encode()) > 16:
        raise PartitionTableError(f"name {name!r} is longer than 16 bytes")
    if not fields[1]:
        raise PartitionTableError("the type field is empty")
    ptype = _parse_int(fields[1], TYPE_NAMES)
    if fields[2]:
        subtype = _parse_int(fields[2], SUBTYPE_NAMES.get(ptype, {}))
    elif ptype == APP:
        raise PartitionTableError("an app partition needs a subtype")
    else:
        subtype = SUBTYPE_NAMES[DATA]["undefined"]
    offset = _parse_int(fields[3]) if fields[3] else None
    if not fields[4]:
        raise PartitionTableError("the size field is empty")
    size = _parse_int(fields[4])
    flags = {f for f in fields[5].split(":") if f}
    unknown = flags - FLAG_BITS.keys()
    if unknown:
        raise PartitionTableError(f"unknown flag {sorted(unknown)[0]!r}")
    if not 0 <= ptype <= 0xFF or not 0 <= subtype <= 0xFF:
        raise PartitionTableError(f"type/subtype {ptype:#x}/{subtype:#x} out of range 0..0xFF")
    return _Row(line, name, ptype, subtype, offset, size, flags)


def parse_csv(
    text: str,
    *,
    source: str = "<csv>",
    table_offset: int = TABLE_OFFSET,
    flash_size: int | None = None,
) -> PartitionTable:
    """Parse partition CSV ``text``; errors name ``source`` and the line."""
    rows: list[_Row] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        try:
            rows.append(_parse_row(line, number))
        except PartitionTableError as exc:
            raise PartitionTableError(f"{source} line {number}: {exc.reason}") from None
    last_end = table_offset + TABLE_SECTOR
    parts: list[Partition] = []
    for row in rows:
        where = f"{source} line {row.line}"
        if row.offset is not None and row.offset < last_end:
            raise PartitionTableError(
                f"{where}: partition {row.name!r} at {row.offset:#x} overlaps what ends at "
                f"{last_end:#x}"
            )
        offset = row.offset
        if offset is None:
            align = ALIGN_APP if row.type == APP else ALIGN_DATA
            offset = -(-last_end // align) * align
        size = -row.size - offset if row.size < 0 else row.size
        part = Partition(
            row.name, row.type, row.subtype, offset, size, **{f: True for f in row.flags}
        )
        try:
            _check_partition(part)
        except PartitionTableError as exc:
            raise PartitionTableError(f"{where}: {exc.reason}") from None
        parts.append(part)
        last_end = offset + size
    table = PartitionTable(tuple(parts))
    try:
        verify_table(table, table_offset=table_offset, flash_size=flash_size)
    except PartitionTableError as exc:
        raise PartitionTableError(f"{source}: {exc.reason}") from None
    return table


def _check_partition(part: Partition) -> None:
    align = ALIGN_APP if part.type == APP else ALIGN_DATA
    if part.offset % align:
        raise PartitionTableError(f"offset {part.offset:#x} is not aligned to {align:#x}")
    if part.size <= 0:
        raise PartitionTableError(f"size {part.size:#x} of {part.name!r} is not positive")
    if part.type == APP and part.size % ALIGN_DATA:
        raise PartitionTableError(f"app size {part.size:#x} is not aligned to {ALIGN_DATA:#x}")
    always_rw = {SUBTYPE_NAMES[DATA]["ota"], SUBTYPE_NAMES[DATA]["coredump"]}
    if part.type == DATA and part.subtype in always_rw and part.readonly:
        raise PartitionTableError(f"{part.name!r} is always read-write and cannot be readonly")
    nvs = SUBTYPE_NAMES[DATA]["nvs"]
    small = part.size < NVS_RW_MIN_SIZE and not part.readonly
    if part.type == DATA and part.subtype == nvs and small:
        raise PartitionTableError(
            f"NVS partition {part.name!r} smaller than {NVS_RW_MIN_SIZE:#x} must be readonly"
        )


def verify_table(
    table: PartitionTable, *, table_offset: int = TABLE_OFFSET, flash_size: int | None = None
) -> None:
    """Check a whole table: unique names, no overlaps, one otadata of 8 KiB, fits flash."""
    names = [p.name for p in table.partitions]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise PartitionTableError(f"partition name {dupes[0]!r} is used twice")
    last: Partition | None = None
    for part in sorted(table.partitions, key=lambda p: p.offset):
        if part.offset < table_offset + TABLE_SECTOR:
            raise PartitionTableError(
                f"partition {part.name!r} at {part.offset:#x} is below "
                f"{table_offset + TABLE_SECTOR:#x}"
            )
        if last is not None and part.offset < last.end:
            raise PartitionTableError(
                f"partition {part.name!r} at {part.offset:#x} overlaps {last.name!r} "
                f"({last.offset:#x}-{last.end - 1:#x})"
            )
        if flash_size is not None and part.end > flash_size:
            raise PartitionTableError(
                f"partition {part.name!r} ({part.offset:#x}-{part.end - 1:#x}) lies outside "
                f"the {flash_size // 0x100000} MB flash"
            )
        last = part
    otadata = [p for p in table.partitions if (p.type, p.subtype) == (DATA, 0)]
    if len(otadata) > 1:
        raise PartitionTableError("found more than one otadata partition")
    if otadata and otadata[0].size != OTADATA_SIZE:
        raise PartitionTableError(f"otadata partition must be {OTADATA_SIZE:#x} bytes")


def encode_table(table: PartitionTable, *, md5: bool) -> bytes:
    """The 0xC00-byte binary table, with an MD5 row when ``md5`` is true."""
    body = b"".join(
        ENTRY.pack(ENTRY_MAGIC, p.type, p.subtype, p.offset, p.size, p.name.encode(), p.flags)
        for p in table.partitions
    )
    if md5:
        body += MD5_ROW_HEAD + hashlib.md5(body).digest()
    if len(body) >= TABLE_LENGTH:
        raise PartitionTableError(f"binary table of {len(body)} bytes does not fit {TABLE_LENGTH}")
    return body + b"\xff" * (TABLE_LENGTH - len(body))


@dataclass(frozen=True)
class DecodedTable:
    """A binary table as read from flash, and whether it carried an MD5 row."""

    table: PartitionTable
    has_md5: bool


def decode_table(
    data: bytes, *, flash_size: int | None = None, table_offset: int = TABLE_OFFSET
) -> DecodedTable:
    """Read a binary table as the bootloader does, then check it like ``verify_table``."""
    digest = hashlib.md5()
    parts: list[Partition] = []
    has_md5 = False
    for index in range(min(len(data) // ENTRY.size, MAX_ENTRIES)):
        row = data[index * ENTRY.size : (index + 1) * ENTRY.size]
        magic = row[:2]
        if magic == MD5_MAGIC:
            if has_md5:
                raise PartitionTableError(f"row {index}: a second MD5 row")
            if row[16:] != digest.digest():
                raise PartitionTableError(
                    f"row {index}: MD5 mismatch (stored {row[16:].hex()}, "
                    f"computed {digest.hexdigest()})"
                )
            has_md5 = True
            continue
        if magic == b"\xff\xff" and row[2] == 0xFF and row[3] == 0xFF:
            table = PartitionTable(tuple(parts))
            verify_table(table, table_offset=table_offset, flash_size=flash_size)
            return DecodedTable(table, has_md5)
        if magic != ENTRY_MAGIC:
            raise PartitionTableError(f"row {index}: bad magic {magic.hex()} (expected aa50)")
        if has_md5:
            raise PartitionTableError(f"row {index}: entry after the MD5 row")
        digest.update(row)
        _, ptype, subtype, offset, size, label, flags = ENTRY.unpack(row)
        name = label.split(b"\x00", 1)[0].decode("utf-8", errors="replace")
        if flash_size is not None and offset + size > flash_size:
            raise PartitionTableError(
                f"row {index}: partition {name!r} ({offset:#x}+{size:#x}) exceeds the "
                f"{flash_size:#x}-byte flash"
            )
        parts.append(
            Partition(name, ptype, subtype, offset, size, bool(flags & 1), bool(flags & 2))
        )
    raise PartitionTableError("the table has no end marker")


def to_csv(table: PartitionTable) -> str:
    """A CSV that parses back to ``table`` (offsets always explicit, hex)."""
    lines = ["# Name, Type, SubType, Offset, Size, Flags"]
    for p in table.partitions:
        flags = ":".join(f for f in FLAG_BITS if getattr(p, f))
        row = f"{p.name}, {p.type_name}, {p.subtype_name}, {p.offset:#x}, {p.size:#x}"
        lines.append(f"{row}, {flags}" if flags else row)
    return "\n".join(lines) + "\n"
