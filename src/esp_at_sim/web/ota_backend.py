"""What the OTA endpoints need from the module's flash, behind one small interface.

:class:`OtaBackend` answers ``/getotainfo`` (:meth:`~OtaBackend.info`) and opens an upload
(:meth:`~OtaBackend.begin`) that ``/setotadata`` streams into chunk by chunk.
:class:`FlashBackend` implements it on the module's flash (``module.firmware``, with
:mod:`esp_at_sim.flash.ota` underneath): ``ota`` means the next OTA slot (verified at
the end, booted at the next reset), any other name a partition of the ``at_customize``
table (written raw). :class:`NoFlash` stands in for a module without flash: it reports
the module's identity and the default layout and refuses uploads.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from ..flash.boot import BootResult
from ..flash.errors import FlashError
from ..flash.flashfile import load_layout
from ..flash.ota import OtaUpdate
from ..flash.partitions import Partition

if TYPE_CHECKING:
    from ..device.firmware import Firmware as DeviceFirmware
    from ..device.module import Module
    from ..radio.world import ModuleConfig

OTA_OBJECT = "ota"  # an Object header starting with this names the next OTA slot


class FirmwareError(Exception):
    """An upload cannot start or go on; the message says why (for the event log and the
    failure answer), :attr:`kind` sorts it (see :data:`esp_at_sim.flash.errors.KINDS`,
    plus ``no_flash`` and ``interrupted``)."""

    def __init__(self, message: str, kind: str = "failed") -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class FirmwareInfo:
    """What ``/getotainfo`` reports."""

    fw_version: str
    at_core_version: str
    partitions: tuple[str, ...]
    pending_slot: str | None = None  # what the next reset boots, when not the running image
    pending_version: str | None = None
    sizes: tuple[int, ...] = ()  # the size in bytes of each of ``partitions``, in order


class UploadSink(Protocol):
    """An upload in progress. :meth:`write` and :meth:`abort` never wait for the disk;
    :meth:`finish` does when :attr:`waits_for_disk` is true (it syncs a flash file)."""

    @property
    def waits_for_disk(self) -> bool: ...

    def write(self, chunk: bytes) -> None:
        """Store the next chunk; :class:`FirmwareError` when it cannot be stored."""

    def finish(self) -> None:
        """All data is in: verify and commit; :class:`FirmwareError` when it fails."""

    def abort(self) -> None:
        """Give up; whatever runs now keeps running and booting."""


class OtaBackend(Protocol):
    def info(self) -> FirmwareInfo: ...

    def begin(self, target: str, size: int | None) -> UploadSink:
        """Open an upload of ``size`` bytes (``None``: not known in advance) to
        ``target`` (the ``Object`` header); :class:`FirmwareError` when refused."""
        ...


def core_version(text: str) -> str:
    """An AT version as the four numbers ``a.b.c.d`` the web API shows."""
    numbers = [int(n) for n in re.findall(r"\d+", text)[:4]]
    return ".".join(str(n) for n in numbers + [0] * (4 - len(numbers)))


class _FlashSink:
    def __init__(self, update: OtaUpdate) -> None:
        self._update = update

    @property
    def waits_for_disk(self) -> bool:
        return self._update.syncs

    def write(self, chunk: bytes) -> None:
        try:
            self._update.write(chunk)
        except FlashError as exc:
            raise FirmwareError(exc.reason, exc.kind) from exc

    def finish(self) -> None:
        try:
            self._update.end()
        except FlashError as exc:
            raise FirmwareError(exc.reason, exc.kind) from exc

    def abort(self) -> None:
        self._update.abort()


class FlashBackend:
    """Uploads into the module's flash (``module.firmware``): ``ota`` to the slot after
    the running one, other names to ``at_customize`` partitions."""

    def __init__(self, firmware: DeviceFirmware, at_version: str) -> None:
        self._firmware = firmware
        self._at_version = at_version

    def _running(self) -> BootResult:
        running = self._firmware.running
        if running is None:
            raise FirmwareError("no firmware is running")
        return running

    def _update_slot(self) -> Partition | None:
        try:
            slot = self._firmware.update_slot()
        except FlashError:
            return None
        return None if slot == self._running().partition else slot

    def info(self) -> FirmwareInfo:
        parts = list(self._firmware.user_partitions())
        labels = [p.name for p in parts]
        sizes = [p.size for p in parts]
        slot = self._update_slot()
        if slot is not None:
            labels.insert(0, OTA_OBJECT)
            sizes.insert(0, slot.size)
        version = core_version(self._at_version)
        pending = self._firmware.pending()
        return FirmwareInfo(
            self._running().version,
            version,
            tuple(labels),
            pending.slot if pending else None,
            pending.version if pending else None,
            tuple(sizes),
        )

    def begin(self, target: str, size: int | None) -> UploadSink:
        label: str | None = None
        if target.startswith(OTA_OBJECT):
            part = self._update_slot()
            if part is None:
                raise FirmwareError("there is no OTA slot to update", "no_partition")
        else:
            found = [p for p in self._firmware.user_partitions() if p.name == target]
            if not found:
                raise FirmwareError(
                    f"no partition named {target!r} in at_customize", "no_partition"
                )
            part = found[0]
            label = part.name
            if size == 0:
                raise FirmwareError("an empty body", "empty")
        if size is not None and size > part.size:
            raise FirmwareError(
                f"{size} bytes do not fit {part.name} ({part.size} bytes)", "too_large"
            )
        try:
            return _FlashSink(self._firmware.begin_update(label))
        except FlashError as exc:
            raise FirmwareError(exc.reason, exc.kind) from exc


class NoFlash:
    """A module without a flash file: versions from its identity, no uploads."""

    def __init__(self, identity: ModuleConfig) -> None:
        self._identity = identity

    def info(self) -> FirmwareInfo:
        try:
            layout = load_layout(self._identity.chip)
        except (FlashError, OSError):
            labels: tuple[str, ...] = (OTA_OBJECT,)
            sizes: tuple[int, ...] = ()
        else:
            custom = layout.custom.partitions
            slots = [p for p in layout.primary.partitions if p.is_app and p.ota_index is not None]
            labels = (OTA_OBJECT, *(p.name for p in custom))
            sizes = (slots[-1].size, *(p.size for p in custom)) if slots else ()
        return FirmwareInfo(
            self._identity.bin_version,
            core_version(self._identity.at_version),
            labels,
            sizes=sizes,
        )

    def begin(self, target: str, size: int | None) -> UploadSink:
        raise FirmwareError("the module has no flash to write to", "no_flash")


def module_backend(module: Module) -> OtaBackend:
    """The backend for ``module`` as it is now: its flash once a firmware runs, else
    :class:`NoFlash`."""
    firmware = module.firmware
    if firmware is None or firmware.running is None:
        return NoFlash(module.identity)
    return FlashBackend(firmware, module.identity.at_version)
