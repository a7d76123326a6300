"""What start-up got faster by must stay right: a new flash file, written block by block,
holds exactly the initial contents; a throwaway one (a module's temporary flash) is
never fsynced; the built-in scenario is parsed once and shared, being immutable."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

from esp_at_sim.flash.flashfile import (
    DEFAULT_VERSION,
    create_flash_file,
    initial_contents,
    load_layout,
)
from esp_at_sim.scenario import default_scenario


@pytest.mark.parametrize("chip", ["esp32", "esp32c3"])
def test_new_flash_file_holds_the_initial_contents(tmp_path: Path, chip: str) -> None:
    layout = load_layout(chip)
    path = tmp_path / "new.flash"
    create_flash_file(path, layout)
    assert path.read_bytes() == initial_contents(layout, DEFAULT_VERSION)


def test_throwaway_flash_file_is_not_synced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_fsync(fd: int) -> None:
        raise AssertionError("fsync of a throwaway flash file")

    monkeypatch.setattr(os, "fsync", no_fsync)
    create_flash_file(tmp_path / "tmp.flash", load_layout("esp32"), durable=False)
    with pytest.raises(AssertionError):
        create_flash_file(tmp_path / "kept.flash", load_layout("esp32"))


def test_default_scenario_is_shared_and_immutable() -> None:
    home = default_scenario()
    assert default_scenario() is home
    assert isinstance(home.aps, tuple) and isinstance(home.phones, tuple)
    with pytest.raises(dataclasses.FrozenInstanceError):
        home.aps[0].ssid = "changed"  # type: ignore[misc]
