"""The flash operations the crash tests interrupt, shared by the test and its child process.

Each operation starts from a module that booted v1.0.0 from ota_0, confirmed it and
stored ``OLD`` settings. ``ota`` uploads v2.0.0 into ota_1 and switches to it, ``switch``
selects an image already in ota_1 then boots and confirms it, ``settings`` saves ``NEW``.
After a crash at any point the module must boot v1.0.0 or v2.0.0 and hold OLD or NEW.
"""

from __future__ import annotations

from pathlib import Path

from esp_at_sim.core.settings import Settings
from esp_at_sim.flash import (
    FlashImage,
    begin_update,
    boot,
    build_app_image,
    load_layout,
    mark_valid,
    set_boot_partition,
)

OPS = ("ota", "switch", "settings")
V1, V2 = "v1.0.0", "v2.0.0"
IMAGE = build_app_image(V2, size=40_000)
# OLD spans two NVS pages with "legacy" on the first; the save deletes it, so a
# generation mixed from old and new pages would show up.
OLD: Settings = {"legacy": "gone soon", "ssid": "Old", "mode": 1, "cert": bytes(range(256)) * 20}
NEW: Settings = {"ssid": "New network", "mode": 3, "cert": bytes(range(255, -1, -1)) * 24}
LAYOUT = load_layout("esp32")


def prepare(op: str, path: Path) -> None:
    with FlashImage.open(path, LAYOUT, version=V1, durable=False) as flash:
        mark_valid(flash, boot(flash))
        flash.settings().save(OLD)
        if op == "switch":
            flash.device.program(flash.slots[1].offset, IMAGE)


def run(op: str, flash: FlashImage) -> None:
    if op == "ota":
        running = boot(flash)
        update = begin_update(flash, running)
        for at in range(0, len(IMAGE), 1024):
            update.write(IMAGE[at : at + 1024])
        update.end()
    elif op == "switch":
        set_boot_partition(flash, flash.slots[1])
        mark_valid(flash, boot(flash))
    elif op == "settings":
        flash.settings().save({**NEW, "legacy": None})
    else:
        raise ValueError(op)


def check(path: Path) -> tuple[str, Settings]:
    """Boot the file like the module would; return the version and the settings.

    The slot otadata selects must verify: a crash may never leave otadata pointing at
    an image that is not completely on disk (the bootloader would fall back, but that
    is a rollback the user did not ask for).
    """
    with FlashImage.open(path, LAYOUT, durable=False) as flash:
        result = boot(flash)
        assert not result.failures, result.failures
        return result.version, flash.settings().load()
