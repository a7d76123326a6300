"""Boot selection as ESP-IDF's second-stage bootloader does it, with rollback enabled.

At every boot: any otadata entry still PENDING_VERIFY (an image that never confirmed
itself) becomes ABORTED; the winning entry names the slot to try, and a NEW entry becomes
PENDING_VERIFY; with no usable entry the bootloader tries ``factory`` or ``ota_0``. The
chosen slot is verified; if it fails, the bootloader works backwards to lower slots, then
forwards to higher ones, and boots the first image that verifies. When otadata was blank
and an OTA slot booted, it records that slot in sector 0 as VALID.

Once AT is up the application calls :func:`mark_valid`; :func:`set_boot_partition`
(used by OTA and ``AT+SYSROLLBACK``) verifies an image and then rewrites the *other*
otadata sector, so the switch is atomic: a crash leaves either the old or the new entry
winning. Rewrites of the active sector (NEW to PENDING_VERIFY, VALID, ABORTED) erase and
rewrite it in place, as ESP-IDF does; a crash in between makes the other sector win, so
the previous image boots.

One deliberate difference: :func:`mark_valid` only confirms the winning entry when it
names the slot that is actually running (ESP-IDF confirms it blindly, which after a
fallback boot marks the broken slot VALID).
"""

from __future__ import annotations

from dataclasses import dataclass

from esp_at_sim.flash.errors import BootError, ImageError, OtaError
from esp_at_sim.flash.flashfile import FlashImage
from esp_at_sim.flash.image import AppDescriptor, AppImage, parse_descriptor, verify_image
from esp_at_sim.flash.otadata import (
    SECTOR,
    Otadata,
    OtaEntry,
    OtaState,
    active_index,
    all_unusable,
    decode_otadata,
    initial_contents,
    switch_to,
)
from esp_at_sim.flash.partitions import Partition

FACTORY = -1


@dataclass(frozen=True)
class SlotFailure:
    """A slot the bootloader tried and skipped, and why."""

    slot: str
    reason: str


@dataclass(frozen=True, slots=True)
class BootResult:
    """What booted and how the bootloader got there."""

    partition: Partition
    image: AppImage
    app: AppDescriptor
    selected: str  # the slot otadata named before this boot changed anything
    rolled_back: bool  # something other than ``selected`` booted
    aborted: tuple[str, ...]  # slots whose unconfirmed (PENDING_VERIFY) entry was aborted
    failures: tuple[SlotFailure, ...]
    ota_state: int | None  # the running slot's otadata state after boot, if it has one

    @property
    def slot(self) -> str:
        return self.partition.name

    @property
    def offset(self) -> int:
        return self.partition.offset

    @property
    def version(self) -> str:
        return self.app.version


def read_otadata(flash: FlashImage) -> Otadata:
    return decode_otadata(flash.read_partition(flash.otadata))


def _write_entry(flash: FlashImage, sector: int, entry: OtaEntry) -> None:
    at = flash.otadata.offset + sector * SECTOR
    flash.device.erase(at, SECTOR)
    flash.device.program(at, entry.encode())


def _slot_name(flash: FlashImage, index: int) -> str:
    factory = flash.layout.primary.factory
    if index == FACTORY and factory is not None:
        return factory.name
    return flash.slots[max(index, 0)].name if flash.slots else "factory"


def _select(flash: FlashImage, entries: Otadata) -> tuple[int, bool]:
    """The slot index to start from, and whether otadata holds initial contents."""
    count = len(flash.slots)
    if all_unusable(entries) or count == 0:
        if flash.layout.primary.factory is not None:
            return FACTORY, False
        return 0, initial_contents(entries)
    active = active_index(entries)
    return (FACTORY, False) if active is None else (entries[active].slot(count), False)


def verify_partition(flash: FlashImage, part: Partition, *, for_boot: bool = False) -> AppImage:
    """Verify the app image stored in ``part`` for this module's chip.

    A partition that still holds the shared factory bytes of an in-memory flash is
    verified once for every module on that image (the result is immutable)."""
    memo = flash.device.shared_memo(part.offset, part.size)
    key = ("verified", part.offset, part.size, flash.chip, for_boot)
    found = memo.get(key) if memo is not None else None
    if isinstance(found, AppImage):
        return found
    data = flash.read_partition(part)
    image = verify_image(data, chip=flash.chip, partition_size=part.size, for_boot=for_boot)
    if memo is not None:
        memo[key] = image
    return image


def running_state(flash: FlashImage, index: int, entries: Otadata) -> int | None:
    """``esp_ota_get_state_partition``: the first sector naming slot ``index``."""
    count = len(flash.slots)
    for entry in entries:
        if count and index >= 0 and entry.crc_ok and entry.slot(count) == index:
            return entry.state
    return None


