"""The Wi-Fi configuration where ESP-IDF's driver keeps it (NVS namespace nvs.net80211),
checked against a tool nobody here wrote (esp-idf-nvs-partition-gen), and flash files of
our earlier form read and rewritten."""

from __future__ import annotations

import gzip
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from nvs_gen import STATION_CSV, generate, splice

from esp_at_sim.cli.main import main
from esp_at_sim.core.settings import U8, U16
from esp_at_sim.flash import FlashImage
from esp_at_sim.flash.flashfile import load_layout
from esp_at_sim.flash.nvs import ItemType
from esp_at_sim.flash.nvs_read import read_items
from esp_at_sim.testing import AtHarness, assert_no_tasks_left, start_module

DATA = Path(__file__).parent / "data"


async def settle_joined(at: AtHarness) -> bytes:
    return await at.wait_for(b"WIFI GOT IP\r\n")


async def test_generated_station_config_boots_and_auto_connects(tmp_path: Path) -> None:
    path = tmp_path / "m.flash"
    splice(path, generate(STATION_CSV, tmp_path))
    module, at = await start_module(flash=path)
    try:
        assert b"WIFI CONNECTED\r\n" in await settle_joined(at)
        assert await at.cmd("AT+CWMODE?") == b"AT+CWMODE?\r\n+CWMODE:1\r\n\r\nOK\r\n"
        assert b'+CWJAP:"HomeNet","a4:2b:b0:5e:11:01",6,' in await at.cmd("AT+CWJAP?")
    finally:
        await module.close()
    await assert_no_tasks_left()


async def test_generated_softap_config_is_the_modules(tmp_path: Path) -> None:
    csv = (
        "key,type,encoding,value\nnvs.net80211,namespace,,\nopmode,data,u8,2\n"
        "ap.ssid,data,blob_sz_fill(32;0x00),LabAP\nap.passwd,data,blob_fill(64;0x00),lab12345\n"
        "ap.chan,data,u8,9\nap.authmode,data,u8,3\nap.hidden,data,u8,1\nap.max.conn,data,u8,2\n"
    )
    path = tmp_path / "m.flash"
    splice(path, generate(csv, tmp_path))
    module, at = await start_module(flash=path)
    try:
        assert b'+CWSAP:"LabAP","lab12345",9,3,2,1\r\n' in await at.cmd("AT+CWSAP?")
    finally:
        await module.close()
    await assert_no_tasks_left()


def nvs_of(path: Path) -> bytes:
    with FlashImage.open(path, readonly=True) as flash:
        return flash.read_partition(flash.nvs)


# What the generator adds by itself beside the keys a CSV names (the driver's companions
# of a station and a SoftAP configuration, the SoftAP's PMK computed from its passphrase).
GENERATOR_ADDS = {"sta.apinfo", "sta.pmk", "sta.apsw", "ap.pmk_info"}
ENCODINGS = {
    "sta.ssid": "blob_sz_fill(32;0x00)",
    "ap.ssid": "blob_sz_fill(32;0x00)",
    "sta.pswd": "blob_fill(64;0x00)",
    "ap.passwd": "blob_fill(64;0x00)",
}


def _csv_line(key: str, kind: ItemType, value: int | str | bytes) -> str:
    text = str(value)
    if isinstance(value, bytes):
        if key.endswith(".ssid"):
            value = value[4 : 4 + int.from_bytes(value[:4], "little")]
        elif key in ENCODINGS:
            value = value.rstrip(b"\0")
        text = value.decode() if key in ENCODINGS else value.hex()
    encoding = ENCODINGS.get(key, "hex2bin" if kind == ItemType.BLOB else kind.name.lower())
    return f"{key},data,{encoding},{text}\n"


