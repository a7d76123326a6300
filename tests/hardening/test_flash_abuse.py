"""Attacks through the flash file: crafted otadata, damaged NVS, two processes on one
file, failed uploads over a waiting update, and temporary files left by killed modules."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from esp_at_sim.flash import FlashImage, build_app_image, load_layout
from esp_at_sim.flash.boot import read_otadata
from esp_at_sim.flash.otadata import SECTOR, OtaEntry, OtaState

from .conftest import no_tasks_left, start_web_module

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
