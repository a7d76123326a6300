"""What ESP-AT itself stores, where it stores it: the UART configuration in namespace
``UART`` (ESP-AT's main/interface/uart/at_uart_api.c), checked against a tool nobody here
wrote (esp-idf-nvs-partition-gen); flash files of our earlier form read and rewritten."""

from __future__ import annotations

from pathlib import Path

import pytest
from nvs_gen import generate, splice

from esp_at_sim.cli.main import main
from esp_at_sim.core.settings import U8
from esp_at_sim.flash import FlashImage
from esp_at_sim.flash.flashfile import load_layout
from esp_at_sim.flash.nvs import ItemType
from esp_at_sim.flash.nvs_read import read_items
from esp_at_sim.testing import assert_no_tasks_left, start_module

UART_CSV = "key,type,encoding,value\nUART,namespace,,\n"


def _items(path: Path) -> dict[str, tuple[ItemType, int | str | bytes]]:
    with FlashImage.open(path, readonly=True) as flash:
        nvs = flash.read_partition(flash.nvs)
    return {f"{i.namespace}.{i.key}": (i.type, i.value) for i in read_items(nvs)}


async def _uart_def(path: Path) -> bytes:
    module, at = await start_module(flash=path)
    try:
        return await at.cmd("AT+UART_DEF?")
    finally:
        await module.close()


async def test_uart_def_is_stored_as_esp_at_stores_it(tmp_path: Path) -> None:
    """The rate as I32, the rest as I8 in ESP-IDF's numbering (7 data bits as 2, odd parity
    as 3), equal to what the generator writes for the same values."""
    path = tmp_path / "m.flash"
    module, at = await start_module(flash=path)
    try:
        assert (await at.cmd("AT+UART_DEF=9600,7,2,1,3")).endswith(b"OK\r\n")
    finally:
        await module.close()
    ours = {k: v for k, v in _items(path).items() if k.startswith("UART.")}
    assert ours == {
        "UART.rate": (ItemType.I32, 9600),
        "UART.databits": (ItemType.I8, 2),
        "UART.stopbits": (ItemType.I8, 2),
        "UART.parity": (ItemType.I8, 3),
        "UART.flow_ctrl": (ItemType.I8, 3),
    }
    assert not any(k.startswith("esp_at_sim.uart") for k in _items(path))
    csv = UART_CSV + "".join(
        f"{k.removeprefix('UART.')},data,{t.name.lower()},{v}\n" for k, (t, v) in ours.items()
    )
    theirs = {(i.namespace, i.key, i.type, i.value) for i in read_items(generate(csv, tmp_path))}
    assert theirs == {("UART", k.removeprefix("UART."), t, v) for k, (t, v) in ours.items()}
    assert b"+UART_DEF:9600,7,2,1,3\r\n" in await _uart_def(path)
    await assert_no_tasks_left()


async def test_generated_uart_config_is_the_modules(tmp_path: Path) -> None:
    csv = UART_CSV + (
        "rate,data,i32,921600\ndatabits,data,i8,3\nstopbits,data,i8,1\n"
        "parity,data,i8,2\nflow_ctrl,data,i8,1\n"
    )
    path = tmp_path / "m.flash"
    splice(path, generate(csv, tmp_path))
    module, at = await start_module(flash=path)
    try:
        assert b"+UART_DEF:921600,8,1,2,1\r\n" in await at.cmd("AT+UART_DEF?")
    finally:
        await module.close()
    await assert_no_tasks_left()


async def test_an_incomplete_uart_config_counts_as_none(tmp_path: Path) -> None:
    """ESP-AT takes the stored UART configuration only when all five keys are there."""
    csv = UART_CSV + "rate,data,i32,921600\ndatabits,data,i8,3\nstopbits,data,i8,1\n"
    path = tmp_path / "m.flash"
    splice(path, generate(csv, tmp_path))
    assert b"+UART_DEF:115200,8,1,0,0\r\n" in await _uart_def(path)
    await assert_no_tasks_left()


async def test_old_uart_def_is_read_and_rewritten_at_the_next_save(tmp_path: Path) -> None:
    path = tmp_path / "m.flash"
    with FlashImage.open(path, load_layout("esp32")) as flash:
        flash.settings().save({"uart_def": "230400,8,2,2,1"})
    module, at = await start_module(flash=path)
    try:
        assert b"+UART_DEF:230400,8,2,2,1\r\n" in await at.cmd("AT+UART_DEF?")
        assert "esp_at_sim.uart_def" in _items(path)  # nothing written yet
        await at.cmd("AT+SYSMSG=1")  # any save
    finally:
        await module.close()
    stored = _items(path)
    assert "esp_at_sim.uart_def" not in stored
    assert stored["UART.rate"] == (ItemType.I32, 230400)
    assert stored["UART.stopbits"] == (ItemType.I8, 2)
    assert stored["UART.parity"] == (ItemType.I8, 2)
    assert b"+UART_DEF:230400,8,2,2,1\r\n" in await _uart_def(path)
    await assert_no_tasks_left()


def test_flash_info_says_whose_each_namespace_is(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "m.flash"
    with FlashImage.open(path, load_layout("esp32")) as flash:
        flash.settings().save(
            {"phy:cal_data": b"\x01", "UART:rate": 9600, "nvs.net80211:opmode": U8(1), "dhcp": 3}
        )
    assert main(["flash", "info", str(path)]) == 0
    out = capsys.readouterr().out
    legend = out.split("Namespaces (docs/nvs-settings.md names each setting's key and source):\n")
    assert len(legend) == 2, out
    assert legend[1].splitlines()[:4] == [
        "  UART: ESP-AT's UART configuration (AT+UART_DEF), as on a module",
        "  esp_at_sim: esp-at-sim's own, for what ESP-AT keeps under keys not established",
        "  nvs.net80211: ESP-IDF's Wi-Fi driver, with its keys and types, as on a module",
        "  phy: not a setting of the module's; kept as it is",
    ]
    assert "  UART.rate = 9600 (I32)\n" in out
