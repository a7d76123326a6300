"""esp-at-sim flash pki: certificates into mfg_nvs without AT, under the flash lock."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import trustme

from esp_at_sim.cli.main import main
from esp_at_sim.device.firmware import Firmware
from esp_at_sim.flash.flashfile import FlashImage
from esp_at_sim.testing import start_module


def mfg_items(path: Path) -> dict[tuple[str, str], bytes]:
    firmware = Firmware.open(path)
    try:
        mfg = firmware.mfg()
        assert mfg is not None
        return {(i.namespace, i.key): i.value for i in mfg.items()}  # type: ignore[misc]
    finally:
        firmware.close()


@pytest.fixture
def pki(tmp_path: Path) -> dict[str, Path]:
    ca = trustme.CA()
    server = ca.issue_cert("api.example.com")
    client = ca.issue_cert("device-1")
    other = trustme.CA()
    files = {
        "ca": ca.cert_pem.bytes(),
        "other_ca": other.cert_pem.bytes(),
        "cert": client.cert_chain_pems[0].bytes(),
        "key": client.private_key_pem.bytes(),
        "server_cert": server.cert_chain_pems[0].bytes(),
        "server_key": server.private_key_pem.bytes(),
    }
    out = {}
    for name, data in files.items():
        out[name] = tmp_path / f"{name}.pem"
        out[name].write_bytes(data)
    return out


def test_writes_each_kind_under_esp_at_keys(
    tmp_path: Path, pki: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    flash = tmp_path / "m.flash"
    Firmware.open(flash).close()
    args = ["flash", "pki", str(flash), "--client-ca", str(pki["ca"])]
    args += ["--client-ca", str(pki["other_ca"]), "--client-cert", str(pki["cert"])]
    args += ["--client-key", str(pki["key"]), "--server-cert", str(pki["server_cert"])]
    args += ["--server-key", str(pki["server_key"]), "--server-ca", str(pki["ca"])]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert f"{flash}: mfg_nvs client_ca: 2 files" in out
    assert f"{flash}: mfg_nvs server_key: 1 file" in out
    items = mfg_items(flash)
    assert items == {
        ("client_ca", "client_ca.0"): pki["ca"].read_bytes(),
        ("client_ca", "client_ca.1"): pki["other_ca"].read_bytes(),
        ("client_cert", "client_cert"): pki["cert"].read_bytes(),
        ("client_key", "client_key"): pki["key"].read_bytes(),
        ("server_ca", "server_ca"): pki["ca"].read_bytes(),
        ("server_cert", "server_cert"): pki["server_cert"].read_bytes(),
        ("server_key", "server_key"): pki["server_key"].read_bytes(),
    }
    # a second run replaces a kind whole; --erase empties one; the rest stays
    args = ["flash", "pki", str(flash), "--client-ca", str(pki["other_ca"])]
    assert main([*args, "--erase", "server_key"]) == 0
    items = mfg_items(flash)
    assert items[("client_ca", "client_ca")] == pki["other_ca"].read_bytes()
    assert ("client_ca", "client_ca.1") not in items
    assert ("server_key", "server_key") not in items
    assert ("server_cert", "server_cert") in items


async def test_a_module_reads_what_flash_pki_wrote(tmp_path: Path, pki: dict[str, Path]) -> None:
    flash = tmp_path / "m.flash"
    Firmware.open(flash).close()
    assert main(["flash", "pki", str(flash), "--client-cert", str(pki["cert"])]) == 0
    module, at = await start_module(flash=flash)
    try:
        assert await at.cmd("AT+SYSMFG?") == b'AT+SYSMFG?\r\n+SYSMFG:"client_cert"\r\n\r\nOK\r\n'
        assert await at.cmd('AT+SYSMFG=1,"client_cert"') == (
            b'AT+SYSMFG=1,"client_cert"\r\n+SYSMFG:"client_cert","client_cert",8\r\n\r\nOK\r\n'
        )
    finally:
        await module.close()


def test_a_flash_file_in_use_is_left_alone(
    tmp_path: Path, pki: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    flash = tmp_path / "m.flash"
    Firmware.open(flash).close()
    before = flash.read_bytes()
    with FlashImage.open(flash, create=False):  # another writer holds the lock
        assert main(["flash", "pki", str(flash), "--client-ca", str(pki["ca"])]) == 2
    assert f"in use by process {os.getpid()}" in capsys.readouterr().err
    assert flash.read_bytes() == before


@pytest.mark.parametrize(
    ("extra", "code", "message"),
    [
        ([], 2, "nothing to write"),
        (["--client-ca", "/nonexistent/ca.pem"], 2, "cannot read /nonexistent/ca.pem"),
        (["--erase", "client_ca"], 1, "does not exist"),  # never creates a flash file
    ],
)
def test_refusals(
    tmp_path: Path, extra: list[str], code: int, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    flash = tmp_path / "absent.flash"
    assert main(["flash", "pki", str(flash), *extra]) == code
    assert message in capsys.readouterr().err
    assert not flash.exists()


def test_an_empty_file_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    flash = tmp_path / "m.flash"
    Firmware.open(flash).close()
    empty = tmp_path / "empty.pem"
    empty.write_bytes(b"")
    assert main(["flash", "pki", str(flash), "--client-key", str(empty)]) == 2
    assert "is empty" in capsys.readouterr().err


def test_a_file_that_is_not_a_flash_image(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    junk = tmp_path / "junk.flash"
    junk.write_bytes(b"\x00" * 4096)
    ca = tmp_path / "ca.pem"
    ca.write_bytes(trustme.CA().cert_pem.bytes())
    assert main(["flash", "pki", str(junk), "--client-ca", str(ca)]) == 1
    assert "not written" in capsys.readouterr().err
    assert junk.read_bytes() == b"\x00" * 4096


def test_mfg_capacity_counts_every_page_but_the_spare(tmp_path: Path) -> None:
    firmware = Firmware.open(tmp_path / "m.flash")
    try:
        part = firmware.flash.partition("mfg_nvs")
        mfg = firmware.mfg()
        assert part is not None and mfg is not None
        assert mfg.capacity() == (part.size // 4096 - 1) * 125 * 32
    finally:
        firmware.close()


def test_flash_info_lists_mfg_nvs_without_key_bytes(
    tmp_path: Path, pki: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    flash = tmp_path / "m.flash"
    Firmware.open(flash).close()
    assert main(["flash", "info", str(flash)]) == 0
    assert "mfg_nvs (0x21000; AT+SYSMFG, flash pki):\n  (none)\n" in capsys.readouterr().out
    der_key = tmp_path / "key.der"
    der_key.write_bytes(b"\x30\x81\x87" + bytes(range(100)))
    args = ["flash", "pki", str(flash), "--client-ca", str(pki["ca"])]
    assert main([*args, "--client-key", str(pki["key"]), "--server-key", str(der_key)]) == 0
    capsys.readouterr()
    assert main(["flash", "info", str(flash)]) == 0
    out = capsys.readouterr().out
    size = len(pki["ca"].read_bytes())
    assert f"  client_ca.client_ca = <{size} bytes: PEM CERTIFICATE> (BLOB)\n" in out
    assert "  client_key.client_key = <" in out and "PRIVATE KEY> (BLOB)" in out
    assert "  server_key.server_key = <103 bytes> (BLOB)\n" in out  # a DER key: no bytes shown
    assert "308187" not in out
