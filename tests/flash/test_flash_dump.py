"""`esp-at-sim flash import` and `flash export`: a real module's whole flash in and out,
with dumps assembled by esptool (merge_bin, as ESP-AT's factory images are) and NVS made
by esp-idf-nvs-partition-gen."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from nvs_gen import STATION_CSV, generate

from esp_at_sim.cli.main import main
from esp_at_sim.flash import FlashImage, build_app_image
from esp_at_sim.flash.flashfile import FLASH_SIZE, load_layout
from esp_at_sim.flash.partitions import TABLE_OFFSET
from esp_at_sim.testing import assert_no_tasks_left, start_module


def esptool(*args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "esptool", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def factory_dump(tmp_path: Path, nvs: bytes | None = None, layout_name: str = "esp32") -> Path:
    """A whole-flash dump laid out as ESP-AT's factory image, assembled by esptool from
    its parts: bootloader, partition table, otadata, NVS, at_customize table, app."""
    layout = load_layout(layout_name)
    parts = tmp_path / "parts"
    parts.mkdir(exist_ok=True)
    files = {
        "bootloader.bin": build_app_image("bootloader", chip=layout.chip),  # an ESP image
        "partition-table.bin": layout.primary_bin,
        "ota_data_initial.bin": b"\xff" * 0x2000,
        "at_customize.bin": layout.custom_bin,
        "esp-at.bin": build_app_image("v4.1.1.0", chip=layout.chip),
    }
    if nvs is not None:
        files["nvs.bin"] = nvs
    for name, data in files.items():
        (parts / name).write_bytes(data)
    nvs_offset = layout.primary.get("nvs").offset
    boot_at = {"esp32": 0x1000, "esp32c3": 0x0}[layout.chip]
    placed = [
        (boot_at, "bootloader.bin"),
        (TABLE_OFFSET, "partition-table.bin"),
        (layout.primary.get("otadata").offset, "ota_data_initial.bin"),
        (layout.at_customize.offset, "at_customize.bin"),
        (layout.primary.get("ota_0").offset, "esp-at.bin"),
    ]
    if nvs is not None:
        placed.append((nvs_offset, "nvs.bin"))
    target = tmp_path / "dump.bin"
    flat = [item for at, name in sorted(placed) for item in (hex(at), str(parts / name))]
    esptool("--chip", layout.chip, "merge-bin", "-o", str(target), "--pad-to-size", "4MB", *flat)
    return target


@pytest.mark.parametrize("layout", ["esp32", "esp32c3"])
def test_import_takes_a_dump_as_it_is(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], layout: str
) -> None:
    dump = factory_dump(tmp_path, layout_name=layout)
    out = tmp_path / "m.flash"
    assert main(["flash", "import", str(dump), "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"{out}: {layout} layout, chip {layout}\n" in printed
    assert "  ota_0: v4.1.1.0 (esp-at, " in printed and "  boots: ota_0, v4.1.1.0\n" in printed
    assert out.read_bytes() == dump.read_bytes()  # the module's bootloader kept as it is


async def test_an_imported_dump_boots_with_its_wifi_settings(tmp_path: Path) -> None:
    dump = factory_dump(tmp_path, generate(STATION_CSV, tmp_path))
    out = tmp_path / "m.flash"
    assert main(["flash", "import", str(dump), "-o", str(out)]) == 0
    module, at = await start_module(flash=out)
    try:
        assert b"WIFI GOT IP\r\n" in await at.wait_for(b"WIFI GOT IP\r\n")
        assert b'+CWJAP:"HomeNet"' in await at.cmd("AT+CWJAP?")
        assert b"v4.1.1.0" in await at.cmd("AT+GMR")
    finally:
        await module.close()
    await assert_no_tasks_left()


def _damaged(tmp_path: Path, what: str) -> Path:
    dump = factory_dump(tmp_path)
    data = bytearray(dump.read_bytes())
    if what == "size":
        data = data[: FLASH_SIZE // 2]
    elif what == "table":
        data[TABLE_OFFSET : TABLE_OFFSET + 0xC00] = b"\xff" * 0xC00
    elif what == "layout":
        other = load_layout("esp32c3").primary_bin
        data[TABLE_OFFSET : TABLE_OFFSET + len(other)] = other
    elif what == "app":
        ota_0 = load_layout("esp32").primary.get("ota_0").offset
        data[ota_0 : ota_0 + 0x1000] = b"\xff" * 0x1000
    dump.write_bytes(bytes(data))
    return dump


@pytest.mark.parametrize(
    ("what", "message"),
    [
        ("size", "2097152 bytes; a dump of a supported module is the whole 4 MB flash"),
        ("table", "no partition table at 0x8000"),
        ("layout", "are not those of a supported layout (esp32, esp32c3"),
        ("app", "no valid ESP32 app image in ota_0, ota_1: not a dump of an ESP-AT module"),
    ],
)
def test_import_refuses_what_is_not_a_supported_dump(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], what: str, message: str
) -> None:
    dump = _damaged(tmp_path, what)
    out = tmp_path / "m.flash"
    assert main(["flash", "import", str(dump), "-o", str(out)]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_import_never_replaces_a_file_and_names_a_missing_dump(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dump = factory_dump(tmp_path)
    out = tmp_path / "m.flash"
    out.write_bytes(b"mine")
    assert main(["flash", "import", str(dump), "-o", str(out)]) == 2
    assert "exists; not replacing it" in capsys.readouterr().err and out.read_bytes() == b"mine"
    assert main(["flash", "import", str(tmp_path / "nope.bin")]) == 2
    assert "No such file" in capsys.readouterr().err
    assert main(["flash", "import", str(dump)]) == 0  # default: DUMP.flash
    assert Path(f"{dump}.flash").read_bytes() == dump.read_bytes()


def test_export_is_what_esptool_writes_at_0x0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flash = tmp_path / "m.flash"
    with FlashImage.open(flash, load_layout("esp32")) as image:
        image.settings().save({"nvs.net80211:opmode": 2})
    out = tmp_path / "dump.bin"
    assert main(["flash", "export", str(flash), "-o", str(out)]) == 0
    assert "Write it with: esptool --chip esp32 write_flash 0x0" in capsys.readouterr().out
    data = out.read_bytes()
    assert data[:TABLE_OFFSET] == b"\xff" * TABLE_OFFSET
    assert data[TABLE_OFFSET:] == flash.read_bytes()[TABLE_OFFSET:]
    # esptool lays out write_flash's address/file pairs with the same code as merge-bin:
    # the export at 0x0 goes in whole, unpatched, and fills the 4 MB flash exactly
    merged = tmp_path / "merged.bin"
    esptool(
        "--chip", "esp32", "merge-bin", "-o", str(merged), "--pad-to-size", "4MB", "0x0", str(out)
    )
    assert merged.read_bytes() == data
    # and the export imports back as the same module
    back = tmp_path / "back.flash"
    assert main(["flash", "import", str(out), "-o", str(back)]) == 0
    assert back.read_bytes() == data


def test_export_with_a_bootloader_and_its_refusals(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flash = tmp_path / "m.flash"
    FlashImage.open(flash, load_layout("esp32")).close()
    loader = tmp_path / "bootloader.bin"
    loader.write_bytes(build_app_image("boot", chip="esp32"))
    out = tmp_path / "dump.bin"
    argv = ["flash", "export", str(flash), "-o", str(out), "--bootloader", str(loader)]
    assert main(argv) == 0
    data = out.read_bytes()
    assert data[0x1000 : 0x1000 + loader.stat().st_size] == loader.read_bytes()
    assert data[:0x1000] == b"\xff" * 0x1000
    loader.write_bytes(build_app_image("boot", chip="esp32c3"))
    assert main(argv) == 2
    assert "the bootloader is not for ESP32" in capsys.readouterr().err
    loader.write_bytes(b"\x00" * 64)
    assert main(argv) == 2
    assert "the bootloader is not an ESP image" in capsys.readouterr().err
    assert main(["flash", "export", str(tmp_path / "nope.flash"), "-o", str(out)]) == 2
    assert "does not exist" in capsys.readouterr().err
