"""The module's flash as the running firmware sees it.

:class:`Firmware` opens (or creates) the flash file, boots whatever otadata selects the
way the bootloader does, confirms the running image once AT is up, and offers what the
commands and the web server need: the stored settings (NVS), OTA updates, the user
partitions of ``at_customize`` and rollback. Without a flash file the module's flash lives
in memory (:meth:`~esp_at_sim.flash.flashfile.FlashImage.in_memory`): nothing is written
to disk, so nothing is left behind however the process ends.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, replace
from pathlib import Path

from ..flash.boot import (
    BootResult,
    RollbackInfo,
    boot,
    mark_valid,
    next_update_slot,
    rollback,
    rollback_info,
)
from ..flash.errors import BootError
from ..flash.flashfile import FlashImage, load_layout
from ..flash.image import build_app_image
from ..flash.mfg import MFG_PARTITION, MfgNvs
from ..flash.nvs_read import Damage
from ..flash.nvs_store import NvsSettingsStore
from ..flash.ota import (
    OtaUpdate,
    begin_update,
    sysflash_erase,
    sysflash_read,
    sysflash_write,
    user_partitions,
)
from ..flash.otadata import OtaState
from ..flash.partitions import Partition


@dataclass(frozen=True)
class FactoryFirmware:
    """What the image in ``ota_0`` of a new flash file says about itself."""

    version: str = "v4.1.1.0"
    idf_ver: str = "v5.4.1"
    date: str = "Nov 24 2026"
    time: str = "08:00:00"
    project_name: str = "esp-at"

    def image(self, chip: str) -> bytes:
        """The image's bytes (built once per process for each version and chip: every
        module of a fleet shares one)."""
        return _factory_image(self, chip)


@functools.lru_cache(maxsize=16)
def _factory_image(firmware: FactoryFirmware, chip: str) -> bytes:
    return build_app_image(
        firmware.version,
        chip=chip,
        project_name=firmware.project_name,
        date=firmware.date,
        time=firmware.time,
        idf_ver=firmware.idf_ver,
    )


class Firmware:
    """A flash file in use by one module."""

    __slots__ = ("_store", "flash", "last_error", "running")

    def __init__(self, flash: FlashImage) -> None:
        self.flash = flash
        self.running: BootResult | None = None
        self.last_error: str | None = None
        self._store = flash.settings()

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str] | None,
        *,
        layout: str | os.PathLike[str] = "esp32",
        chip: str | None = None,
        factory: FactoryFirmware | None = None,
        durable: bool = True,
    ) -> Firmware:
        """Open ``path`` (created on first use) or, with ``None``, a flash in memory.

        Raises :class:`~esp_at_sim.flash.errors.FlashError` for a file of another layout
        or one that is not a flash image; such a file is never overwritten.
        """
        flash_layout = load_layout(layout, chip=chip)
        image = (factory or FactoryFirmware()).image(flash_layout.chip)
        if path is not None:
            flash = FlashImage.open(path, flash_layout, factory_image=image, durable=durable)
            return cls(flash)
        return cls(FlashImage.in_memory(flash_layout, factory_image=image))

    @property
    def path(self) -> Path:
        return self.flash.path

    @property
    def chip(self) -> str:
        return self.flash.chip

    def settings_store(self) -> NvsSettingsStore:
        return self._store

    def mfg(self) -> MfgNvs | None:
        """The ``mfg_nvs`` partition (PKI and factory data), ``None`` when the layout has
        none."""
        part = self.flash.partition(MFG_PARTITION)
        return None if part is None else MfgNvs(self.flash.device, part.offset, part.size)

    def settings_damage(self) -> list[Damage]:
        """What the last read of the stored settings found damaged, and what it cost."""
        return list(self._store.damage)

    def boot(self) -> BootResult | None:
        """Run the bootloader; ``None`` (and :attr:`last_error`) when nothing boots."""
        try:
            self.running = boot(self.flash)
        except BootError as exc:
            self.running = None
            self.last_error = exc.reason
            return None
        self.last_error = None
        return self.running

    def confirm(self) -> bool:
        """The application is up: confirm the running image (cancels rollback)."""
        if self.running is None:
            return False
        changed = mark_valid(self.flash, self.running)
        if changed:
            self.running = replace(self.running, ota_state=int(OtaState.VALID))
        return changed

    def pending(self) -> BootResult | None:
        """The image the next reset boots when it is not the running one (an accepted
        upload or ``AT+SYSROLLBACK`` waiting for a reset), predicted by a dry-run boot."""
        if self.running is None:
            return None
        try:
            following = boot(self.flash, dry_run=True)
        except BootError:
            return None
        return None if following.partition == self.running.partition else following

    def _require_running(self) -> BootResult:
        if self.running is None:
            raise BootError("no firmware is running")
        return self.running

    def begin_update(self, target: str | None = None) -> OtaUpdate:
        """Start an OTA update of the next slot (``None``) or of a user partition."""
        return begin_update(self.flash, self._require_running(), target)

    def update_slot(self) -> Partition:
        """The slot the next app update goes to."""
        return next_update_slot(self.flash, self._require_running().partition)

    def user_partitions(self) -> tuple[Partition, ...]:
        return user_partitions(self.flash)

    def sysflash_read(self, name: str, offset: int, length: int) -> bytes:
        return sysflash_read(self.flash, name, offset, length)

    def sysflash_write(self, name: str, offset: int, data: bytes) -> None:
        sysflash_write(self.flash, name, offset, data)

    def sysflash_erase(self, name: str, offset: int | None, length: int | None) -> None:
        sysflash_erase(self.flash, name, offset, length)

    def rollback_info(self) -> RollbackInfo:
        return rollback_info(self.flash, self._require_running())

    def rollback(self) -> Partition:
        return rollback(self.flash, self._require_running())

    def close(self) -> None:
        self.flash.close()
