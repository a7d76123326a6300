"""``run --script`` on a flash where nothing boots: the script can never run, so the run
ends with exit status 1 and the bootloader's reason instead of waiting forever."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from esp_at_sim.device.firmware import Firmware

RUN_TIMEOUT = 30.0  # seconds; today's code never exits


def unbootable_flash(path: Path) -> Path:
    firmware = Firmware.open(path)
    try:
        slot = firmware.flash.slots[0]  # factory firmware lives in ota_0; ota_1 is empty
        firmware.flash.device.erase(slot.offset, slot.size)
    finally:
        firmware.close()
    return path


@pytest.mark.parametrize("script", ["AT\nAT+GMR\n", "# only a comment\n"])
def test_run_script_with_nothing_bootable_exits_1(tmp_path: Path, script: str) -> None:
    flash = unbootable_flash(tmp_path / "m.flash")
    script_file = tmp_path / "start.at"
    script_file.write_text(script)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "esp_at_sim",
            "run",
            "--at",
            "tcp:127.0.0.1:0",
            "--time-scale",
            "0",
            "--flash",
            str(flash),
            "--script",
            str(script_file),
        ],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
    )
    assert done.returncode == 1, done.stderr
    assert "esp-at-sim: the module did not boot: no bootable app partition (ota_0:" in done.stderr
    assert "Traceback" not in done.stderr
    assert "AT port:" not in done.stdout  # the port was never handed over
