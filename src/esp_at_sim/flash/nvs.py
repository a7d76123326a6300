"""ESP-IDF NVS (format version 2): encode entries into pages, and read pages back.

A page is 4 KiB: a 32-byte header (state u32, sequence u32, version byte 0xFE, reserved
0xFF bytes, CRC-32 of bytes 4..28), a 32-byte entry-state bitmap (two bits per entry:
``11`` empty, ``10`` written, ``00`` erased) and 126 entries of 32 bytes. An entry holds
namespace index, type, span, chunk index, CRC-32 (of bytes 0..4 and 8..32), a 16-byte
key and 8 data bytes. Integers live in the data bytes; strings (``SZ``, NUL included)
and blob chunks (``BLOB_DATA``) store size and data CRC there and occupy the following
``span - 1`` entries; a ``BLOB_IDX`` entry ties the chunks of a blob together. Namespace
names are ``U8`` entries in namespace 0 whose value is the namespace's index. Every CRC
is ``zlib.crc32(data, 0xFFFFFFFF)``, which equals ESP-IDF's ``crc32_le(0xFFFFFFFF, ...)``.

:func:`encode_pages` lays entries out exactly as ``esp-idf-nvs-partition-gen`` does
(the same page breaks, including its habit of starting a new page when a string would
fill the current one to the last entry), so :func:`encode_partition` is byte-identical to
the generator's output for the same entries. Two cases the generator gets wrong are done
as ESP-IDF would: a 3969..4000-byte string (the generator crashes) takes a whole page,
and items of a namespace that come after another namespace stay in their own namespace
(the generator files them under the namespace created last).

Reading pages back, with ESP-IDF's rules for damaged ones, is
:mod:`esp_at_sim.flash.nvs_read`.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum

from esp_at_sim.flash.errors import NvsError

PAGE = 0x1000
ENTRY = 32
ENTRIES = 126
FIRST_ENTRY = 64
VERSION2 = 0xFE
CHUNK_ANY = 0xFF
MAX_KEY = 15
MAX_STRING = 4000  # bytes, terminating NUL included
MAX_NAMESPACES = 254


class PageState(IntEnum):
    UNINITIALIZED = 0xFFFFFFFF
    ACTIVE = 0xFFFFFFFE
    FULL = 0xFFFFFFFC
    FREEING = 0xFFFFFFF8
    CORRUPT = 0xFFFFFFF0
    INVALID = 0


class ItemType(IntEnum):
    U8 = 0x01
    I8 = 0x11
    U16 = 0x02
    I16 = 0x12
    U32 = 0x04
    I32 = 0x14
    U64 = 0x08
    I64 = 0x18
    SZ = 0x21
    BLOB = 0x41
    BLOB_DATA = 0x42
    BLOB_IDX = 0x48


INT_FORMATS = {
    ItemType.U8: "<B", ItemType.I8: "<b", ItemType.U16: "<H", ItemType.I16: "<h",
    ItemType.U32: "<I", ItemType.I32: "<i", ItemType.U64: "<Q", ItemType.I64: "<q",
}  # fmt: skip
ACTIVE_WORD = struct.pack("<I", PageState.ACTIVE)


def crc32(data: bytes | bytearray | memoryview) -> int:
    return zlib.crc32(data, 0xFFFFFFFF)


@dataclass(frozen=True)
class NvsItem:
    """One stored value: an integer type, ``SZ`` (a string) or ``BLOB`` (bytes)."""

    namespace: str
    key: str
    type: ItemType
    value: int | str | bytes

    def __post_init__(self) -> None:
        for what, name in (("namespace", self.namespace), ("key", self.key)):
            raw = name.encode()
            if not raw or len(raw) > MAX_KEY or b"\x00" in raw:
                raise NvsError(f"{what} {name!r} must be 1 to {MAX_KEY} bytes without NUL")
        fmt = INT_FORMATS.get(self.type)
        if fmt is not None:
            if not isinstance(self.value, int) or isinstance(self.value, bool):
                raise NvsError(f"{self.key!r}: {self.type.name} needs an int")
            try:
                struct.pack(fmt, self.value)
            except struct.error:
                raise NvsError(
                    f"{self.key!r}: {self.value} does not fit {self.type.name}"
                ) from None
        elif self.type == ItemType.SZ:
            if not isinstance(self.value, str) or "\x00" in self.value:
                raise NvsError(f"{self.key!r}: SZ needs a str without NUL")
            if len(self.value.encode()) + 1 > MAX_STRING:
                raise NvsError(f"{self.key!r}: string longer than {MAX_STRING - 1} bytes")
        elif self.type == ItemType.BLOB:
            if not isinstance(self.value, bytes):
                raise NvsError(f"{self.key!r}: BLOB needs bytes")
        else:
            raise NvsError(f"{self.key!r}: items cannot have type {self.type.name}")


def _entry(ns: int, kind: int, span: int, chunk: int, key: str, data: bytes) -> bytes:
    head = bytes([ns, kind, span, chunk])
    body = key.encode().ljust(16, b"\x00") + data
    return head + struct.pack("<I", crc32(head + body)) + body


class _Layout:
    """Builds pages the way the partition generator fills them."""

    def __init__(self, first_seq: int) -> None:
        self.pages: list[bytearray] = []
        self.used = 0
        self.seq = first_seq
        self._new_page()

    def _new_page(self) -> None:
        if self.pages:
            self.pages[-1][0:4] = struct.pack("<I", PageState.FULL)
        header = bytearray(b"\xff" * 32)
        header[0:4] = ACTIVE_WORD
        header[4:8] = struct.pack("<I", self.seq + len(self.pages))
        header[8] = VERSION2
        header[28:32] = struct.pack("<I", crc32(header[4:28]))
        self.pages.append(header + bytearray(b"\xff" * (PAGE - 32)))
        self.used = 0

    def _put(self, data: bytes, count: int) -> None:
        page = self.pages[-1]
        at = FIRST_ENTRY + ENTRY * self.used
        page[at : at + len(data)] = data
        for _ in range(count):
            page[32 + self.used // 4] &= ~(1 << ((self.used % 4) * 2)) & 0xFF
            self.used += 1

    def primitive(self, ns: int, kind: ItemType, key: str, value: int) -> None:
        if self.used >= ENTRIES:
            self._new_page()
        data = struct.pack(INT_FORMATS[kind], value).ljust(8, b"\xff")
        self._put(_entry(ns, kind, 1, CHUNK_ANY, key, data), 1)

    def string(self, ns: int, key: str, text: str) -> None:
        raw = text.encode() + b"\x00"
        count = -(-len(raw) // ENTRY)
        # The generator moves on when the string would fill the page to the last entry;
        # a string that needs a whole page (ESP-IDF allows it) goes on an empty one.
        if self.used >= ENTRIES or (self.used and self.used + count + 1 >= ENTRIES):
            self._new_page()
        data = struct.pack("<H", len(raw)) + b"\xff\xff" + struct.pack("<I", crc32(raw))
        self._put(_entry(ns, ItemType.SZ, count + 1, CHUNK_ANY, key, data), 1)
        self._put(raw, count)

    def blob(self, ns: int, key: str, raw: bytes) -> None:
        if self.used >= ENTRIES:
            self._new_page()
        offset = chunks = 0
        while True:
            room = (ENTRIES - self.used - 1) * ENTRY
            size = min(room, len(raw) - offset)
            chunk = raw[offset : offset + size]
            count = -(-size // ENTRY)
            data = struct.pack("<H", size) + b"\xff\xff" + struct.pack("<I", crc32(chunk))
            self._put(_entry(ns, ItemType.BLOB_DATA, count + 1, chunks, key, data), 1)
            self._put(chunk, count)
            chunks += 1
            offset += size
            if offset < len(raw) or room - size < ENTRY:
                self._new_page()
            if offset >= len(raw):
                break
        data = struct.pack("<IBB", len(raw), chunks, 0) + b"\xff\xff"
        self._put(_entry(ns, ItemType.BLOB_IDX, 1, CHUNK_ANY, key, data), 1)


def encode_pages(items: Iterable[NvsItem], *, first_seq: int = 0) -> list[bytes]:
    """Pages holding ``items`` (FULL pages, then one ACTIVE page), numbered from ``first_seq``.

    Each namespace gets its index (1, 2, ...) and its name entry when first used.
    """
    layout = _Layout(first_seq)
    namespaces: dict[str, int] = {}
    for item in items:
        ns = namespaces.get(item.namespace)
        if ns is None:
            if len(namespaces) == MAX_NAMESPACES:
                raise NvsError(f"more than {MAX_NAMESPACES} namespaces")
            ns = namespaces[item.namespace] = len(namespaces) + 1
            layout.primitive(0, ItemType.U8, item.namespace, ns)
        if item.type == ItemType.SZ:
            assert isinstance(item.value, str)
            layout.string(ns, item.key, item.value)
        elif item.type == ItemType.BLOB:
            assert isinstance(item.value, bytes)
            layout.blob(ns, item.key, item.value)
        else:
            assert isinstance(item.value, int)
            layout.primitive(ns, item.type, item.key, item.value)
    return [bytes(page) for page in layout.pages]


def encode_partition(items: Iterable[NvsItem], size: int) -> bytes:
    """A whole partition of ``size`` bytes, as ``esp-idf-nvs-partition-gen generate`` makes it.

    The last page stays erased (NVS needs a spare page); so do pages past the data.
    """
    if size % PAGE or size < 3 * PAGE:
        raise NvsError(f"NVS size {size:#x} must be a multiple of 0x1000 and at least 0x3000")
    pages = encode_pages(items)
    usable = size // PAGE - 1
    if len(pages) > usable:
        raise NvsError(f"the entries need {len(pages)} pages; a {size:#x} partition has {usable}")
    return b"".join(pages) + b"\xff" * (size - len(pages) * PAGE)
