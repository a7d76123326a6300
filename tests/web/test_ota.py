"""/getotainfo and /setotadata: streamed uploads into the module's flash, verification,
the URCs, and every way an upload can fail without touching the running firmware."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from esp_at_sim.device import firmware as device_firmware
from esp_at_sim.flash.boot import boot
from esp_at_sim.flash.flashio import FlashDevice
from esp_at_sim.flash.image import build_app_image
from esp_at_sim.flash.ota import OtaUpdate

from .conftest import MakeWeb
from .helpers import Web, raw_request, read_response

SLOT_SIZE = 0x180000
OTA_OK = b"+WEBSERVERRSP:3\r\n+WEBSERVERRSP:4\r\n"
OTA_FAILED = b"+WEBSERVERRSP:3\r\n+WEBSERVERRSP:5\r\n"


def image(version: str = "v4.2.0.0", size: int | None = 64 * 1024) -> bytes:
    return build_app_image(version, chip="esp32", size=size)


async def upload(web: Web, body: object, target: str | None = "ota") -> tuple[int, bytes]:
    headers = {"Content-Type": "application/octet-stream"}
    if target is not None:
        headers["Object"] = target
    return await web.post("/setotadata", body, headers=headers)


async def reboot_and_restart_web(web: Web) -> None:
    await web.at.settle()
    assert await web.at.cmd("AT+RST") == b"AT+RST\r\n\r\nOK\r\n"
    await web.at.wait_for(b"ready\r\n")
    assert (await web.at.cmd("AT+WEBSERVER=1,80,25")).endswith(b"\r\nOK\r\n")
    web.at.take()


async def gmr_version(web: Web) -> bytes:
    out = await web.at.cmd("AT+GMR")
    return out.split(b"Bin version:", 1)[1].split(b"(", 1)[0]


async def ota_info(web: Web) -> dict[str, object]:
    status, body = await web.get("/getotainfo")
    assert status == 200
    info: dict[str, object] = json.loads(body)
    return info


SIZES = {"ota": SLOT_SIZE, "mfg_nvs": 0x1C000, "fs_storage": 0x90000}


async def test_ota_info_without_flash(web: Web) -> None:
    assert await web.get("/getotainfo") == (
        200,
        b'{"state":0,"fw_version":"v4.1.1.0","at_core_version":"4.1.1.0",'
        b'"partitions":["ota","mfg_nvs","fs_storage"],"pending_slot":null,"pending_version":null,'
        b'"sizes":{"ota":1572864,"mfg_nvs":114688,"fs_storage":589824}}',
    )


async def test_upload_without_flash_fails(web: Web) -> None:
    assert await upload(web, image()) == (
        500,
        b'{"state": 1, "reason": "no_flash", "error": "the module has no flash to write to", '
        b'"erased": false}',
    )
    assert await web.at.settle() == OTA_FAILED


async def test_ota_success_runs_after_reset(make_web: MakeWeb) -> None:
    web = await make_web(flash=True)
    assert await ota_info(web) == {
        "state": 0,
        "fw_version": "v4.1.1.0",
        "at_core_version": "4.1.1.0",
        "partitions": ["ota", "mfg_nvs", "fs_storage"],
        "pending_slot": None,
        "pending_version": None,
        "sizes": SIZES,
    }
    assert await upload(web, image("v4.2.0.0")) == (200, b'{"state": 0}')
    assert await web.at.settle() == OTA_OK
    # still the old firmware until the reset, the new one waiting for it
    info = await ota_info(web)
    assert info["fw_version"] == "v4.1.1.0" and info["pending_version"] == "v4.2.0.0"
    assert info["pending_slot"] == "ota_1"
    assert await gmr_version(web) == b"v4.1.1.0"
    await reboot_and_restart_web(web)
    assert await gmr_version(web) == b"v4.2.0.0"
    assert (await ota_info(web))["fw_version"] == "v4.2.0.0"
    firmware = web.module.firmware
    assert firmware is not None and firmware.running is not None
    assert firmware.running.slot == "ota_1"
    # and the next update goes back to ota_0
    assert await upload(web, image("v4.3.0.0")) == (200, b'{"state": 0}')
    await reboot_and_restart_web(web)
    assert await gmr_version(web) == b"v4.3.0.0"


@pytest.mark.parametrize("on_disk", [False, True])
async def test_only_syncing_a_flash_file_leaves_the_event_loop(
    make_web: MakeWeb, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, on_disk: bool
) -> None:
    """Erasing, writing and verifying run on the event loop's thread (a hand-off to a
    worker thread costs more than the work); finishing an upload into a flash file,
    which waits for fsync, runs in a worker thread, once per upload."""
    web = await make_web(flash=tmp_path / "flash.bin" if on_disk else True)
    threads: dict[str, set[int]] = {}

    def on(name: str, real: Callable[..., object]) -> Callable[..., object]:
        def spy(*args: object) -> object:
            threads.setdefault(name, set()).add(threading.get_ident())
            return real(*args)

        return spy

    for name in ("write", "end"):
        monkeypatch.setattr(OtaUpdate, name, on(name, getattr(OtaUpdate, name)))
    monkeypatch.setattr(device_firmware, "begin_update", on("begin", device_firmware.begin_update))
    monkeypatch.setattr(FlashDevice, "sync", on("sync", FlashDevice.sync))
    assert await upload(web, image("v4.2.0.0")) == (200, b'{"state": 0}')
    loop = {threading.get_ident()}
    assert threads["begin"] == threads["write"] == loop
    assert (threads["end"] != loop) is on_disk
    assert len(threads["end"]) == 1
    if on_disk:
        assert threads["sync"] == threads["end"]  # every fsync is in the worker
    await reboot_and_restart_web(web)
    assert await gmr_version(web) == b"v4.2.0.0"


async def test_chunked_upload(make_web: MakeWeb) -> None:
    web = await make_web(flash=True)
    data = image("v5.0.0.0")

    async def chunks() -> AsyncIterator[bytes]:
        for at in range(0, len(data), 7000):
            yield data[at : at + 7000]

    assert await upload(web, chunks()) == (200, b'{"state": 0}')
    await reboot_and_restart_web(web)
    assert await gmr_version(web) == b"v5.0.0.0"


@pytest.mark.parametrize(
    ("damage", "reason", "error"),
    [
        (
            lambda d: d[:1000] + bytes([d[1000] ^ 0x55]) + d[1001:],  # a flipped byte
            "corrupt",
            "checksum mismatch",
        ),
        (lambda d: d[: len(d) // 2], "truncated", "truncated: 32768 bytes arrived"),
        (lambda d: b"\x00" + d[1:], "not_an_image", "bad magic 0x00"),
        (
            lambda d: build_app_image("v9.9.9.9", chip="esp32c3"),
            "wrong_chip",
            "image is for ESP32-C3",
        ),
        (lambda d: b"", "empty", "no data was written to ota_1"),
    ],
)
async def test_bad_images_fail_say_why_and_change_nothing(
    make_web: MakeWeb, damage: object, reason: str, error: str
) -> None:
    web = await make_web(flash=True)
    body = damage(image())  # type: ignore[operator]
    status, answer = await upload(web, body)
    assert status == 500
    failure = json.loads(answer)
    assert (failure["state"], failure["reason"], failure["erased"]) == (1, reason, True)
    assert failure["error"].startswith(error), failure["error"]
    assert await web.at.settle() == OTA_FAILED
    firmware = web.module.firmware
    assert firmware is not None
    assert boot(firmware.flash, dry_run=True).version == "v4.1.1.0"
    await reboot_and_restart_web(web)
    assert await gmr_version(web) == b"v4.1.1.0"
    assert (await ota_info(web))["fw_version"] == "v4.1.1.0"


async def test_missing_object_is_400_without_urc(make_web: MakeWeb) -> None:
    web = await make_web(flash=True)
    assert await upload(web, image(), target=None) == (400, b'{"state": 1}')
    assert await web.at.settle() == b""


@pytest.mark.parametrize(
    ("target", "status", "urcs"),
    [
        ("", 500, OTA_FAILED),
        ("nvs", 500, OTA_FAILED),  # a primary-table partition is not a user partition
        ("nope", 500, OTA_FAILED),
        ("ota_0x", 200, OTA_OK),  # anything starting with "ota" means the next OTA slot
        ("otadata", 200, OTA_OK),
    ],
)
async def test_targets(make_web: MakeWeb, target: str, status: int, urcs: bytes) -> None:
    web = await make_web(flash=True)
    assert (await upload(web, image(), target=target))[0] == status
    assert await web.at.settle() == urcs


async def test_custom_partition_is_written_raw(make_web: MakeWeb) -> None:
    web = await make_web(flash=True)
    data = bytes(range(256)) * 16 + b"tail"
    assert await upload(web, data, target="mfg_nvs") == (200, b'{"state": 0}')
    assert await web.at.settle() == OTA_OK
    firmware = web.module.firmware
    assert firmware is not None
    assert firmware.sysflash_read("mfg_nvs", 0, len(data) + 4) == data + b"\xff" * 4


async def test_too_big_for_a_custom_partition_leaves_it_intact(make_web: MakeWeb) -> None:
    web = await make_web(flash=True)
    assert await upload(web, b"keep", target="mfg_nvs") == (200, b'{"state": 0}')
    web.at.take()
    status, answer = await upload(web, b"x" * (112 * 1024 + 1), target="mfg_nvs")
    assert status == 500
    assert json.loads(answer) == {
        "state": 1,
        "reason": "too_large",
        "error": "114689 bytes do not fit mfg_nvs (114688 bytes)",
        "erased": False,
    }
    assert await web.at.settle() == OTA_FAILED
    firmware = web.module.firmware
    assert firmware is not None and firmware.sysflash_read("mfg_nvs", 0, 4) == b"keep"


async def test_body_larger_than_the_slot_fails_at_once(make_web: MakeWeb) -> None:
    web = await make_web(flash=True)
    port = web.server.http_port
    assert port is not None
    head = (
        f"POST /setotadata HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nObject: ota\r\n"
        f"Content-Length: {SLOT_SIZE + 1}\r\n\r\n"
    ).encode()
    # no byte of the body is sent: the answer must come from the declared length alone
    status, headers, body = await raw_request(port, head + b"\xe9")
    assert status == 500
    assert json.loads(body)["reason"] == "too_large"
    assert json.loads(body)["erased"] is False
    assert headers["content-type"] == "application/json"
    assert await web.at.settle() == OTA_FAILED


async def test_chunked_body_past_the_slot_end_fails(make_web: MakeWeb) -> None:
    web = await make_web(flash=True)
    block = b"\xe9" + b"\x00" * (256 * 1024 - 1)

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(SLOT_SIZE // len(block) + 1):
            yield block

    status, answer = await upload(web, chunks())
    assert status == 500
    # Without a length the slot was erased before the data ran past its end.
    assert (json.loads(answer)["reason"], json.loads(answer)["erased"]) == ("too_large", True)
    assert await web.at.settle() == OTA_FAILED


async def test_client_gone_mid_upload_keeps_old_firmware(make_web: MakeWeb) -> None:
    web = await make_web(flash=True)
    port = web.server.http_port
    assert port is not None
    data = image(size=512 * 1024)
    head = (
        f"POST /setotadata HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nObject: ota\r\n"
        f"Content-Length: {len(data)}\r\n\r\n"
    ).encode()
    _reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(head + data[: len(data) // 2])
    await writer.drain()
    await web.at.wait_for(b"+WEBSERVERRSP:3\r\n")
    writer.close()
    await writer.wait_closed()
    for _ in range(200):
        if b"+WEBSERVERRSP:5" in web.at.received:
            break
        await asyncio.sleep(0.01)
    assert await web.at.settle() == b"+WEBSERVERRSP:5\r\n"
    firmware = web.module.firmware
    assert firmware is not None
    assert boot(firmware.flash, dry_run=True).version == "v4.1.1.0"
    # the lock is free again: a new upload goes through
    assert await upload(web, image("v4.2.0.0")) == (200, b'{"state": 0}')


async def test_second_upload_is_refused_while_one_runs(make_web: MakeWeb) -> None:
    web = await make_web(flash=True)
    data = image("v4.2.0.0")
    release = asyncio.Event()
    first_part_sent = asyncio.Event()

    async def slow() -> AsyncIterator[bytes]:
        yield data[:4096]
        first_part_sent.set()
        await release.wait()
        yield data[4096:]

    first = asyncio.create_task(upload(web, slow()))
    await asyncio.wait_for(first_part_sent.wait(), 5)
    await web.at.wait_for(b"+WEBSERVERRSP:3\r\n")
    assert await upload(web, image("v6.0.0.0")) == (409, b'{"state": 1}')
    assert await upload(web, b"x", target="mfg_nvs") == (409, b'{"state": 1}')
    release.set()
    assert await asyncio.wait_for(first, 10) == (200, b'{"state": 0}')
    assert await web.at.settle() == b"+WEBSERVERRSP:4\r\n"
    await reboot_and_restart_web(web)
    assert await gmr_version(web) == b"v4.2.0.0"


async def test_ota_upload_events(make_web: MakeWeb) -> None:
    web = await make_web(flash=True)
    seen: list[tuple[str, object]] = []
    web.module.bus.subscribe(
        lambda e: seen.append((e.kind, e.data.get("result"))) if e.kind == "web.ota" else None
    )
    await upload(web, image())
    assert seen == [("web.ota", "started"), ("web.ota", "done")]


async def test_keep_alive_after_refusal(make_web: MakeWeb) -> None:
    """A refused upload's body is drained, so the connection stays usable."""
    web = await make_web(flash=True)
    port = web.server.http_port
    assert port is not None
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        body = b"\x00" * 5000
        writer.write(
            f"POST /setotadata HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nObject: ota\r\n"
            f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
            + b"GET /getversion HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        )
        await writer.drain()
        assert (await asyncio.wait_for(read_response(reader), 5))[0] == 500
        assert (await asyncio.wait_for(read_response(reader), 5))[2] == b'{"version":"1.0"}'
    finally:
        writer.close()
        await writer.wait_closed()