def boot(flash: FlashImage, *, dry_run: bool = False) -> BootResult:
    """Run the bootloader against ``flash``; ``dry_run`` predicts without writing."""
    entries = list(read_otadata(flash))
    count = len(flash.slots)
    first, _ = _select(flash, (entries[0], entries[1]))
    writes: dict[int, OtaEntry] = {}
    aborted = []
    for sector in (0, 1):
        if entries[sector].state == OtaState.PENDING_VERIFY:
            entries[sector] = writes[sector] = entries[sector].with_state(OtaState.ABORTED)
            if count and entries[sector].crc_ok:
                aborted.append(flash.slots[entries[sector].slot(count)].name)
    start, initial = _select(flash, (entries[0], entries[1]))
    active = active_index((entries[0], entries[1]))
    if start != FACTORY and active is not None and entries[active].state == OtaState.NEW:
        entries[active] = writes[active] = entries[active].with_state(OtaState.PENDING_VERIFY)
    if not dry_run:
        for sector, entry in sorted(writes.items()):
            _write_entry(flash, sector, entry)
        if writes:
            flash.device.sync()
    order = [*range(start, FACTORY - 1, -1), *range(start + 1, count)]
    failures = []
    for index in order:
        if index == FACTORY:
            part = flash.layout.primary.factory
        else:
            part = flash.slots[index] if index < count else None
        if part is None:
            continue
        try:
            image = verify_partition(flash, part, for_boot=True)
        except ImageError as exc:
            failures.append(SlotFailure(part.name, exc.reason))
            continue
        if initial and index != FACTORY:
            entries[0] = OtaEntry.make(index + 1, OtaState.VALID)
            if not dry_run:
                _write_entry(flash, 0, entries[0])
                flash.device.sync()
        assert image.descriptor is not None
        selected = _slot_name(flash, first)
        return BootResult(
            part, image, image.descriptor, selected, part.name != selected,
            tuple(aborted), tuple(failures), running_state(flash, index, (entries[0], entries[1])),
        )  # fmt: skip
    detail = "; ".join(f"{f.slot}: {f.reason}" for f in failures) or "no app partition"
    raise BootError(f"no bootable app partition ({detail})")


def mark_valid(flash: FlashImage, running: BootResult) -> bool:
    """Confirm the running image (``esp_ota_mark_app_valid_cancel_rollback``).

    Returns whether otadata changed.
    """
    entries = read_otadata(flash)
    active = active_index(entries)
    index = running.partition.ota_index
    if active is None or index is None or entries[active].slot(len(flash.slots)) != index:
        return False
    if entries[active].state == OtaState.VALID:
        return False
    _write_entry(flash, active, entries[active].with_state(OtaState.VALID))
    flash.device.sync()
    return True


def select_slot(flash: FlashImage, part: Partition) -> None:
    """Make ``part`` boot next (state NEW) without verifying it: the caller has."""
    if part.ota_index is None:
        raise OtaError(f"{part.name} is not an OTA app slot")
    sector, entry = switch_to(read_otadata(flash), part.ota_index, len(flash.slots), OtaState.NEW)
    _write_entry(flash, sector, entry)
    flash.device.sync()


def set_boot_partition(flash: FlashImage, part: Partition) -> AppImage:
    """Verify ``part`` and make it boot next, state NEW (``esp_ota_set_boot_partition``)."""
    image = verify_partition(flash, part)
    select_slot(flash, part)
    return image


def next_update_slot(flash: FlashImage, running: Partition) -> Partition:
    """The OTA slot after the running one, wrapping (``esp_ota_get_next_update_partition``)."""
    slots = flash.slots
    if not slots:
        raise OtaError("the partition table has no OTA slots")
    for position, slot in enumerate(slots):
        if slot == running:
            return slots[(position + 1) % len(slots)]
    return slots[0]


@dataclass(frozen=True)
class RollbackInfo:
    """What ``AT+SYSROLLBACK?`` reports."""

    running: Partition
    running_version: str
    target: Partition
    target_version: str | None  # None when the slot holds no app descriptor


def rollback_info(flash: FlashImage, running: BootResult) -> RollbackInfo:
    target = next_update_slot(flash, running.partition)
    desc = parse_descriptor(flash.read_partition(target, 0, 0x200))
    return RollbackInfo(running.partition, running.version, target, desc.version if desc else None)


def rollback(flash: FlashImage, running: BootResult) -> Partition:
    """``AT+SYSROLLBACK``: boot the other slot next if its image verifies."""
    target = next_update_slot(flash, running.partition)
    if target == running.partition:
        raise OtaError("there is no other OTA slot to roll back to")
    try:
        set_boot_partition(flash, target)
    except ImageError as exc:
        raise OtaError(f"cannot roll back: {target.name} holds no valid image ({exc})") from exc
    return target