async def test_our_wifi_config_is_what_the_generator_writes(tmp_path: Path) -> None:
    """The driver's keys as we store them equal what esp-idf-nvs-partition-gen writes
    from a CSV of the same settings, companions and the SoftAP's PMK included (ESP-IDF's
    nvs_tool.py is not distributed on the package registries this project can use: see
    the README)."""
    path = tmp_path / "m.flash"
    module, at = await start_module(flash=path)
    try:
        await at.cmd("AT+CWMODE=3")
        assert b"WIFI GOT IP\r\n" in await at.cmd('AT+CWJAP="HomeNet","sunflower42"')
        await at.cmd('AT+CWSAP="Mine","12345678",6,3,3,1')
    finally:
        await module.close()
    ours = [i for i in read_items(nvs_of(path)) if i.namespace == "nvs.net80211"]
    csv = "key,type,encoding,value\nnvs.net80211,namespace,,\n" + "".join(
        _csv_line(i.key, i.type, i.value) for i in ours if i.key not in GENERATOR_ADDS
    )
    theirs = read_items(generate(csv, tmp_path, "theirs"))
    assert {i.key for i in ours} >= GENERATOR_ADDS
    assert sorted((i.key, i.type, i.value) for i in theirs) == sorted(
        (i.key, i.type, i.value) for i in ours
    )
    by_key = {i.key: (i.type, i.value) for i in ours}
    assert by_key["opmode"] == (ItemType.U8, 3)
    assert by_key["sta.ssid"] == (ItemType.BLOB, b"\x07\0\0\0HomeNet" + bytes(25))
    assert by_key["sta.pswd"] == (ItemType.BLOB, b"sunflower42".ljust(64, b"\0"))
    assert by_key["bssid.set"] == (ItemType.U8, 0)
    assert by_key["sta.lis_intval"] == (ItemType.U16, 3)
    assert by_key["ap.ssid"] == (ItemType.BLOB, b"\x04\0\0\0Mine" + bytes(28))
    assert by_key["ap.passwd"] == (ItemType.BLOB, b"12345678".ljust(64, b"\0"))
    assert [by_key[k] for k in ("ap.chan", "ap.authmode", "ap.max.conn", "ap.hidden")] == [
        (ItemType.U8, 6),
        (ItemType.U8, 3),
        (ItemType.U8, 3),
        (ItemType.U8, 1),
    ]


async def test_old_flash_files_are_read_and_rewritten_at_the_next_save(tmp_path: Path) -> None:
    """A flash file written before the settings moved to nvs.net80211 (made by that
    version of esp-at-sim: tests/flash/data) boots with all its settings; the first save
    rewrites them where the firmware keeps them."""
    path = tmp_path / "m.flash"
    splice(path, gzip.decompress((DATA / "settings-before-nvs-net80211.nvs.gz").read_bytes()))
    queries = ["AT+CWMODE?", "AT+CWSAP?", "AT+CIPAP?", "AT+CWRECONNCFG?", "AT+UART_DEF?"]
    module, at = await start_module(flash=path)
    try:
        assert b"WIFI GOT IP\r\n" in await settle_joined(at)  # auto-connects as before
        before = [await at.cmd(q) for q in queries]
        assert b'+CWSAP:"Mine","12345678",6,3,3,1\r\n' in before[1]
        assert b"+CWJAP:" in (cwjap := await at.cmd("AT+CWJAP?")) and b"HomeNet" in cwjap
        assert "esp_at_sim.sta_ssid" in _keys(path)  # nothing written yet
        await at.cmd("AT+SYSMSG=1")  # any save
    finally:
        await module.close()
    stored = {f"{i.namespace}.{i.key}": (i.type, i.value) for i in read_items(nvs_of(path))}
    assert not {"esp_at_sim.cwmode", "esp_at_sim.sta_ssid", "esp_at_sim.sap_cfg"} & set(stored)
    assert stored["nvs.net80211.opmode"] == (ItemType.U8, 3)
    assert stored["nvs.net80211.sta.ssid"] == (ItemType.BLOB, b"\x07\0\0\0HomeNet" + bytes(25))
    assert stored["nvs.net80211.bssid.set"] == (ItemType.U8, 1)
    assert stored["nvs.net80211.sta.bssid"] == (ItemType.BLOB, bytes.fromhex("a42bb05e1101"))
    assert stored["nvs.net80211.sta.lis_intval"] == (ItemType.U16, 5)
    assert stored["nvs.net80211.sta.pmf_r"] == (ItemType.U8, 1)
    assert stored["nvs.net80211.sta.scan_method"] == (ItemType.U8, 0)
    assert stored["nvs.net80211.sta.pmf_e"] == (ItemType.U8, 1)
    assert stored["esp_at_sim.jap_timeout"] == (ItemType.I32, 20)
    assert stored["nvs.net80211.ap.max.conn"] == (ItemType.U8, 3)
    module, at = await start_module(flash=path)
    try:
        await settle_joined(at)
        assert [await at.cmd(q) for q in queries] == before
    finally:
        await module.close()
    await assert_no_tasks_left()


