"""Attacks through the flash file: crafted otadata, damaged NVS, two processes on one
file, failed uploads over a waiting update, and temporary files left by killed modules."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from childwait import run_child
from esp_at_sim.flash import FlashImage, build_app_image, load_layout
from esp_at_sim.flash.boot import boot, read_otadata
from esp_at_sim.flash.otadata import SECTOR, OtaEntry, OtaState

from .conftest import no_tasks_left, start_web_module
from .simproc import SimProcess

HUGE_SEQ = 0xFFFFFFF0


def craft_huge_sequence(path: Path) -> None:
    """A flash whose otadata names ota_1 (holding a valid image) with sequence 0xFFFFFFF0
    and a correct CRC, as an attacker with write access to a dump could leave it."""
    with FlashImage.open(path, load_layout("esp32")) as flash:
        flash.device.program(flash.slots[1].offset, build_app_image("v9.9.9.9"))
        at = flash.otadata.offset
        flash.device.erase(at, 2 * SECTOR)
        flash.device.program(at, OtaEntry.make(HUGE_SEQ, OtaState.VALID).encode())


async def http_upload(port: int, body: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = (
        b"POST /setotadata HTTP/1.1\r\nHost: 127.0.0.1\r\nObject: ota\r\nConnection: close\r\n"
        b"Content-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n"
    )
    try:
        writer.write(head % len(body) + body)
        await writer.drain()
        return await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()
        await writer.wait_closed()


@pytest.mark.timeout(30)
async def test_huge_otadata_sequence_answers_rollback_and_upload(tmp_path: Path) -> None:
    path = tmp_path / "crafted.flash"
    craft_huge_sequence(path)
    web = await start_web_module(flash_file=path)
    try:
        assert b'+SYSROLLBACK:0x280000,"v9.9.9.9",0x10000' in await web.at.cmd("AT+SYSROLLBACK?")
        assert (await web.at.cmd("AT+SYSROLLBACK")).endswith(b"\r\nOK\r\n")
        assert web.module.firmware is not None
        flash = web.module.firmware.flash
        seqs = sorted(e.seq for e in read_otadata(flash))
        assert seqs == [HUGE_SEQ, HUGE_SEQ + 1]  # ota_0 next, counted on, not from 1
        reply = await http_upload(web.port, build_app_image("v5.0.0.0"))
        assert reply.startswith(b"HTTP/1.1 200 "), reply
    finally:
        await web.module.close()
        await no_tasks_left()


def esp_at_sim(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return run_child(
        [sys.executable, "-m", "esp_at_sim", *args],
        capture_output=True,
        text=True,
        timeout=20,  # a second run that does not refuse would run on for ever
        stdin=subprocess.DEVNULL,
        env=env,
    )


def test_second_writer_on_a_flash_file_exits_2_naming_the_holder(tmp_path: Path) -> None:
    path = tmp_path / "shared.flash"
    image = tmp_path / "app.bin"
    image.write_bytes(build_app_image("v7.7.7.7"))
    first = SimProcess(tmp_path / "a", "--flash", str(path))
    try:
        second = esp_at_sim("run", "--at", "tcp:127.0.0.1:0", "--flash", str(path))
        assert second.returncode == 2, second.stderr
        assert f"in use by process {first.pid}" in second.stderr
        load = esp_at_sim("flash", "load", str(path), str(image))
        assert load.returncode == 2, load.stderr
        assert f"in use by process {first.pid}" in load.stderr
        info = esp_at_sim("flash", "info", str(path))  # readers need no lock
        assert info.returncode == 0 and "Boot slot: ota_0" in info.stdout, info.stderr
        assert first.at("AT+SYSROLLBACK?").endswith(b"\r\nOK\r\n")  # A was never disturbed
    finally:
        assert first.stop() == 0
    # the lock went with its holder: now the file is free
    load = esp_at_sim("flash", "load", str(path), str(image))
    assert load.returncode == 0, load.stderr


def test_killed_module_without_flash_leaves_no_file_behind(tmp_path: Path) -> None:
    scratch = tmp_path / "tmpdir"
    scratch.mkdir()
    env = {**os.environ, "TMPDIR": str(scratch)}
    sim = SimProcess(tmp_path / "run", env=env)
    try:
        assert sim.at("AT+SYSSTORE=1").endswith(b"\r\nOK\r\n")
        assert sim.at('AT+CWSAP="lab","12345678",5,3').endswith(b"\r\nOK\r\n")  # an NVS save
        os.kill(sim.pid, signal.SIGKILL)
        sim.proc.wait(10)
    finally:
        sim.stop()
    assert sorted(os.listdir(scratch)) == []


STORED = {"cwmode": 3, "uart_def": "230400,8,1,0,0", "sap_ssid": b"lab", "sap_pwd": b"12345678"}


def entry_offset(page: bytes, key: str, kind: int) -> int:
    """Where the first entry of ``key`` with type ``kind`` starts in an NVS page."""
    for at in range(64, 4096, 32):
        if page[at + 1] == kind and page[at + 8 : at + 24].rstrip(b"\0") == key.encode():
            return at
    raise AssertionError(f"no entry {key!r}")


def flip(path: Path, offset: int) -> None:
    with path.open("r+b") as fh:
        fh.seek(offset)
        byte = fh.read(1)[0]
        fh.seek(offset)
        fh.write(bytes([byte ^ 0x5A]))


@pytest.mark.parametrize(
    ("where", "lost", "uart"),
    [
        ("entry", ["esp_at_sim.uart_def"], b"+UART_DEF:115200,"),  # under the entry's CRC
        ("blob chunk", ["esp_at_sim.sap_ssid"], b"+UART_DEF:230400,"),  # one blob's data byte
        ("page header", sorted(f"esp_at_sim.{k}" for k in STORED), b"+UART_DEF:115200,"),
    ],
)
def test_flipped_nvs_byte_costs_what_esp_idf_loses_and_is_reported(
    tmp_path: Path, where: str, lost: list[str], uart: bytes
) -> None:
    path = tmp_path / "m.flash"
    with FlashImage.open(path, load_layout("esp32")) as flash:
        flash.settings().save(STORED)
        base = flash.nvs.offset
        page = flash.read_partition(flash.nvs, 0, 0x1000)
    if where == "entry":
        flip(path, base + entry_offset(page, "uart_def", 0x21) + 24)
    elif where == "blob chunk":
        flip(path, base + entry_offset(page, "sap_ssid", 0x42) + 32)
    else:
        flip(path, base + 4)  # the page's sequence number, under the header CRC
    info = esp_at_sim("flash", "info", str(path))  # before the module's next save drops it
    assert "NVS damage" in info.stdout and lost[0] in info.stdout, info.stdout
    events = tmp_path / "events.jsonl"
    sim = SimProcess(tmp_path / "run", "--flash", str(path), "--events", str(events))
    try:
        assert uart in sim.at("AT+UART_DEF?")
    finally:
        assert sim.stop() == 0
    records = [json.loads(line) for line in events.read_text().splitlines()]
    damage = [r for r in records if r["kind"] == "flash.nvs_damage"]
    assert sorted(k for r in damage for k in r["lost"]) == lost, damage
    assert "stored settings damaged" in sim.stderr()


async def get_ota_info(port: int) -> dict[str, object]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(b"GET /getotainfo HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        await writer.drain()
        reply = await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()
        await writer.wait_closed()
    info: dict[str, object] = json.loads(reply.split(b"\r\n\r\n", 1)[1])
    return info


async def test_failed_upload_over_a_waiting_update_is_stated_and_shown() -> None:
    web = await start_web_module(flash=True)
    try:
        firmware = web.module.firmware
        assert firmware is not None and firmware.running is not None
        running = firmware.running.version
        assert (await get_ota_info(web.port))["pending_version"] is None
        reply = await http_upload(web.port, build_app_image("v5.0.0.0"))
        assert reply.startswith(b"HTTP/1.1 200 ")
        info = await get_ota_info(web.port)
        assert (info["pending_slot"], info["pending_version"]) == ("ota_1", "v5.0.0.0")
        otadata = firmware.flash.read_partition(firmware.flash.otadata)
        # a second upload that stops short: the client goes away after 4 KiB of 200 KiB
        _, writer = await asyncio.open_connection("127.0.0.1", web.port)
        head = (
            b"POST /setotadata HTTP/1.1\r\nHost: 127.0.0.1\r\nObject: ota\r\n"
            b"Content-Type: application/octet-stream\r\nContent-Length: 204800\r\n\r\n"
        )
        writer.write(head + build_app_image("v6.0.0.0")[:4096])
        await writer.drain()
        await web.at.wait_for(b"+WEBSERVERRSP:3\r\n")
        writer.close()
        await writer.wait_closed()
        await web.at.wait_for(b"+WEBSERVERRSP:5\r\n")
        # What the documents say: otadata untouched, the waiting update gone with its slot
        # (erased when the upload began), so the next reset boots the running firmware.
        assert firmware.flash.read_partition(firmware.flash.otadata) == otadata
        info = await get_ota_info(web.port)
        assert (info["pending_slot"], info["pending_version"]) == (None, None)
        assert info["fw_version"] == running
        following = boot(firmware.flash, dry_run=True)
        assert following.version == running and following.selected == "ota_1"
        assert following.rolled_back
    finally:
        await web.module.close()
        await no_tasks_left()
