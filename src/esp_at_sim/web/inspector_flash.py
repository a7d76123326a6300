"""The inspector's flash map: the partitions to scale, the sectors written since the
inspector started, both otadata sectors, each app slot's version and the settings in NVS
(secrets masked unless asked), all read from the module's flash now."""

from __future__ import annotations

from typing import Any

from ..device.firmware import Firmware
from ..device.settings_schema import SECRET_KEYS
from ..flash.boot import read_otadata, verify_partition
from ..flash.errors import FlashError, ImageError
from ..flash.flashfile import FlashImage
from ..flash.nvs import NvsItem
from ..flash.otadata import state_name

SECTOR = 4096
SECRET_SHOWN = "***"


class FlashWatch:
    """What the flash held when the inspector started, to tell the sectors written since."""

    def __init__(self, firmware: Firmware | None) -> None:
        self.firmware = firmware
        flash = firmware.flash if firmware is not None else None
        self._start = flash.device.read(0, flash.device.size) if flash is not None else b""

    def written(self, flash: FlashImage) -> list[int]:
        """The numbers of the sectors whose bytes differ from the start."""
        now = flash.device.read(0, flash.device.size)
        return [
            i // SECTOR
            for i in range(0, min(len(now), len(self._start)), SECTOR)
            if now[i : i + SECTOR] != self._start[i : i + SECTOR]
        ]

    def map(self, *, show_secrets: bool = False) -> dict[str, Any] | None:
        """The flash as the page draws it; ``None`` for a module without flash."""
        if self.firmware is None:
            return None
        flash = self.firmware.flash
        return {
            "size": flash.device.size,
            "sector": SECTOR,
            "partitions": [
                {
                    "name": p.name,
                    "type": p.type_name,
                    "subtype": p.subtype_name,
                    "offset": p.offset,
                    "size": p.size,
                }
                for table in (flash.layout.primary, flash.layout.custom)
                for p in table.partitions
            ],
            "written": self.written(flash),
            "otadata": _otadata(flash),
            "slots": [_slot(flash, i) for i in range(len(flash.slots))],
            "nvs": _nvs(flash, show_secrets),
        }


def _otadata(flash: FlashImage) -> list[dict[str, Any]]:
    if flash.layout.primary.otadata is None:
        return []
    slots = len(flash.slots)
    return [
        {
            "sector": index,
            "blank": entry.is_blank,
            "seq": entry.seq,
            "state": state_name(entry.state),
            "crc_ok": entry.crc_ok,
            "slot": flash.slots[entry.slot(slots)].name if slots and entry.crc_ok else None,
        }
        for index, entry in enumerate(read_otadata(flash))
    ]


def _slot(flash: FlashImage, index: int) -> dict[str, Any]:
    slot = flash.slots[index]
    try:
        desc = verify_partition(flash, slot, for_boot=True).descriptor
    except ImageError as exc:
        return {"name": slot.name, "valid": False, "problem": exc.reason, "version": None}
    return {"name": slot.name, "valid": True, "version": desc.version if desc else None}


def _nvs(flash: FlashImage, show_secrets: bool) -> list[dict[str, Any]]:
    try:
        items = flash.settings().items()
    except FlashError as exc:
        return [{"namespace": "", "key": "", "type": "", "value": f"unreadable: {exc.reason}"}]
    return [
        {
            "namespace": item.namespace,
            "key": item.key,
            "type": item.type.name,
            "value": SECRET_SHOWN if item.key in SECRET_KEYS and not show_secrets else _value(item),
        }
        for item in items
    ]


def _value(item: NvsItem) -> str:
    if isinstance(item.value, bytes):
        raw = item.value.rstrip(b"\0")
        if raw and all(32 <= b < 127 for b in raw):
            return f'"{raw.decode()}" ({len(item.value)} bytes)'
        text = item.value[:48].hex()
        return f"<{len(item.value)} bytes> {text}{'…' if len(item.value) > 48 else ''}"
    return str(item.value)
