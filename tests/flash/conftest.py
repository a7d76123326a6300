"""Fixtures for the flash package: layouts, fresh flash files and a booted module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from esp_at_sim.flash import FlashImage, FlashLayout, boot, load_layout, mark_valid
from esp_at_sim.flash.boot import BootResult


@pytest.fixture(scope="session")
def esp32() -> FlashLayout:
    return load_layout("esp32")


@pytest.fixture(scope="session")
def esp32c3() -> FlashLayout:
    return load_layout("esp32c3")


@pytest.fixture
def flash_path(tmp_path: Path) -> Path:
    return tmp_path / "module.flash"


@pytest.fixture
def flash(flash_path: Path, esp32: FlashLayout) -> Iterator[FlashImage]:
    """A fresh ESP32 flash file holding v1.0.0 in ota_0 (fsync off: throwaway file)."""
    with FlashImage.open(flash_path, esp32, version="v1.0.0", durable=False) as image:
        yield image


@pytest.fixture
def running(flash: FlashImage) -> BootResult:
    """The module after its first boot, with AT up (image confirmed)."""
    result = boot(flash)
    mark_valid(flash, result)
    return result
