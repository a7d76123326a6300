"""NVS partitions made by esp-idf-nvs-partition-gen from ESP-IDF-style CSV files, and
flash files holding them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from esp_at_sim.flash import FlashImage
from esp_at_sim.flash.flashfile import load_layout

NVS_SIZE = 0xE000  # the esp32 layout's nvs partition

STATION_CSV = """key,type,encoding,value
nvs.net80211,namespace,,
opmode,data,u8,1
sta.ssid,data,blob_sz_fill(32;0x00),HomeNet
sta.pswd,data,blob_fill(64;0x00),sunflower42
"""


def generate(csv: str, tmp_path: Path, name: str = "nvs") -> bytes:
    """esp-idf-nvs-partition-gen's partition for ``csv`` (the size of ours)."""
    source, target = tmp_path / f"{name}.csv", tmp_path / f"{name}.bin"
    source.write_text(csv)
    command = [sys.executable, "-m", "esp_idf_nvs_partition_gen", "generate"]
    done = subprocess.run(
        [*command, str(source), str(target), hex(NVS_SIZE)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return target.read_bytes()


def splice(path: Path, nvs: bytes) -> None:
    """A flash file for the esp32 layout with ``nvs`` as its NVS partition."""
    with FlashImage.open(path, load_layout("esp32")) as flash:
        flash.device.erase(flash.nvs.offset, flash.nvs.size)
        flash.device.program(flash.nvs.offset, nvs)
