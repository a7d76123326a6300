"""The module runs what its flash holds: AT+GMR, AT+SYSFLASH, AT+SYSROLLBACK, boot and
rollback, against a real flash file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from esp_at_sim.core.events import Event
from esp_at_sim.device.firmware import Firmware
from esp_at_sim.factory import create_module
from esp_at_sim.flash.boot import read_otadata
from esp_at_sim.flash.image import build_app_image
from esp_at_sim.flash.otadata import OtaState
from esp_at_sim.scenario import parse_scenario
from esp_at_sim.testing import AtHarness, start_module


def install(firmware: Firmware, image: bytes) -> None:
    """Write ``image`` into the update slot the way an OTA does."""
    update = firmware.begin_update()
    for i in range(0, len(image), 4096):
        update.write(image[i : i + 4096])
    update.end()


async def reboot(at: AtHarness) -> None:
    assert (await at.cmd("AT+RST")).endswith(b"\r\nOK\r\n")
    await at.wait_for(b"\r\nready\r\n")


async def test_gmr_reports_the_running_image(tmp_path: Path) -> None:
    module, at = await start_module(flash=tmp_path / "m.flash")
    try:
        out = await at.cmd("AT+GMR")
        assert b"Bin version:v4.1.1.0(WROOM-32)\r\n" in out
        assert b"SDK version:v5.4.1\r\n" in out
        assert module.firmware is not None
        install(module.firmware, build_app_image("v9.9.9-test", idf_ver="v5.9", date="Jan  2 2030"))
        assert b"Bin version:v4.1.1.0(WROOM-32)" in await at.cmd("AT+GMR")  # not yet
        await reboot(at)
        out = await at.cmd("AT+GMR")
        assert b"Bin version:v9.9.9-test(WROOM-32)\r\n" in out
        assert b"SDK version:v5.9\r\n" in out
        assert re.search(rb"compile time\([0-9a-f]{8}\):Jan  2 2030 00:00:00\r\n", out)
        # confirmed once AT was up: no rollback at the next reset
        entries = read_otadata(module.firmware.flash)
        assert OtaState.VALID in {e.state for e in entries}
        await reboot(at)
        assert b"v9.9.9-test" in await at.cmd("AT+GMR")
    finally:
        await module.close()


async def test_an_image_with_empty_versions_boots_and_says_so(tmp_path: Path) -> None:
    # The scenario's identity is checked; what a booted image says is taken as it is.
    module, at = await start_module(flash=tmp_path / "m.flash")
    try:
        assert module.firmware is not None
        install(module.firmware, build_app_image("", idf_ver="", date="", time=""))
        await reboot(at)
        out = await at.cmd("AT+GMR")
        assert b"Bin version:(WROOM-32)\r\n" in out
        assert b"SDK version:\r\n" in out
        assert module.identity.sta_mac == "24:0a:c4:00:00:01"
    finally:
        await module.close()


async def test_the_factory_image_carries_the_scenario_compile_time(tmp_path: Path) -> None:
    world = parse_scenario('[module]\ncompile_time = "Feb  3 2025 17:05:09"\n', "t.toml")
    for flash in (tmp_path / "m.flash", None):
        module, at = await start_module(world, flash=flash)
        try:
            out = await at.cmd("AT+GMR")
            assert re.search(rb"compile time\([0-9a-f]{8}\):Feb  3 2025 17:05:09\r\n", out)
        finally:
            await module.close()


async def test_settings_live_in_nvs_and_survive_a_new_process(tmp_path: Path) -> None:
    path = tmp_path / "m.flash"
    module, at = await start_module(flash=path)
    await at.cmd("AT+CWMODE=3")
    await at.cmd("AT+SYSMSG=4")
    await module.close()
    module, at = await start_module(flash=path)
    try:
        assert b"+CWMODE:3" in await at.cmd("AT+CWMODE?")
        assert b"+SYSMSG:4" in await at.cmd("AT+SYSMSG?")
        await at.cmd("AT+RESTORE")
        await at.wait_for(b"\r\nready\r\n")
        assert b"+CWMODE:1" in await at.cmd("AT+CWMODE?")
    finally:
        await module.close()


async def test_sysflash_query_lists_user_partitions(tmp_path: Path) -> None:
    module, at = await start_module(flash=tmp_path / "m.flash")
    try:
        out = await at.cmd("AT+SYSFLASH?")
        rows = re.findall(rb'\+SYSFLASH:"([^"]+)",(\d+),(\d+),0x([0-9a-f]+),0x([0-9a-f]+)\r\n', out)
        assert module.firmware is not None
        expected = [
            (
                p.name.encode(),
                str(p.type).encode(),
                str(p.subtype).encode(),
                f"{p.offset:x}".encode(),
                f"{p.size:x}".encode(),
            )
            for p in module.firmware.user_partitions()
        ]
        assert rows == expected and rows
        assert b"mfg_nvs" in out
    finally:
        await module.close()


async def test_sysflash_erase_write_read(tmp_path: Path) -> None:
    module, at = await start_module(flash=tmp_path / "m.flash")
    try:
        await at.cmd("ATE0")
        assert await at.cmd('AT+SYSFLASH=0,"mfg_nvs",0,4096') == b"\r\nOK\r\n"
        module.feed(b'AT+SYSFLASH=1,"mfg_nvs",16,5\r\n')
        assert await at.wait_for(b">") == b"\r\n>"
        module.feed(b"hel")
        assert await at.settle(20) == b""
        module.feed(b"lo")
        assert await at.wait_for(b"\r\nOK\r\n") == b"\r\nOK\r\n"
        out = await at.cmd('AT+SYSFLASH=2,"mfg_nvs",14,9')
        assert out == b"+SYSFLASH:9,\xff\xffhello\xff\xff\r\n\r\nOK\r\n"
        # writing over data that was not erased clears bits only, as on flash
        module.feed(b'AT+SYSFLASH=1,"mfg_nvs",16,1\r\n')
        await at.wait_for(b">")
        module.feed(b"\x0f")
        await at.wait_for(b"\r\nOK\r\n")
        out = await at.cmd('AT+SYSFLASH=2,"mfg_nvs",16,1')
        assert out == b"+SYSFLASH:1," + bytes([ord("h") & 0x0F]) + b"\r\n\r\nOK\r\n"
        assert await at.cmd('AT+SYSFLASH=0,"mfg_nvs"') == b"\r\nOK\r\n"
        out = await at.cmd('AT+SYSFLASH=2,"mfg_nvs",16,2')
        assert out == b"+SYSFLASH:2,\xff\xff\r\n\r\nOK\r\n"
    finally:
        await module.close()


@pytest.mark.parametrize(
    "line",
    [
        'AT+SYSFLASH=2,"nope",0,4',  # unknown partition
        'AT+SYSFLASH=3,"mfg_nvs",0,4',  # unknown operation
        'AT+SYSFLASH=2,"mfg_nvs",0',  # read without a length
        'AT+SYSFLASH=2,"mfg_nvs",0,0',  # nothing to read
        'AT+SYSFLASH=2,"mfg_nvs",0,99999999',  # past the partition
        'AT+SYSFLASH=1,"mfg_nvs",0,99999999',  # write past the partition: no prompt
        'AT+SYSFLASH=0,"mfg_nvs",1,4096',  # erase not sector aligned
        "AT+SYSFLASH=2,mfg_nvs,0,4",  # name not quoted
        'AT+SYSFLASH=2,"mfg_nvs","0",4',
        "AT+SYSFLASH=2",
    ],
)
async def test_sysflash_errors(tmp_path: Path, line: str) -> None:
    module, at = await start_module(flash=tmp_path / "m.flash")
    try:
        await at.cmd("ATE0")
        before = module.firmware.flash.device.read(0, module.firmware.flash.device.size)  # type: ignore[union-attr]
        assert await at.cmd(line) == b"\r\nERROR\r\n"
        assert await at.cmd("AT") == b"\r\nOK\r\n"  # not stuck waiting for data
        after = module.firmware.flash.device.read(0, module.firmware.flash.device.size)  # type: ignore[union-attr]
        assert before == after
    finally:
        await module.close()


async def test_rollback(tmp_path: Path) -> None:
    module, at = await start_module(flash=tmp_path / "m.flash")
    try:
        await at.cmd("ATE0")
        assert module.firmware is not None
        out = await at.cmd("AT+SYSROLLBACK?")
        assert out == b'+SYSROLLBACK:0x100000,"v4.1.1.0",0x280000,""\r\n\r\nOK\r\n'
        assert await at.cmd("AT+SYSROLLBACK") == b"\r\nERROR\r\n"  # ota_1 is empty
        install(module.firmware, build_app_image("v5.0.0"))
        await reboot(at)
        await at.cmd("ATE0")
        out = await at.cmd("AT+SYSROLLBACK?")
        assert out == b'+SYSROLLBACK:0x280000,"v5.0.0",0x100000,"v4.1.1.0"\r\n\r\nOK\r\n'
        assert await at.cmd("AT+SYSROLLBACK") == b"\r\nOK\r\n"
        assert b"v5.0.0" in await at.cmd("AT+GMR")  # still running until reset
        await reboot(at)
        assert b"Bin version:v4.1.1.0" in await at.cmd("AT+GMR")
    finally:
        await module.close()


async def test_unconfirmed_image_rolls_back(tmp_path: Path) -> None:
    """An image that never reaches AT (killed before confirming) is abandoned at reset."""
    path = tmp_path / "m.flash"
    firmware = Firmware.open(path)
    try:
        firmware.boot()
        install(firmware, build_app_image("v6.0.0"))
        assert firmware.boot() is not None and firmware.running is not None
        assert firmware.running.version == "v6.0.0"  # PENDING_VERIFY now; never confirmed
    finally:
        firmware.close()
    module, at = await start_module(flash=path)
    try:
        assert b"Bin version:v4.1.1.0" in await at.cmd("AT+GMR")
    finally:
        await module.close()


async def test_no_bootable_image_means_no_ready(tmp_path: Path) -> None:
    path = tmp_path / "m.flash"
    firmware = Firmware.open(path)
    slot = firmware.flash.slots[0]
    firmware.flash.device.erase(slot.offset, slot.size)
    firmware.close()
    module = create_module(time_scale=0, flash=path)
    at = AtHarness(module)
    events: list[Event] = []
    module.bus.subscribe(events.append)
    try:
        await module.start()
        assert await at.settle() == b""  # the bootloader never hands over: no "ready"
        failed = [e for e in events if e.kind == "boot.failed"]
        assert failed and "ota_0" in failed[0].data["reason"]
        module.feed(b"AT\r\n")
        assert await at.settle() == b""
    finally:
        await module.close()
