"""Writing new firmware and user data: the OTA writer and raw ``AT+SYSFLASH`` access.

:func:`begin_update` starts an update of the next OTA slot (or a named one, or a user
partition from the ``at_customize`` table) and erases it whole, as ESP-AT does before
reading the upload. :meth:`OtaUpdate.write` streams chunks straight to flash (into the
erased slot: no read-back) and refuses anything past the partition's end; an app image
is parsed, checksummed and hashed on the way (:class:`~esp_at_sim.flash.image.ImageStream`).
:meth:`OtaUpdate.end` makes the data durable (``fsync``), verifies an app image like
``esp_ota_end`` (from what was parsed on the way; from the stored bytes, as the
bootloader reads them, when the image ended early or is malformed), and only then rewrites the
inactive otadata sector (state NEW, see :mod:`esp_at_sim.flash.boot`) and syncs again.
So a crash at any byte before that last write leaves the old boot selection, and the
running slot is never written. :meth:`OtaUpdate.abort` just stops: the running image and
the boot selection are as before (the update slot stays erased or half written, as on a
real module). User partitions are written raw and never verified.

Raw access (``AT+SYSFLASH``) follows flash semantics: erase works on whole 4 KiB sectors;
a write can only clear bits, so writing over data that was not erased stores
``old AND new`` (the firmware does not check either). Every access is bounds-checked
against the user partition.
"""

from __future__ import annotations

from esp_at_sim.flash.boot import (
    BootResult,
    boot,
    next_update_slot,
    read_otadata,
    select_slot,
    verify_partition,
)
from esp_at_sim.flash.errors import FlashAccessError, ImageError, OtaError
from esp_at_sim.flash.flashfile import FlashImage
from esp_at_sim.flash.flashio import SECTOR
from esp_at_sim.flash.image import MAGIC, AppImage, ImageStream, parse_image, verify_parsed
from esp_at_sim.flash.otadata import OtaState, active_index
from esp_at_sim.flash.partitions import Partition


class OtaUpdate:
    """One update in progress; create it with :func:`begin_update`."""

    def __init__(self, flash: FlashImage, partition: Partition, *, is_app: bool) -> None:
        self.flash = flash
        self.partition = partition
        self.is_app = is_app
        self.written = 0
        self.closed = False
        self._stream = ImageStream(partition.size) if is_app else None

    @property
    def syncs(self) -> bool:
        """Whether :meth:`end` waits for the disk (``fsync``: a flash file, not memory);
        :meth:`write` never does."""
        return self.flash.device.durable

    def _open(self) -> None:
        if self.closed:
            raise OtaError(f"the update of {self.partition.name} is already finished")

    def write(self, chunk: bytes) -> None:
        """Append ``chunk``; nothing of it is written if it would pass the partition end."""
        self._open()
        if self.written + len(chunk) > self.partition.size:
            raise OtaError(
                f"data past the end of {self.partition.name} "
                f"({self.written + len(chunk)} > {self.partition.size} bytes)",
                kind="too_large",
            )
        if self.is_app and self.written == 0 and chunk and chunk[0] != MAGIC:
            raise ImageError(
                f"bad magic 0x{chunk[0]:02x} (expected 0xe9): not an app image",
                kind="not_an_image",
            )
        # begin_update erased the whole partition and writes only move forward
        self.flash.device.program_erased(self.partition.offset + self.written, chunk)
        self.written += len(chunk)
        if self._stream is not None:
            self._stream.feed(chunk)

    def end(self) -> AppImage | None:
        """Finish: verify an app image and make it boot next (state NEW).

        Raises :class:`ImageError` (boot selection unchanged) if the image does not
        verify, :class:`OtaError` if nothing was written. Returns the verified image, or
        ``None`` for a user partition.
        """
        self._open()
        self.closed = True
        if self.written == 0:
            raise OtaError(f"no data was written to {self.partition.name}", kind="empty")
        self.flash.device.sync()
        if self._stream is None:
            return None
        parsed = self._stream.image()
        try:
            if parsed is not None:
                image = verify_parsed(parsed, chip=self.flash.chip)
            else:
                image = verify_partition(self.flash, self.partition)
        except ImageError as exc:
            raise self._explain(exc) from exc
        select_slot(self.flash, self.partition)
        return image

    def _explain(self, failure: ImageError) -> ImageError:
        """The verdict is the module's (the whole slot verified, as ``esp_ota_end``
        does); the reason given is sharper when the data written ends before the image
        does: that image was cut short, whatever the erased rest of the slot made of it."""
        written = self.flash.read_partition(self.partition, 0, self.written)
        try:
            parse_image(written)
        except ImageError as short:
            if short.kind == "truncated":
                return ImageError(
                    f"truncated: {self.written} bytes arrived, {short.reason}", kind="truncated"
                )
        return failure

    def abort(self) -> None:
        """Give up; the running image and the boot selection are untouched."""
        self.closed = True


