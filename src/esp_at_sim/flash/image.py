"""The ESP-IDF app image: parse and verify it as the bootloader does, and build test firmware.

Layout: a 24-byte header (magic ``0xE9``, segment count, SPI mode/speed/size, entry
point, WP pin, drive strengths, chip id, chip revision limits, ``hash_appended``), then
segments ``{u32 load address, u32 length, data}``, zero padding up to 15 mod 16, one
checksum byte (``0xEF`` XOR every segment data byte) and, when ``hash_appended`` is set,
the SHA-256 of everything before it. The first segment begins with the 256-byte app
descriptor (magic ``0xABCD5432``) at image offset 0x20.

:func:`verify_image` checks in the bootloader's order: magic, chip id and revision,
segment count, each segment (length, flash-mapping alignment, and at boot the load
address), the checksum, the image length against the partition, and the SHA-256.
Verification hashes through ``memoryview`` slices and folds the XOR checksum with big
integers, so a 1.5 MB image verifies in a few milliseconds. :class:`ImageStream` does the
same work while an upload arrives, chunk by chunk (segment headers parsed as they pass,
the SHA-256 and the checksum as running values), so that nothing is left to read back or
hash at the end.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Sequence
from dataclasses import dataclass

from esp_at_sim.flash.errors import ImageError

MAGIC = 0xE9
HEADER = struct.Struct("<BBBBIB3sHBHH4sB")
SEGMENT = struct.Struct("<II")
DESCRIPTOR = struct.Struct("<II8s32s32s16s16s32s32sHHB3s72s")
DESCRIPTOR_OFFSET = HEADER.size + SEGMENT.size
DESCRIPTOR_MAGIC = 0xABCD5432
CHECKSUM_SEED = 0xEF
MAX_SEGMENTS = 16
SIXTEEN_MB = 0x1000000
MMU_PAGE = 0x10000
HASH_LEN = 32
SPI_MODES = {0: "QIO", 1: "QOUT", 2: "DIO", 3: "DOUT", 4: "FAST_READ", 5: "SLOW_READ"}
SPI_SPEEDS = {0: "40m", 1: "26m", 2: "20m", 0xF: "80m"}
SPI_SIZES = {0: "1MB", 1: "2MB", 2: "4MB", 3: "8MB", 4: "16MB", 5: "32MB", 6: "64MB"}
CHIP_TITLES = {0: "ESP32", 2: "ESP32-S2", 5: "ESP32-C3", 9: "ESP32-S3", 12: "ESP32-C2"}
CHIP_TITLES |= {13: "ESP32-C6", 16: "ESP32-H2", 18: "ESP32-P4", 20: "ESP32-C61", 23: "ESP32-C5"}


@dataclass(frozen=True)
class Chip:
    """What image verification needs to know about a chip (and what the builder uses)."""

    name: str
    chip_id: int
    revision: int  # the simulated silicon, major * 100 + minor
    max_rev_default: int
    drom: tuple[int, int]
    irom: tuple[int, int]
    loadable: tuple[tuple[int, int], ...]  # DRAM, IRAM and RTC ranges the bootloader loads
    dram: int
    iram: int

    @property
    def title(self) -> str:
        return CHIP_TITLES[self.chip_id]

    def region(self, addr: int) -> str:
        """A short name for the memory ``addr`` falls in."""
        if self.drom[0] <= addr < self.drom[1]:
            return "DROM"
        if self.irom[0] <= addr < self.irom[1]:
            return "IROM"
        if addr < 0x10000000:
            return "PADDING"
        for low, high in self.loadable:
            if low <= addr < high:
                return "RAM"
        return "?"

    def is_mapped(self, addr: int) -> bool:
        return self.region(addr) in ("DROM", "IROM")


ESP32 = Chip(
    "esp32", 0, 300, 399, (0x3F400000, 0x3F800000), (0x400D0000, 0x40400000),
    ((0x3FFAE000, 0x40000000), (0x40070000, 0x400A0000), (0x400C0000, 0x400C2000),
     (0x3FF80000, 0x3FF82000), (0x50000000, 0x50002000)),
    0x3FFB0000, 0x40080000,
)  # fmt: skip
ESP32C3 = Chip(
    "esp32c3", 5, 4, 199, (0x3C000000, 0x3C800000), (0x42000000, 0x42800000),
    ((0x3FC80000, 0x3FCE0000), (0x4037C000, 0x403E0000), (0x50000000, 0x50002000)),
    0x3FC90000, 0x40380000,
)  # fmt: skip
CHIPS = {chip.name: chip for chip in (ESP32, ESP32C3)}


def get_chip(name: str) -> Chip:
    try:
        return CHIPS[name]
    except KeyError:
        raise ImageError(f"unknown chip {name!r} (known: {', '.join(CHIPS)})") from None


@dataclass(frozen=True)
class ImageHeader:
    segment_count: int
    spi_mode: int
    spi_speed: int
    spi_size: int
    entry: int
    wp_pin: int
    drive: bytes
    chip_id: int
    min_rev: int
    min_rev_full: int
    max_rev_full: int
    hash_appended: bool

    @property
    def chip_title(self) -> str:
        return CHIP_TITLES.get(self.chip_id, f"unknown chip id {self.chip_id}")


@dataclass(frozen=True)
class Segment:
    index: int
    load_addr: int
    data_offset: int  # offset of the data within the image
    length: int


@dataclass(frozen=True)
class AppDescriptor:
    """The ``esp_app_desc_t`` every ESP-IDF app carries: what ``AT+GMR`` reports."""

    secure_version: int
    version: str
    project_name: str
    time: str
    date: str
    idf_ver: str
    elf_sha256: bytes
    min_efuse_blk_rev_full: int = 0
    max_efuse_blk_rev_full: int = 0


@dataclass(frozen=True)
class AppImage:
    """A parsed image; the ``*_ok`` properties say whether checksum and hash match."""

    header: ImageHeader
    segments: tuple[Segment, ...]
    checksum: int
    checksum_calc: int
    length: int  # bytes up to and including the appended hash
    sha256: bytes | None
    sha256_calc: bytes | None
    descriptor: AppDescriptor | None

    @property
    def checksum_ok(self) -> bool:
        return self.checksum == self.checksum_calc

    @property
    def sha256_ok(self) -> bool | None:
        """``None`` when the image carries no hash."""
        return None if self.sha256 is None else self.sha256 == self.sha256_calc


def _cstr(raw: bytes) -> str:
    return raw.split(b"\x00", 1)[0].decode("utf-8", errors="replace")


XOR_SLICE = 0x10000  # bytes turned into one big integer at a time


def xor_wide(acc: int, data: bytes | memoryview) -> int:
    """``acc`` XOR the bytes of ``data`` taken as little-endian integers of up to
    :data:`XOR_SLICE` bytes: the XOR of all their bytes, not yet folded to one byte
    (where a byte lands does not matter to the XOR of all of them)."""
    for start in range(0, len(data), XOR_SLICE):
        acc ^= int.from_bytes(data[start : start + XOR_SLICE], "little")
    return acc


def xor_fold(acc: int) -> int:
    """The XOR of the bytes of the integer ``acc``: halves folded onto each other."""
    width = (acc.bit_length() + 7) // 8 * 8
    while width > 8:
        half = (width // 16 + width % 16 // 8) * 8  # half the bytes, rounded up
        acc = (acc >> half) ^ (acc & ((1 << half) - 1))
        width = half
    return acc


def xor_bytes(data: bytes | memoryview) -> int:
    """XOR of every byte of ``data``, in wide slices (no per-byte loop)."""
    return xor_fold(xor_wide(0, data))


def parse_descriptor(data: bytes | memoryview) -> AppDescriptor | None:
    """The app descriptor at image offset 0x20, or ``None`` if its magic is missing."""
    raw = bytes(data[DESCRIPTOR_OFFSET : DESCRIPTOR_OFFSET + DESCRIPTOR.size])
    if len(raw) < DESCRIPTOR.size:
        return None
    magic, secure, _, ver, name, time, date, idf, sha, min_blk, max_blk, *_ = DESCRIPTOR.unpack(raw)
    if magic != DESCRIPTOR_MAGIC:
        return None
    return AppDescriptor(
        secure, _cstr(ver), _cstr(name), _cstr(time), _cstr(date), _cstr(idf), sha,
        min_blk, max_blk,
    )  # fmt: skip


def _read_header(view: memoryview) -> ImageHeader:
    if len(view) < 1 or view[0] != MAGIC:
        found = f"0x{view[0]:02x}" if len(view) else "nothing"
        raise ImageError(
            f"bad magic {found} (expected 0xe9: nothing flashed here?)", kind="not_an_image"
        )
    if len(view) < HEADER.size:
        raise ImageError(
            f"truncated at byte {len(view)} (the header needs {HEADER.size})", kind="truncated"
        )
    fields = HEADER.unpack(view[: HEADER.size])
    _, count, mode, speed_size, entry, wp, drive, chip_id, rev, rev_min, rev_max, _, hashed = fields
    return ImageHeader(
        count, mode, speed_size & 0xF, speed_size >> 4, entry, wp, drive, chip_id, rev,
        rev_min, rev_max, hashed != 0,
    )  # fmt: skip


def check_chip(header: ImageHeader, chip: Chip) -> None:
    """Raise unless the image was built for ``chip`` and this chip revision."""
    if header.chip_id != chip.chip_id:
        raise ImageError(
            f"image is for {header.chip_title} (chip id {header.chip_id}), module is {chip.title}",
            kind="wrong_chip",
        )
    rev = chip.revision
    if rev < header.min_rev_full:
        need = header.min_rev_full
        raise ImageError(
            f"image requires chip revision >= v{need // 100}.{need % 100}, "
            f"chip is v{rev // 100}.{rev % 100}",
            kind="wrong_chip",
        )
    top = header.max_rev_full
    if top not in (0, 0xFFFF) and rev > top:
        raise ImageError(
            f"image requires chip revision <= v{top // 100}.{top % 100}, "
            f"chip is v{rev // 100}.{rev % 100}",
            kind="wrong_chip",
        )


def parse_image(
    data: bytes | bytearray | memoryview, *, partition_size: int | None = None
) -> AppImage:
    """Parse the structure of an image and compute its checksum and hash.

    Raises :class:`ImageError` only when the structure itself is broken (magic, segment
    count or lengths, truncation, not fitting the partition); a wrong checksum or hash is
    reported through :attr:`AppImage.checksum_ok` and :attr:`AppImage.sha256_ok`.
    """
    view = memoryview(data).cast("B")
    header = _read_header(view)
    if header.segment_count > MAX_SEGMENTS:
        raise ImageError(f"segment count {header.segment_count} exceeds {MAX_SEGMENTS}")
    limit = len(view) if partition_size is None else min(len(view), partition_size)

    def need(end: int, what: str) -> None:
        if partition_size is not None and end > partition_size:
            raise ImageError(
                f"{what} extends past the partition ({partition_size:#x} bytes)", kind="too_large"
            )
        if end > limit:
            raise ImageError(
                f"truncated at byte {limit} ({what} needs {end} bytes)", kind="truncated"
            )

    pos = HEADER.size
    segments = []
    checksum = CHECKSUM_SEED
    for index in range(header.segment_count):
        need(pos + SEGMENT.size, f"segment {index} header")
        addr, length = SEGMENT.unpack(view[pos : pos + SEGMENT.size])
        if length & 3 or length >= SIXTEEN_MB:
            raise ImageError(f"segment {index} has invalid length {length:#x}")
        start = pos + SEGMENT.size
        need(start + length, f"segment {index}")
        segments.append(Segment(index, addr, start, length))
        checksum ^= xor_bytes(view[start : start + length])
        pos = start + length
    checksum_at = pos | 0xF
    need(checksum_at + 1, "the checksum")
    stored_checksum = view[checksum_at]
    length = checksum_at + 1
    stored_hash = calc_hash = None
    if header.hash_appended:
        need(length + HASH_LEN, "the SHA-256")
        calc_hash = hashlib.sha256(view[:length]).digest()
        stored_hash = bytes(view[length : length + HASH_LEN])
        length += HASH_LEN
    return AppImage(
        header, tuple(segments), stored_checksum, checksum, length, stored_hash, calc_hash,
        parse_descriptor(view),
    )  # fmt: skip


def verify_image(
    data: bytes | bytearray | memoryview,
    *,
    chip: Chip | str,
    partition_size: int | None = None,
    for_boot: bool = False,
) -> AppImage:
    """Verify an image as ``esp_ota_end`` (or, with ``for_boot``, the bootloader) does.

    Returns the parsed image when it is bootable on ``chip``; otherwise raises
    :class:`ImageError` naming the first problem found. The boot check adds the load
    address test the bootloader applies to segments it copies into RAM.
    """
    target = get_chip(chip) if isinstance(chip, str) else chip
    view = memoryview(data).cast("B")
    check_chip(_read_header(view), target)
    return _check_parsed(parse_image(view, partition_size=partition_size), target, for_boot)


def verify_parsed(image: AppImage, *, chip: Chip | str) -> AppImage:
    """:func:`verify_image` (as ``esp_ota_end``) for an image whose structure
    :class:`ImageStream` has already parsed: the same checks, the same errors."""
    target = get_chip(chip) if isinstance(chip, str) else chip
    check_chip(image.header, target)
    return _check_parsed(image, target, for_boot=False)


def _check_parsed(image: AppImage, target: Chip, for_boot: bool) -> AppImage:
    for seg in image.segments:
        if target.is_mapped(seg.load_addr) and seg.data_offset % MMU_PAGE != (
            seg.load_addr % MMU_PAGE
        ):
            raise ImageError(
                f"segment {seg.index} load address {seg.load_addr:#010x} does not match its "
                f"flash offset {seg.data_offset:#x} modulo 64 KiB"
            )
        if for_boot and seg.length and target.region(seg.load_addr) == "?":
            raise ImageError(
                f"segment {seg.index} {seg.load_addr:#010x}-"
                f"{seg.load_addr + seg.length:#010x} has a bad load address"
            )
    if not image.checksum_ok:
        raise ImageError(
            f"checksum mismatch (stored 0x{image.checksum:02x}, computed "
            f"0x{image.checksum_calc:02x})"
        )
    if image.sha256_ok is False:
        raise ImageError("SHA-256 mismatch: the image is corrupt")
    if image.descriptor is None:
        raise ImageError("app descriptor magic missing at offset 0x20")
    return image


class ImageStream:
    """An app image parsed as its bytes arrive, in any chunks: segment headers as they
    pass, the checksum and the SHA-256 as running values, the descriptor from the first
    bytes. Nothing is kept but those first bytes and a few header bytes at a time.

    :meth:`image` is the parsed image (as :func:`parse_image` gives it) once every byte
    it covers has arrived and its structure holds; ``None`` when the data ended early or
    the structure is broken: then the stored bytes must be parsed as before, which names
    the problem."""

    _HEAD = DESCRIPTOR_OFFSET + DESCRIPTOR.size

    def __init__(self, partition_size: int | None = None) -> None:
        self._partition_size = partition_size
        self._seen = 0
        self._head = bytearray()  # the first _HEAD bytes, for the header and descriptor
        self._part = bytearray()  # header bytes being collected
        self._want = HEADER.size  # ... this many of them
        self._phase = "header"  # then segment (header), checksum, hash
        self._data_left = 0  # segment data still to come
        self._xor = 0  # unfolded XOR of the segment data so far
        self._sha = hashlib.sha256()
        self._hash_end: int | None = None  # bytes the SHA-256 covers, once known
        self._header: ImageHeader | None = None
        self._segments: list[Segment] = []
        self._checksum = 0
        self._stored_hash: bytes | None = None
        self._done = False
        self._broken = False

    def feed(self, chunk: bytes | memoryview) -> None:
        """The next bytes of the image, as stored."""
        view = memoryview(chunk).cast("B")
        start = self._seen
        if len(self._head) < self._HEAD:
            self._head += view[: self._HEAD - len(self._head)]
        at = 0
        while at < len(view) and not (self._done or self._broken):
            if self._data_left:
                take = min(self._data_left, len(view) - at)
                self._xor = xor_wide(self._xor, view[at : at + take])
                self._data_left -= take
                at += take
                if not self._data_left:
                    self._next_segment(start + at)
                continue
            take = min(self._want - len(self._part), len(view) - at)
            self._part += view[at : at + take]
            at += take
            if len(self._part) == self._want:
                self._parsed(bytes(self._part), start + at)
                self._part.clear()
        self._seen += len(view)
        # what the hash covers is known before the data passes its end
        covered = len(view) if self._hash_end is None else max(0, self._hash_end - start)
        if covered:
            self._sha.update(view[:covered])

    def _parsed(self, raw: bytes, end: int) -> None:
        """The piece the parser waited for is complete; ``end``: where it ended."""
        if self._phase == "header":
            if raw[0] != MAGIC:
                self._broken = True
                return
            self._header = _read_header(memoryview(raw))
            if self._header.segment_count > MAX_SEGMENTS:
                self._broken = True
                return
            self._next_segment(end)
        elif self._phase == "segment":
            addr, length = SEGMENT.unpack(raw)
            if length & 3 or length >= SIXTEEN_MB or not self._fits(end + length):
                self._broken = True
                return
            self._segments.append(Segment(len(self._segments), addr, end, length))
            self._data_left = length
            if not length:
                self._next_segment(end)
        elif self._phase == "checksum":
            assert self._header is not None
            self._checksum = raw[-1]
            if self._header.hash_appended:
                self._expect("hash", HASH_LEN, end)
            else:
                self._done = True
        else:
            self._stored_hash = raw
            self._done = True

    def _next_segment(self, end: int) -> None:
        """The header or a segment's data ended at ``end``: the next segment header, or
        the padding and checksum byte after the last segment."""
        assert self._header is not None
        if len(self._segments) < self._header.segment_count:
            self._expect("segment", SEGMENT.size, end)
            return
        checksum_at = end | 0xF
        self._hash_end = checksum_at + 1
        self._expect("checksum", checksum_at + 1 - end, end)

    def _expect(self, phase: str, count: int, end: int) -> None:
        if not self._fits(end + count):
            self._broken = True
        self._phase = phase
        self._want = count

    def _fits(self, end: int) -> bool:
        return self._partition_size is None or end <= self._partition_size

    def image(self) -> AppImage | None:
        if not self._done or self._broken or len(self._head) < self._HEAD:
            return None
        assert self._header is not None and self._hash_end is not None
        hashed = self._header.hash_appended
        return AppImage(
            self._header,
            tuple(self._segments),
            self._checksum,
            CHECKSUM_SEED ^ xor_fold(self._xor),
            self._hash_end + (HASH_LEN if hashed else 0),
            self._stored_hash,
            self._sha.digest() if hashed else None,
            parse_descriptor(bytes(self._head)),
        )


def encode_image(
    segments: Sequence[tuple[int, bytes]],
    *,
    chip: Chip | str = ESP32,
    entry: int | None = None,
    hash_appended: bool = True,
    spi_mode: int = 2,
    spi_speed: int = 0,
    spi_size: int = 2,
    min_rev_full: int = 0,
    max_rev_full: int | None = None,
) -> bytes:
    """Lay out an image from ``(load address, data)`` segments, with checksum and hash."""
    target = get_chip(chip) if isinstance(chip, str) else chip
    if len(segments) > MAX_SEGMENTS:
        raise ValueError(f"at most {MAX_SEGMENTS} segments")
    top = target.max_rev_default if max_rev_full is None else max_rev_full
    out = bytearray(
        HEADER.pack(
            MAGIC, len(segments), spi_mode, (spi_size << 4) | spi_speed,
            target.iram if entry is None else entry, 0xEE, b"\x00" * 3, target.chip_id,
            min_rev_full // 100, min_rev_full, top, b"\x00" * 4, int(hash_appended),
        )
    )  # fmt: skip
    checksum = CHECKSUM_SEED
    for addr, payload in segments:
        if len(payload) % 4:
            raise ValueError("segment lengths must be multiples of 4")
        out += SEGMENT.pack(addr, len(payload)) + payload
        checksum ^= xor_bytes(payload)
    out += b"\x00" * (15 - len(out) % 16) + bytes([checksum])
    if hash_appended:
        out += hashlib.sha256(out).digest()
    return bytes(out)


def encode_descriptor(desc: AppDescriptor) -> bytes:
    def field(text: str, size: int, what: str) -> bytes:
        raw = text.encode()
        if len(raw) >= size:
            raise ValueError(f"{what} {text!r} must be shorter than {size} bytes")
        return raw

    return DESCRIPTOR.pack(
        DESCRIPTOR_MAGIC, desc.secure_version, b"\x00" * 8, field(desc.version, 32, "version"),
        field(desc.project_name, 32, "project name"), field(desc.time, 16, "time"),
        field(desc.date, 16, "date"), field(desc.idf_ver, 32, "idf_ver"), desc.elf_sha256,
        desc.min_efuse_blk_rev_full, desc.max_efuse_blk_rev_full, 0, b"\x00" * 3, b"\x00" * 72,
    )  # fmt: skip


def build_app_image(
    version: str,
    *,
    chip: str = "esp32",
    size: int | None = None,
    project_name: str = "esp-at",
    time: str = "00:00:00",
    date: str = "Jan  1 2025",
    idf_ver: str = "v5.0.0",
    secure_version: int = 0,
    elf_sha256: bytes | None = None,
) -> bytes:
    """A small valid app image for ``chip`` whose descriptor carries ``version``.

    With ``size`` the image is padded by an extra flash-mapped data segment to exactly
    ``size`` bytes. Every app image is a multiple of 16 bytes long (the checksum pads it),
    so another size, or one below the smallest image, is refused with ``ValueError``.
    """
    if size is not None and size % 16:
        below, above = size - size % 16, size - size % 16 + 16
        raise ValueError(
            f"an app image is a multiple of 16 bytes long: {size} is not ({below} or {above} is)"
        )
    target = get_chip(chip)
    sha = elf_sha256 or hashlib.sha256(f"{project_name} {version}".encode()).digest()
    desc = encode_descriptor(
        AppDescriptor(secure_version, version, project_name, time, date, idf_ver, sha)
    )
    rodata = f"esp-at-sim firmware {version}\0".encode()
    rodata += b"\x00" * (-len(rodata) % 4)
    segments = [
        (target.drom[0] + DESCRIPTOR_OFFSET, desc + rodata),
        (target.dram, sha[:16]),
        (target.iram, hashlib.sha256(sha).digest()),
    ]
    image = encode_image(segments, chip=target)
    if size is None or size == len(image):
        return image
    if size < len(image):
        raise ValueError(f"size {size} is below the smallest image ({len(image)} bytes)")
    target_len = size
    end = sum(SEGMENT.size + len(p) for _, p in segments) + HEADER.size
    pad_len = target_len - 36 - end - SEGMENT.size
    pad_start = end + SEGMENT.size
    pad_addr = target.drom[0] + MMU_PAGE + pad_start % MMU_PAGE
    pad = bytes(range(256)) * (pad_len // 256) + bytes(pad_len % 256)
    image = encode_image([*segments, (pad_addr, pad)], chip=target)
    assert len(image) == target_len
    return image
