"""The one place where flash bytes reach the disk: NOR flash semantics over a file.

:class:`FlashDevice` offers what a SPI NOR chip offers: read anywhere, erase whole
4 KiB sectors (every byte becomes 0xFF), and program bytes, where programming can only
clear bits (the stored byte becomes ``old & new``), exactly like ESP-IDF's
``esp_partition_write`` on real flash. Every write is one ``os.pwrite`` through
:meth:`FlashDevice.write_raw`; :meth:`FlashDevice.sync` is ``os.fsync``.

A writable file is locked (:func:`esp_at_sim.flash.lock.lock_for_writing`) for as long as
it is open, so two writers never share one file. :class:`MemoryFlashDevice` is the same
chip in memory, for modules without a flash file.

Ordering contract for callers that need crash safety: data written before a
:meth:`~FlashDevice.sync` is on disk before anything written after it. Between two
syncs the kernel may persist any subset of the writes, in any order, and a write cut
short by a crash may persist only in part. The OTA writer, the otadata switch and the
NVS settings store are built on exactly this contract (see their docstrings).
"""

from __future__ import annotations

import os
from types import TracebackType

from esp_at_sim.flash.lock import lock_for_writing

SECTOR = 0x1000
_ERASED_SECTOR = b"\xff" * SECTOR
_ERASED_BLOCK = b"\xff" * 0x10000  # erasing a file writes this much at a time


class FlashDevice:
    """A flash chip backed by an open file descriptor."""

    def __init__(self, fd: int, size: int, *, writable: bool, durable: bool = True) -> None:
        self._fd = fd
        self.size = size
        self.writable = writable
        self.durable = durable

    @classmethod
    def open(
        cls, path: str | os.PathLike[str], *, writable: bool = True, durable: bool = True
    ) -> FlashDevice:
        """Open an existing flash file (``durable=False`` skips fsync, for throwaway files).

        ``writable`` takes the file's lock: :class:`~esp_at_sim.flash.lock.FlashLockedError`
        when another writer has it open."""
        fd = os.open(path, (os.O_RDWR if writable else os.O_RDONLY) | os.O_CLOEXEC)
        try:
            if writable:
                lock_for_writing(fd, path)
            return cls(fd, os.fstat(fd).st_size, writable=writable, durable=durable)
        except BaseException:
            os.close(fd)
            raise

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> FlashDevice:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _check(self, offset: int, length: int) -> None:
        if offset < 0 or length < 0 or offset + length > self.size:
            raise ValueError(f"flash range {offset:#x}+{length:#x} outside {self.size:#x} bytes")

    def read(self, offset: int, length: int) -> bytes:
        self._check(offset, length)
        first = os.pread(self._fd, length, offset)
        if len(first) == length:  # the usual case: one read, no copy
            return first
        out = bytearray(first)
        while len(out) < length:
            chunk = os.pread(self._fd, length - len(out), offset + len(out))
            if not chunk:
                raise OSError(f"flash file shorter than {offset + length:#x} bytes")
            out += chunk
        return bytes(out)

    def program(self, offset: int, data: bytes) -> None:
        """Write ``data`` the way NOR flash does: bits can only go from 1 to 0."""
        self._check(offset, len(data))
        if not data:
            return
        old = self.read(offset, len(data))
        if old.count(0xFF) == len(old):
            self.write_raw(offset, data)
            return
        merged = (int.from_bytes(old, "little") & int.from_bytes(data, "little")).to_bytes(
            len(data), "little"
        )
        if merged != old:
            self.write_raw(offset, merged)

    def program_erased(self, offset: int, data: bytes) -> None:
        """:meth:`program` into an area erased since it was last written (the caller
        knows it: an OTA slot is erased whole before its upload): the same result,
        without reading back what is there."""
        self._check(offset, len(data))
        if data:
            self.write_raw(offset, data)

    def erase(self, offset: int, length: int) -> None:
        """Erase whole sectors: ``offset`` and ``length`` must be multiples of 4 KiB."""
        self._check(offset, length)
        if offset % SECTOR or length % SECTOR:
            raise ValueError(f"erase {offset:#x}+{length:#x} is not aligned to {SECTOR:#x}")
        self._erase(offset, length)

    def _erase(self, offset: int, length: int) -> None:
        step = len(_ERASED_BLOCK)
        for at in range(offset, offset + length, step):
            self.write_raw(at, _ERASED_BLOCK[: min(step, offset + length - at)])

    def write_raw(self, offset: int, data: bytes) -> None:
        """Store ``data`` as is (the single ``pwrite`` every change goes through)."""
        if not self.writable:
            raise PermissionError("flash file is open read-only")
        view = memoryview(data)
        while view:
            done = os.pwrite(self._fd, view, offset)
            view = view[done:]
            offset += done

    def sync(self) -> None:
        """Make everything written so far durable before anything written later."""
        if self.durable and self.writable:
            os.fsync(self._fd)

    def shared_memo(self, offset: int, length: int) -> dict[object, object] | None:
        """A dictionary shared with other devices that hold the same bytes in this range
        (see :class:`MemoryFlashDevice`); a file has none."""
        return None