def begin_update(
    flash: FlashImage,
    running: BootResult,
    target: str | None = None,
    *,
    size: int | None = None,
) -> OtaUpdate:
    """Start an update of ``target`` (a label; ``None`` means the next OTA slot).

    Refuses the running slot, a non-OTA app partition, a partition that is neither an
    OTA slot nor a user partition, and any app update while the running image has not
    confirmed itself (PENDING_VERIFY), as ``esp_ota_begin`` does. With ``size`` (the
    whole upload's length, when known) data larger than the partition is refused
    before anything is erased.
    """
    part = _update_target(flash, running.partition, target)
    if part.is_app and running.ota_state == OtaState.PENDING_VERIFY:
        raise OtaError(
            "the running firmware has not confirmed itself (PENDING_VERIFY)",
            kind="not_confirmed",
        )
    return _begin(flash, part, size)


def begin_offline_update(
    flash: FlashImage, target: str | None = None, *, size: int | None = None
) -> OtaUpdate:
    """Start an update of a flash file that no module runs (``flash load``).

    The image the next boot would start is taken as the running one, with one
    exception: an image that has never run (state NEW: the bootloader would try it for
    the first time) is not running anything, so a new load replaces it, as a second
    upload to a module replaces an update that waits for a reset.
    """
    otadata = read_otadata(flash)
    active = active_index(otadata)
    waiting = (
        flash.slots[otadata[active].slot(len(flash.slots))]
        if active is not None and otadata[active].state == OtaState.NEW and flash.slots
        else None
    )
    if waiting is not None and target in (None, waiting.name):
        return _begin(flash, waiting, size)
    running = boot(flash, dry_run=True)
    return _begin(flash, _update_target(flash, running.partition, target), size)


def _update_target(flash: FlashImage, running: Partition, target: str | None) -> Partition:
    if target is None:
        return next_update_slot(flash, running)
    part = flash.partition(target)
    if part is None:
        raise OtaError(f"no partition named {target!r}", kind="no_partition")
    if part.is_app:
        if part.ota_index is None:
            raise OtaError(f"{part.name} is not an OTA slot", kind="no_partition")
        if part == running:
            raise OtaError(f"{part.name} holds the running firmware")
    elif part not in flash.layout.custom.partitions:
        raise OtaError(f"{part.name} is not an OTA slot or a user partition", kind="no_partition")
    return part


def _begin(flash: FlashImage, part: Partition, size: int | None) -> OtaUpdate:
    if size is not None and size > part.size:
        raise OtaError(f"{size} bytes do not fit {part.name} ({part.size} bytes)", kind="too_large")
    flash.device.erase(part.offset, part.size)
    return OtaUpdate(flash, part, is_app=part.is_app)


def user_partitions(flash: FlashImage) -> tuple[Partition, ...]:
    """The partitions of the ``at_customize`` table (``AT+SYSFLASH?``)."""
    return flash.layout.custom.partitions


def _user_partition(flash: FlashImage, name: str) -> Partition:
    part = flash.layout.custom.find(name)
    if part is None:
        raise FlashAccessError(f"no user partition named {name!r}")
    return part


def _bounds(part: Partition, offset: int, length: int) -> None:
    if offset < 0 or length < 0 or offset + length > part.size:
        raise FlashAccessError(
            f"{offset:#x}+{length:#x} is outside {part.name} ({part.size:#x} bytes)"
        )


def sysflash_read(flash: FlashImage, name: str, offset: int, length: int) -> bytes:
    part = _user_partition(flash, name)
    _bounds(part, offset, length)
    return flash.device.read(part.offset + offset, length)


def sysflash_write(flash: FlashImage, name: str, offset: int, data: bytes) -> None:
    """Program ``data`` (bits can only be cleared; erase first to store it exactly)."""
    part = _user_partition(flash, name)
    _bounds(part, offset, len(data))
    flash.device.program(part.offset + offset, data)
    flash.device.sync()


def sysflash_erase(
    flash: FlashImage, name: str, offset: int | None = None, length: int | None = None
) -> None:
    """Erase a user partition whole, or the 4 KiB-aligned range ``offset``/``length``."""
    part = _user_partition(flash, name)
    start = 0 if offset is None else offset
    size = part.size - start if length is None else length
    _bounds(part, start, size)
    if start % SECTOR or size % SECTOR:
        raise FlashAccessError(f"erase range {start:#x}+{size:#x} must be 4 KiB aligned")
    flash.device.erase(part.offset + start, size)
    flash.device.sync()
