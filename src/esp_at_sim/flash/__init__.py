"""The module's flash: ESP-IDF formats, the flash file, boot, OTA and stored settings.

Codecs (pure functions over bytes): :mod:`.partitions` (partition CSV and binary table),
:mod:`.image` (app image parse/verify/build), :mod:`.otadata` (boot slot selection data),
:mod:`.nvs` (NVS pages). On top of a flash file: :mod:`.flashio` (the single class that
writes and syncs), :mod:`.flashfile` (layouts, creation, safe reopening), :mod:`.boot`
(bootloader and rollback), :mod:`.ota` (OTA writer, ``AT+SYSFLASH``), :mod:`.nvs_store`
(crash-safe settings) and :mod:`.info` (text reports). Errors: :mod:`.errors`.
"""

from esp_at_sim.flash.boot import (
    BootResult,
    RollbackInfo,
    boot,
    mark_valid,
    rollback,
    rollback_info,
    set_boot_partition,
)
from esp_at_sim.flash.errors import (
    BootError,
    FlashAccessError,
    FlashError,
    FlashFileError,
    ImageError,
    NvsError,
    OtaError,
    PartitionTableError,
)
from esp_at_sim.flash.flashfile import FlashImage, FlashLayout, load_layout
from esp_at_sim.flash.image import AppDescriptor, AppImage, build_app_image, verify_image
from esp_at_sim.flash.nvs_store import NvsSettingsStore
from esp_at_sim.flash.ota import OtaUpdate, begin_update

__all__ = [
    "AppDescriptor",
    "AppImage",
    "BootError",
    "BootResult",
    "FlashAccessError",
    "FlashError",
    "FlashFileError",
    "FlashImage",
    "FlashLayout",
    "ImageError",
    "NvsError",
    "NvsSettingsStore",
    "OtaError",
    "OtaUpdate",
    "PartitionTableError",
    "RollbackInfo",
    "begin_update",
    "boot",
    "build_app_image",
    "load_layout",
    "mark_valid",
    "rollback",
    "rollback_info",
    "set_boot_partition",
    "verify_image",
]