class MemoryFlashDevice(FlashDevice):
    """A flash chip in memory: a shared read-only ``base`` image (never copied) and the
    sectors written since, each kept only while it differs from ``base``, and without
    its erased tail (a sector is mostly written from its start: otadata's 32-byte entry,
    an NVS page's used entries), so a module keeps only the bytes it wrote.

    A module without a flash file runs on one of these: nothing reaches the disk, so
    nothing is left behind however the process ends, and many modules share one factory
    image. ``memo`` is a dictionary shared by every device of the same ``base``, for what
    can be derived once from ranges none of them has written (see :meth:`shared_memo`).
    ``sync`` has nothing to do."""

    def __init__(self, base: bytes, memo: dict[object, object] | None = None) -> None:
        super().__init__(-1, len(base), writable=True, durable=False)
        self._base = base
        self._memo: dict[object, object] = {} if memo is None else memo
        # sector index -> its bytes up to the last one that is not 0xFF
        self._sectors: dict[int, bytes] = {}

    def close(self) -> None:
        self._sectors.clear()

    def shared_memo(self, offset: int, length: int) -> dict[object, object] | None:
        """The memo shared with every device of this base while ``offset``..``+length``
        still holds the base's bytes, else ``None``."""
        last = -(-(offset + length) // SECTOR)
        if any(i in self._sectors for i in range(offset // SECTOR, last)):
            return None
        return self._memo

    def _sector(self, index: int) -> bytes:
        found = self._sectors.get(index)
        if found is not None:
            return found + _ERASED_SECTOR[len(found) :]
        return self._base[index * SECTOR : (index + 1) * SECTOR]

    def read(self, offset: int, length: int) -> bytes:
        self._check(offset, length)
        first, last = offset // SECTOR, (offset + length - 1) // SECTOR
        if not any(i in self._sectors for i in range(first, last + 1)) or not length:
            return self._base[offset : offset + length]
        out = bytearray()
        for index in range(first, last + 1):
            out += self._sector(index)
        start = offset - first * SECTOR
        return bytes(out[start : start + length])

    def _erase(self, offset: int, length: int) -> None:
        base, sectors = self._base, self._sectors
        for index in range(offset // SECTOR, (offset + length) // SECTOR):
            if base.startswith(_ERASED_SECTOR, index * SECTOR):
                sectors.pop(index, None)
            else:
                sectors[index] = b""

    def write_raw(self, offset: int, data: bytes) -> None:
        self._check(offset, len(data))
        view = memoryview(data)
        while view:
            index, within = divmod(offset, SECTOR)
            if not within and len(view) >= SECTOR:
                whole = len(view) // SECTOR * SECTOR
                self._write_sectors(index, view[:whole])
                view = view[whole:]
                offset += whole
                continue
            size = min(SECTOR - within, len(view))
            merged = bytearray(self._sector(index))
            merged[within : within + size] = view[:size]
            self._write_sectors(index, memoryview(merged))
            view = view[size:]
            offset += size

    def _write_sectors(self, first: int, view: memoryview) -> None:
        """Whole sectors from ``first`` on: nothing of the old ones is kept (an OTA
        upload is almost all of these, so the loop does as little as it can; the base
        is compared in place, not sliced)."""
        base, sectors = self._base, self._sectors
        for index in range(first, first + len(view) // SECTOR):
            at = (index - first) * SECTOR
            sector = view[at : at + SECTOR].tobytes()
            if base.startswith(sector, index * SECTOR):
                sectors.pop(index, None)
            else:
                sectors[index] = sector.rstrip(b"\xff")

    def sync(self) -> None:
        return None