def _keys(path: Path) -> set[str]:
    return {f"{i.namespace}.{i.key}" for i in read_items(nvs_of(path))}


def test_sized_ints_keep_their_type() -> None:
    assert isinstance(U8(3), int) and U8(3) == 3 and U16(3) == 3


README = Path(__file__).resolve().parents[2] / "README.md"


def readme_csv_walkthrough() -> tuple[list[str], str]:
    """The README's shell lines that make a station configuration from a CSV and put it
    into a flash file (the last line, which runs the module, is left to the test), and
    the name of that file."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index("### A real module's flash, in and out") :]
    blocks = re.findall(r"```sh\n(.*?)```", section, re.S)
    lines = blocks[1].replace("\\\n", "").splitlines()
    last = re.match(r"esp-at-sim run --flash (\S+)", lines[-1])
    assert last, lines[-1]
    return lines[:-1], last.group(1)


async def test_readme_csv_walkthrough_boots_and_joins(tmp_path: Path) -> None:
    lines, flash_file = readme_csv_walkthrough()
    script = "\n".join(lines).replace("python -m", f"{sys.executable} -m")
    bindir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}"}
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    module, at = await start_module(flash=tmp_path / flash_file)
    try:
        assert b"WIFI GOT IP\r\n" in await settle_joined(at)
        assert b'+CWSTATE:2,"HomeNet"' in await at.cmd("AT+CWSTATE?")
    finally:
        await module.close()
    await assert_no_tasks_left()


async def test_flash_info_masks_passwords_and_pmks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "m.flash"
    module, at = await start_module(flash=path)
    try:
        await at.cmd("AT+CWMODE=3")
        await at.cmd('AT+CWJAP="HomeNet","sunflower42"')
        await at.cmd('AT+CWSAP="Mine","12345678",6,3,3,1')
    finally:
        await module.close()
    assert main(["flash", "info", str(path)]) == 0
    out = capsys.readouterr().out
    for key in ("sta.pswd", "sta.pmk", "ap.passwd", "ap.pmk_info"):
        assert f"  nvs.net80211.{key} = *** (BLOB)\n" in out, out
    assert b"sunflower42".hex() not in out and "opmode = 3 (U8)" in out
    assert "  nvs.net80211.sta.ssid = <36 bytes> 07000000486f6d654e6574" in out


# -- the radio settings: phy mode and bandwidth where the driver keeps them ---------------------
W = "nvs.net80211."
PHY_QUERIES = ["AT+CWSTAPROTO?", "AT+CWAPPROTO?", "AT+CWBANDWIDTH?"]


def _stored(path: Path) -> dict[str, tuple[ItemType, int | str | bytes]]:
    return {f"{i.namespace}.{i.key}": (i.type, i.value) for i in read_items(nvs_of(path))}


async def test_generated_phy_modes_and_bandwidths_are_the_modules(tmp_path: Path) -> None:
    csv = (
        "key,type,encoding,value\nnvs.net80211,namespace,,\nopmode,data,u8,3\n"
        "sta.phym,data,u8,2\nsta.phybw,data,u8,1\nap.phym,data,u8,1\nap.phybw,data,u8,1\n"
    )
    path = tmp_path / "m.flash"
    splice(path, generate(csv, tmp_path))
    module, at = await start_module(flash=path)
    try:
        assert [await at.cmd(q) for q in PHY_QUERIES] == [
            b"AT+CWSTAPROTO?\r\n+CWSTAPROTO:3\r\n\r\nOK\r\n",
            b"AT+CWAPPROTO?\r\n+CWAPPROTO:1\r\n\r\nOK\r\n",
            b"AT+CWBANDWIDTH?\r\n+CWBANDWIDTH:0,1,0\r\n+CWBANDWIDTH:1,1,0\r\n\r\nOK\r\n",
        ]
    finally:
        await module.close()
    await assert_no_tasks_left()


async def test_phy_settings_round_trip_as_the_driver_stores_them(tmp_path: Path) -> None:
    """b/g/n as phy mode 3, b/g as 2, 802.11b as 1 and the bandwidth as wifi_bandwidth_t, all
    U8 in nvs.net80211 and equal to what esp-idf-nvs-partition-gen writes; a set with LR
    keeps its LR part in ours (an LR-only interface has no phy mode)."""
    path = tmp_path / "m.flash"
    module, at = await start_module(flash=path)
    try:
        for line in ("AT+CWMODE=3", "AT+CWSTAPROTO=3", "AT+CWAPPROTO=7", "AT+CWBANDWIDTH=1,1"):
            assert (await at.cmd(line)).endswith(b"OK\r\n"), line
        before = [await at.cmd(q) for q in PHY_QUERIES]
    finally:
        await module.close()
    stored = _stored(path)
    driver = {k: v for k, v in stored.items() if k.endswith((".phym", ".phybw"))}
    assert driver == {
        "nvs.net80211.sta.phym": (ItemType.U8, 2),
        "nvs.net80211.ap.phym": (ItemType.U8, 3),
        "nvs.net80211.sta.phybw": (ItemType.U8, 1),  # b/g has no 40 MHz
        "nvs.net80211.ap.phybw": (ItemType.U8, 1),
    }
    assert not {"esp_at_sim.cwproto", "esp_at_sim.cwbandwidth", "esp_at_sim.cwproto_lr"} & set(
        stored
    )
    csv = "key,type,encoding,value\nnvs.net80211,namespace,,\n" + "".join(
        f"{k.removeprefix(W)},data,u8,{v[1]}\n" for k, v in driver.items()
    )
    theirs = {(i.key, i.type, i.value) for i in read_items(generate(csv, tmp_path, "theirs"))}
    assert theirs == {(k.removeprefix(W), t, v) for k, (t, v) in driver.items()}
    module, at = await start_module(flash=path)
    try:
        assert [await at.cmd(q) for q in PHY_QUERIES] == before
        assert b"+CWSTAPROTO:3\r\n" in before[0] and b"+CWBANDWIDTH:1,1,0\r\n" in before[2]
        await at.cmd("AT+CWSTAPROTO=11")
        await at.cmd("AT+CWAPPROTO=8")
    finally:
        await module.close()
    stored = _stored(path)
    assert stored["nvs.net80211.sta.phym"] == (ItemType.U8, 2)
    assert "nvs.net80211.ap.phym" not in stored
    assert stored["esp_at_sim.cwproto_lr"] == (ItemType.SZ, "11,8")
    module, at = await start_module(flash=path)
    try:
        assert b"+CWSTAPROTO:11\r\n" in await at.cmd("AT+CWSTAPROTO?")
        assert b"+CWAPPROTO:8\r\n" in await at.cmd("AT+CWAPPROTO?")
        await at.cmd("AT+CWSTAPROTO=1")
    finally:
        await module.close()
    stored = _stored(path)
    assert stored["nvs.net80211.sta.phym"] == (ItemType.U8, 1)
    assert stored["esp_at_sim.cwproto_lr"] == (ItemType.SZ, "0,8")
    await assert_no_tasks_left()


async def test_a_phy_mode_changed_by_a_tool_wins_over_our_lr_note(tmp_path: Path) -> None:
    path = tmp_path / "m.flash"
    with FlashImage.open(path, load_layout("esp32")) as flash:
        flash.settings().save({"nvs.net80211:sta.phym": U8(3), "cwproto_lr": "11,0"})
    module, at = await start_module(flash=path)
    try:
        assert b"+CWSTAPROTO:7\r\n" in await at.cmd("AT+CWSTAPROTO?")
    finally:
        await module.close()
    await assert_no_tasks_left()


async def test_old_phy_settings_are_read_and_rewritten_at_the_next_save(tmp_path: Path) -> None:
    """Our earlier form kept the bandwidths and protocol sets in esp_at_sim (``cwbandwidth``,
    ``cwproto``): read as they were, moved where the driver keeps them at the first save."""
    path = tmp_path / "m.flash"
    with FlashImage.open(path, load_layout("esp32")) as flash:
        flash.settings().save({"cwbandwidth": "1,2", "cwproto": "3,15", "cwmode": 3})
    module, at = await start_module(flash=path)
    try:
        before = [await at.cmd(q) for q in PHY_QUERIES]
        assert b"+CWSTAPROTO:3\r\n" in before[0] and b"+CWAPPROTO:15\r\n" in before[1]
        assert b"+CWBANDWIDTH:0,1,0\r\n+CWBANDWIDTH:1,2,0\r\n" in before[2]
        assert "esp_at_sim.cwproto" in _stored(path)  # nothing written yet
        await at.cmd("AT+SYSMSG=1")  # any save
    finally:
        await module.close()
    stored = _stored(path)
    assert not {"esp_at_sim.cwproto", "esp_at_sim.cwbandwidth", "esp_at_sim.cwmode"} & set(stored)
    assert stored["nvs.net80211.sta.phym"] == (ItemType.U8, 2)
    assert stored["nvs.net80211.ap.phym"] == (ItemType.U8, 3)
    assert stored["nvs.net80211.sta.phybw"] == (ItemType.U8, 1)
    assert stored["nvs.net80211.ap.phybw"] == (ItemType.U8, 2)
    assert stored["esp_at_sim.cwproto_lr"] == (ItemType.SZ, "0,15")
    module, at = await start_module(flash=path)
    try:
        assert [await at.cmd(q) for q in PHY_QUERIES] == before
    finally:
        await module.close()
    await assert_no_tasks_left()


async def test_scan_mode_and_pmf_capable_move_to_the_driver_at_the_next_save(
    tmp_path: Path,
) -> None:
    """Our form before this one kept AT+CWJAP's scan mode, timeout and PMF-capable bit in
    ``esp_at_sim.sta_opts``: the driver keeps the scan method and PMF-capable flag
    (``sta.scan_method``, ``sta.pmf_e``, u8), ESP-AT's timeout stays ours."""
    path = tmp_path / "m.flash"
    splice(path, generate(STATION_CSV, tmp_path))
    with FlashImage.open(path) as flash:
        flash.settings().save({"sta_opts": "1,30,0"})
    module, at = await start_module(flash=path)
    try:
        await settle_joined(at)
        before = await at.cmd("AT+CWJAP?")
        assert before.endswith(b",1,0\r\n\r\nOK\r\n"), before  # <scan_mode> 1, <pmf> 0
        await at.cmd("AT+SYSMSG=1")  # any save
    finally:
        await module.close()
    stored = _stored(path)
    assert "esp_at_sim.sta_opts" not in stored
    assert stored[W + "sta.scan_method"] == (ItemType.U8, 1)
    assert stored[W + "sta.pmf_e"] == (ItemType.U8, 0)
    assert stored["esp_at_sim.jap_timeout"] == (ItemType.I32, 30)
    module, at = await start_module(flash=path)
    try:
        await settle_joined(at)
        assert await at.cmd("AT+CWJAP?") == before
    finally:
        await module.close()
    await assert_no_tasks_left()
