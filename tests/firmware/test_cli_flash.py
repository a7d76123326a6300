"""esp-at-sim image build/info and flash info, and run --flash/--module."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from esp_at_sim.cli.main import main
from esp_at_sim.device.firmware import Firmware
from esp_at_sim.flash.image import verify_image
from esp_at_sim.flash.otadata import OtaState

ROOT = Path(__file__).resolve().parents[2]


def test_image_build_then_info(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "fw.bin"
    assert (
        main(
            [
                "image",
                "build",
                "--version",
                "v7.1",
                "--chip",
                "esp32c3",
                "--size",
                "65536",
                "-o",
                str(out),
            ]
        )
        == 0
    )
    data = out.read_bytes()
    assert len(data) == 65536
    assert verify_image(data, chip="esp32c3").descriptor.version == "v7.1"  # type: ignore[union-attr]
    capsys.readouterr()
    assert main(["image", "info", str(out)]) == 0
    text = capsys.readouterr().out
    assert "version:        v7.1" in text
    assert "Verdict:       valid ESP32-C3 app image" in text


def test_image_build_size_is_exact_or_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "fw.bin"
    assert main(["image", "build", "--version", "v1", "--size", "417", "-o", str(out)]) == 2
    assert "417 is not (416 or 432 is)" in capsys.readouterr().err
    assert not out.exists()
    assert main(["image", "build", "--version", "v1", "--size", "432", "-o", str(out)]) == 0
    assert len(out.read_bytes()) == 432


def test_image_info_rejects_a_bit_flip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "fw.bin"
    assert main(["image", "build", "--version", "v1", "-o", str(out)]) == 0
    data = bytearray(out.read_bytes())
    data[0x40] ^= 0x01
    out.write_bytes(bytes(data))
    capsys.readouterr()
    assert main(["image", "info", str(out)]) == 1
    assert "INVALID" in capsys.readouterr().out


def test_image_info_of_a_missing_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["image", "info", "/nonexistent/fw.bin"]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_flash_info(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "m.flash"
    Firmware.open(path).close()
    before = path.read_bytes()
    assert main(["flash", "info", str(path)]) == 0
    text = capsys.readouterr().out
    assert "ota_0" in text and "mfg_nvs" in text and "Boot slot: ota_0" in text
    assert path.read_bytes() == before  # inspection never writes


def test_flash_info_refuses_garbage(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "junk.flash"
    path.write_bytes(b"\x00" * 4096)
    assert main(["flash", "info", str(path)]) == 1
    assert "not a flash image" in capsys.readouterr().err


def run_cli(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "esp_at_sim", "run", "--at", "stdio", "--time-scale", "0", *args],
        input=stdin,
        capture_output=True,
        timeout=30,
        cwd=ROOT,
    )


def test_run_flash_keeps_settings_and_refuses_other_layouts(tmp_path: Path) -> None:
    path = tmp_path / "m.flash"
    first = run_cli("--flash", str(path), stdin=b"AT+CWMODE=2\r\n")
    assert first.returncode == 0, first.stderr
    second = run_cli("--flash", str(path), stdin=b"AT+CWMODE?\r\n")
    assert b"+CWMODE:2\r\n" in second.stdout
    before = path.read_bytes()
    other = run_cli("--flash", str(path), "--module", "esp32c3")
    assert other.returncode == 2
    assert b"refusing" in other.stderr
    assert path.read_bytes() == before


def test_run_module_esp32c3_and_custom_dir(tmp_path: Path) -> None:
    result = run_cli("--module", "esp32c3", stdin=b"AT+SYSFLASH?\r\n")
    assert result.returncode == 0, result.stderr
    assert b'+SYSFLASH:"mfg_nvs"' in result.stdout
    layout = tmp_path / "layout"
    layout.mkdir()
    src = ROOT / "src" / "esp_at_sim" / "data" / "layouts" / "esp32"
    (layout / "partitions_at.csv").write_text((src / "partitions_at.csv").read_text())
    (layout / "at_customize.csv").write_text(
        "# Name,Type,SubType,Offset,Size\nmfg_nvs,data,nvs,0x21000,0x1c000\n"
        "client_cert,0x40,3,,8K\n"
    )
    result = run_cli("--module", str(layout), stdin=b"AT+SYSFLASH?\r\n")
    assert result.returncode == 0, result.stderr
    assert b'+SYSFLASH:"client_cert",64,3,0x3d000,0x2000' in result.stdout
    bad = tmp_path / "nolayout"
    bad.mkdir()
    result = run_cli("--module", str(bad))
    assert result.returncode == 2


def test_otadata_state_after_run(tmp_path: Path) -> None:
    path = tmp_path / "m.flash"
    assert run_cli("--flash", str(path), stdin=b"AT\r\n").returncode == 0
    firmware = Firmware.open(path)
    try:
        running = firmware.boot()
        assert running is not None and running.slot == "ota_0"
        assert running.ota_state in (None, OtaState.VALID)
    finally:
        firmware.close()


def test_flash_load_installs_for_next_boot(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "m.flash"
    Firmware.open(path).close()
    image = tmp_path / "fw.bin"
    assert main(["image", "build", "--version", "v8.8.8", "-o", str(image)]) == 0
    assert main(["flash", "load", str(path), str(image)]) == 0
    assert "ota_1" in capsys.readouterr().out
    result = run_cli("--flash", str(path), stdin=b"AT+GMR\r\n")
    assert b"Bin version:v8.8.8(WROOM-32)" in result.stdout


def test_flash_load_twice_replaces_the_image_that_never_ran(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "m.flash"
    Firmware.open(path).close()
    first, second = tmp_path / "a.bin", tmp_path / "b.bin"
    assert main(["image", "build", "--version", "v8.8.8", "-o", str(first)]) == 0
    assert main(["image", "build", "--version", "v9.9.9", "-o", str(second)]) == 0
    assert main(["flash", "load", str(path), str(first)]) == 0
    capsys.readouterr()
    assert main(["flash", "info", str(path)]) == 0
    assert "NEW" in capsys.readouterr().out
    # Nothing runs the first image yet: the second load replaces it in the same slot,
    # and the factory firmware in ota_0 stays the fallback.
    assert main(["flash", "load", str(path), str(second)]) == 0
    captured = capsys.readouterr()
    assert "PENDING_VERIFY" not in captured.err
    assert "written to ota_1 (v9.9.9)" in captured.out
    result = run_cli("--flash", str(path), stdin=b"AT+GMR\r\n")
    assert b"Bin version:v9.9.9(WROOM-32)" in result.stdout
    capsys.readouterr()
    assert main(["flash", "info", str(path)]) == 0
    info = capsys.readouterr().out
    assert "v4.1.1.0" in info and "v8.8.8" not in info


def test_flash_load_of_an_image_too_large_quotes_its_size(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "m.flash"
    Firmware.open(path).close()
    image = tmp_path / "big.bin"
    size = 0x180000 + 0x10010
    assert main(["image", "build", "--version", "v9", "--size", str(size), "-o", str(image)]) == 0
    assert main(["flash", "load", str(path), str(image)]) == 1
    err = capsys.readouterr().err
    assert f"{size} bytes do not fit ota_1 ({0x180000} bytes)" in err
    result = run_cli("--flash", str(path), stdin=b"AT+GMR\r\n")
    assert b"Bin version:v4.1.1.0(WROOM-32)" in result.stdout


def test_flash_load_rejects_a_bad_image_and_keeps_the_boot(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "m.flash"
    Firmware.open(path).close()
    image = tmp_path / "fw.bin"
    assert (
        main(["image", "build", "--version", "v8.8.8", "--chip", "esp32c3", "-o", str(image)]) == 0
    )
    assert main(["flash", "load", str(path), str(image)]) == 1
    assert "ESP32-C3" in capsys.readouterr().err
    result = run_cli("--flash", str(path), stdin=b"AT+GMR\r\n")
    assert b"Bin version:v4.1.1.0(WROOM-32)" in result.stdout
