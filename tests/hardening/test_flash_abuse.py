"""Attacks through the flash file: crafted otadata, damaged NVS, two processes on one
file, failed uploads over a waiting update, and temporary files left by killed modules."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from esp_at_sim.flash import FlashImage, build_app_image, load_layout
from esp_at_sim.flash.boot import read_otadata
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
    return subprocess.run(
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
