"""``esp-at-sim provision`` and ``esp-at-sim ota`` against an in-process module whose web
server listens on ephemeral loopback ports (time scale 0): outcomes, exit statuses,
messages, progress output, and what the module saw."""

from __future__ import annotations

import argparse
import ast
import asyncio
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from applet.rig import (
    HOTSPOT,
    HOTSPOT_PASSWORD,
    RESULT_TAKEN,
    ROUTER,
    SUCCESS_URCS,
    Rig,
    close_rig,
    open_rig,
    world,
)
from esp_at_sim.cli import provision as cli_provision
from esp_at_sim.cli.ota import cmd_ota, ota
from esp_at_sim.cli.provision import cmd_provision, provision
from esp_at_sim.client.web import stainfo_body
from esp_at_sim.flash.image import build_app_image

MakeRig = Callable[..., Awaitable[Rig]]
OTA_OK = b"+WEBSERVERRSP:3\r\n+WEBSERVERRSP:4\r\n"
OTA_FAILED = b"+WEBSERVERRSP:3\r\n+WEBSERVERRSP:5\r\n"


@pytest.fixture
async def make_rig(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[MakeRig]:
    monkeypatch.setattr(cli_provision, "POLL_INTERVAL", 0.01)
    made: list[Rig] = []

    async def make(*args: Any, **kwargs: Any) -> Rig:
        made.append(await open_rig(*args, **kwargs))
        return made[-1]

    yield make
    for rig in made:
        await close_rig(rig)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def image_file(tmp_path: Path, version: str = "v4.2.0.0", name: str = "fw.bin") -> Path:
    path = tmp_path / name
    path.write_bytes(build_app_image(version, chip="esp32", size=64 * 1024))
    return path


async def fw_version(rig: Rig) -> str:
    async with rig.session.get(rig.to("/getotainfo")) as response:
        return str((await response.json())["fw_version"])


# ------------------------------------------------------------------ provision
async def test_provision_with_ssid(make_rig: MakeRig, capsys: pytest.CaptureFixture[str]) -> None:
    rig = await make_rig(world(HOTSPOT, ROUTER))
    assert await provision(rig.url, ssid="HomeNet", password="sunflower42") == 0
    out = capsys.readouterr().out
    assert f"module at {rig.url.rstrip('/')}: waiting config" in out
    assert "module: connect OK" in out
    assert out.rstrip().endswith("connected to 'HomeNet': the module's address is 192.168.1.23")
    assert await rig.at.settle() == SUCCESS_URCS + RESULT_TAKEN  # /getresult was sent
    assert (await rig.stainfo())["message"] == "waiting config"


async def test_provision_failure_shows_the_reason(
    make_rig: MakeRig, capsys: pytest.CaptureFixture[str]
) -> None:
    rig = await make_rig(world(ROUTER))
    assert await provision(rig.url, ssid="HomeNet", password="wrong-password") == 1
    err = capsys.readouterr().err
    # Said as soon as the module knows, while it still retries, or once it gave up.
    assert err.startswith(
        "esp-at-sim provision: the module could not connect: the password for 'HomeNet' is "
        "wrong (reason: wrong_password)"
    )
    assert await rig.at.settle() == b"+WEBSERVERRSP:1\r\n"  # the result is left, as the page does
    info = await rig.stainfo()
    assert info["state"] == 2 or info["retrying"] is True


@pytest.mark.parametrize(
    ("ssid", "password", "why"),
    [
        ("HomeNet", "wrong-password", "the password for 'HomeNet' is wrong"),
        ("NoSuchNet", "whatever1", "no network called 'NoSuchNet' was found"),
    ],
)
async def test_provision_reports_a_final_reason_while_the_module_retries(
    make_rig: MakeRig, capsys: pytest.CaptureFixture[str], ssid: str, password: str, why: str
) -> None:
    # 60 s connection_timeout at scale 0.1: the module declares the failure after 6 s of
    # real time; the reason is known after about 0.15 s, and provision says it then.
    rig = await make_rig(world(ROUTER), timeout=60, scale=0.1)
    assert await provision(rig.url, ssid=ssid, password=password) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"esp-at-sim provision: the module could not connect: {why} ")
    assert "It keeps retrying until its connection_timeout ends" in err
    info = await rig.stainfo()
    assert (info["state"], info["message"], info["retrying"]) == (0, "connecting", True)
    # The AT port is as without the report: the module is still at it (10 s later).
    assert await rig.at.settle(10) == b"+WEBSERVERRSP:1\r\n"
    # The right password is taken at once.
    assert await provision(rig.url, ssid="HomeNet", password="sunflower42") == 0
    assert await rig.at.settle(10) == SUCCESS_URCS + RESULT_TAKEN


async def test_provision_with_ssid_and_udp_port_gets_no_report(
    make_rig: MakeRig, capsys: pytest.CaptureFixture[str]
) -> None:
    rig = await make_rig(world(ROUTER))
    port = free_port()
    assert await provision(rig.url, ssid="HomeNet", password="sunflower42", udp_port=port) == 0
    assert "connected to 'HomeNet'" in capsys.readouterr().out
    assert rig.applet() == []
    assert await rig.at.settle() == SUCCESS_URCS + RESULT_TAKEN


def test_request_body_is_the_stock_page_json_plus_the_port() -> None:
    assert stainfo_body("Café", "pw", None) == (
        '{"ssid":"Café","password":"pw","ssid_len":5,"password_len":2}'.encode()
    )
    assert stainfo_body("", "hotspot-1234", 5000) == (
        b'{"ssid":"","password":"hotspot-1234","ssid_len":0,"password_len":12}&udp_port=5000'
    )


@pytest.mark.parametrize("udp_port", [None, "fixed"])
async def test_phone_hotspot_end_to_end(
    make_rig: MakeRig, capsys: pytest.CaptureFixture[str], udp_port: str | None
) -> None:
    rig = await make_rig(world(HOTSPOT, ROUTER))
    port = free_port() if udp_port else None
    assert await provision(rig.url, ssid=None, password=HOTSPOT_PASSWORD, udp_port=port) == 0
    out = capsys.readouterr().out
    report = rig.applet("report")[0].data
    listened = int(report["host"].rsplit(":", 1)[1])
    assert port is None or listened == port
    assert f"Waiting for the report on UDP port {listened}" in out
    assert f"report from {report['source']}: ip=192.168.43.120&port=3339" in out
    assert "module: connect OK" in out
    assert out.rstrip().endswith("connected: the module's address is 192.168.43.120")
    # the UDP acknowledgement is the confirmation: exactly one URC 2, no /getresult
    assert await rig.at.settle() == SUCCESS_URCS + RESULT_TAKEN
    assert rig.applet("acknowledged")


async def test_phone_hotspot_without_a_report(
    make_rig: MakeRig, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The module joins but its report never comes (its UDP port is taken on the host):
    the CLI learns the outcome from /getstainfo, says so, and succeeds."""
    monkeypatch.setattr(cli_provision, "REPORT_GRACE", 0.1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as blocker:
        blocker.bind(("127.0.0.1", 0))
        rig = await make_rig(world(HOTSPOT), report_port=blocker.getsockname()[1])
        assert await provision(rig.url, ssid=None, password=HOTSPOT_PASSWORD) == 0
    out = capsys.readouterr().out
    assert "module: connect OK" in out
    assert "warning: the module connected but no report reached UDP port" in out
    assert out.rstrip().endswith("connected")
    assert await rig.at.settle() == SUCCESS_URCS


async def test_phone_hotspot_not_found(
    make_rig: MakeRig, capsys: pytest.CaptureFixture[str]
) -> None:
    rig = await make_rig(world(HOTSPOT))
    assert await provision(rig.url, ssid=None, password="not-the-hotspot") == 1
    assert capsys.readouterr().err.endswith(
        "could not connect: it found no phone hotspot it could join (reason: not_found)\n"
    )
    assert await rig.at.settle() == b"+WEBSERVERRSP:1\r\n+WEBSERVERRSP:2\r\n"


async def test_provision_refused_outside_mode_3(
    make_rig: MakeRig, capsys: pytest.CaptureFixture[str]
) -> None:
    rig = await make_rig(world(ROUTER))
    assert (await rig.at.cmd("AT+CWMODE=1")).endswith(b"OK\r\n")
    assert await provision(rig.url, ssid="HomeNet", password="sunflower42") == 1
    assert "refused the credentials" in capsys.readouterr().err


async def test_provision_gives_up_after_its_timeout(
    make_rig: MakeRig, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    rig = await make_rig(world(ROUTER))
    monkeypatch.setattr(rig.server.provisioning, "accept", lambda creds: None)  # never starts
    assert await provision(rig.url, ssid="HomeNet", password="sunflower42", timeout=0.1) == 1
    assert capsys.readouterr().err.endswith("no result after 0.1 s\n")


async def test_unreachable_module(capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{free_port()}/"
    assert await provision(url, ssid="HomeNet", password="sunflower42") == 2
    err = capsys.readouterr().err
    assert err.startswith("esp-at-sim provision: no answer from the module at http://127.0.0.1:")
    assert "Traceback" not in err


async def test_something_else_at_the_url(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        assert await provision(f"127.0.0.1:{port}", ssid="A", password="password1") == 2
        assert await ota(f"127.0.0.1:{port}", image_file(tmp_path)) == 2
    err = capsys.readouterr().err
    assert "does not answer like an ESP-AT web server" in err
    assert "does not answer /getotainfo like an ESP-AT web server" in err


@pytest.mark.parametrize(
    ("url", "ssid", "password", "port", "message"),
    [
        ("ftp://127.0.0.1/", "A", "password1", None, "not an http:// URL"),
        ("127.0.0.1:9", "S" * 33, "password1", None, "the SSID is 33 bytes long"),
        ("127.0.0.1:9", "A", "p" * 65, None, "the password is over 64 bytes"),
        ("127.0.0.1:9", None, "", None, "give --ssid, or the phone hotspot's --password"),
        ("127.0.0.1:9", "A", "password1", 70000, "--udp-port 70000: not a port"),
        ("127.0.0.1:9", "Ä" * 16, "ü" * 32 + "x" * 60, None, "the password is over"),
    ],
)
async def test_usage_errors(
    capsys: pytest.CaptureFixture[str],
    url: str,
    ssid: str | None,
    password: str,
    port: int | None,
    message: str,
) -> None:
    assert await provision(url, ssid=ssid, password=password, udp_port=port) == 2
    assert message in capsys.readouterr().err


async def test_cmd_provision_runs_its_own_event_loop(
    make_rig: MakeRig, capsys: pytest.CaptureFixture[str]
) -> None:
    rig = await make_rig(world(ROUTER))
    args = argparse.Namespace(
        url=rig.url, ssid="HomeNet", password="sunflower42", udp_port=None, timeout=10.0
    )
    assert await asyncio.to_thread(cmd_provision, args) == 0
    assert "connected to 'HomeNet'" in capsys.readouterr().out


# ------------------------------------------------------------------------ ota
async def test_ota_success(
    make_rig: MakeRig, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rig = await make_rig(world(ROUTER), flash=True)
    path = image_file(tmp_path)
    assert await ota(rig.url, path) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].endswith(
        "firmware v4.1.1.0, AT core 4.1.1.0; partitions: ota, mfg_nvs, fs_storage"
    )
    assert out[1] == f"sending fw.bin: {path.stat().st_size} bytes"
    assert out[2:6] == [f"sent {n * 16384} of 65536 bytes ({n * 25}%)" for n in (1, 2, 3, 4)]
    assert out[-1] == (
        "accepted: restart the module (AT+RST) to run it. After the restart its web server "
        "is off until the host sends AT+WEBSERVER again"
    )
    assert await rig.at.settle() == OTA_OK
    await rig.at.cmd("AT+RST")
    await rig.at.wait_for(b"ready\r\n")
    assert b"v4.2.0.0" in await rig.at.cmd("AT+GMR")


async def test_ota_corrupt_image_is_rejected(
    make_rig: MakeRig, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rig = await make_rig(world(ROUTER), flash=True)
    path = image_file(tmp_path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    assert await ota(rig.url, path, partition="ota") == 1
    err = capsys.readouterr().err
    assert err.startswith("esp-at-sim ota: rejected by the module: checksum mismatch (stored 0x")
    assert err.endswith("(reason: corrupt); the running firmware is unchanged\n")
    assert await rig.at.settle() == OTA_FAILED
    assert await fw_version(rig) == "v4.1.1.0"
    await rig.at.cmd("AT+RST")
    await rig.at.wait_for(b"ready\r\n")
    assert b"v4.1.1.0" in await rig.at.cmd("AT+GMR")


async def test_ota_image_larger_than_the_slot(
    make_rig: MakeRig, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """/getotainfo tells the slot's size: the file is refused before anything is sent."""
    rig = await make_rig(world(ROUTER), flash=True)
    path = tmp_path / "big.bin"
    path.write_bytes(build_app_image("v9.0.0.0", chip="esp32", size=0x180000 + 0x10000))
    assert await ota(rig.url, path) == 2
    assert capsys.readouterr().err == (
        f"esp-at-sim ota: {path} is {0x190000} bytes; the module's partition 'ota' holds "
        f"{0x180000}: nothing was sent\n"
    )
    assert await rig.at.settle() == b""  # no upload began
    assert await fw_version(rig) == "v4.1.1.0"


@pytest.mark.parametrize(
    ("chip", "cut", "why"),
    [
        (
            "esp32c3",
            False,
            "image is for ESP32-C3 (chip id 5), module is ESP32 (reason: wrong_chip)",
        ),
        ("esp32", True, "truncated: 32768 bytes arrived, "),
    ],
)
async def test_ota_says_why_the_module_refused_the_image(
    make_rig: MakeRig,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    chip: str,
    cut: bool,
    why: str,
) -> None:
    rig = await make_rig(world(ROUTER), flash=True)
    data = build_app_image("v9.0.0.0", chip=chip, size=64 * 1024)
    path = tmp_path / "fw.bin"
    path.write_bytes(data[: len(data) // 2] if cut else data)
    assert await ota(rig.url, path) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"esp-at-sim ota: rejected by the module: {why}")
    assert err.endswith("; the running firmware is unchanged\n")
    assert await rig.at.settle() == OTA_FAILED


async def test_ota_data_partition_failure_speaks_of_the_data(
    make_rig: MakeRig, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rig = await make_rig(world(ROUTER), flash=True)
    path = tmp_path / "nvs.bin"
    path.write_bytes(b"\x00" * 0x1C001)
    assert await ota(rig.url, path, partition="mfg_nvs") == 2
    err = capsys.readouterr().err
    assert "the module's partition 'mfg_nvs' holds 114688: nothing was sent" in err
    assert "firmware" not in err


async def test_ota_raw_partition(
    make_rig: MakeRig, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rig = await make_rig(world(ROUTER), flash=True)
    path = tmp_path / "files.BIN"
    path.write_bytes(b"\x00not an app image" * 100)
    assert await ota(rig.url, path, partition="fs_storage") == 0
    assert capsys.readouterr().out.rstrip().endswith("accepted: written to partition fs_storage")
    assert await rig.at.settle() == OTA_OK


async def test_ota_unknown_partition_sends_nothing(
    make_rig: MakeRig, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rig = await make_rig(world(ROUTER), flash=True)
    assert await ota(rig.url, image_file(tmp_path), partition="nvs") == 2
    err = capsys.readouterr().err
    assert err == (
        "esp-at-sim ota: the module has no partition 'nvs' (it has: ota, mfg_nvs, fs_storage)\n"
    )
    assert await rig.at.settle() == b""


async def test_ota_while_another_upload_runs(
    make_rig: MakeRig, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rig = await make_rig(world(ROUTER), flash=True)
    async with rig.server.context.upload_lock:
        assert await ota(rig.url, image_file(tmp_path)) == 1
    assert "busy with another upload" in capsys.readouterr().err
    assert await fw_version(rig) == "v4.1.1.0"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("fw.txt", b"\xe9" * 10, "not a .bin file"),
        ("empty.bin", b"", "is empty"),
        ("zero.bin", b"\x00" * 10, "is not an app image (first byte 0x00, not 0xe9)"),
        ("missing.bin", None, "cannot read"),
    ],
)
async def test_ota_file_checks(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    name: str,
    content: bytes | None,
    message: str,
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    # the port is closed: a check that let the file through would end in "no answer"
    assert await ota(f"127.0.0.1:{free_port()}", path) == 2
    assert message in capsys.readouterr().err


async def test_ota_unreachable(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = argparse.Namespace(
        url=f"http://127.0.0.1:{free_port()}", file=str(image_file(tmp_path)), partition=None
    )
    assert await asyncio.to_thread(cmd_ota, args) == 2
    assert "no answer from the module" in capsys.readouterr().err


async def test_ota_progress_bar_on_a_terminal(
    make_rig: MakeRig, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rig = await make_rig(world(ROUTER), flash=True)
    assert await ota(rig.url, image_file(tmp_path), tty=True) == 0
    out = capsys.readouterr().out
    assert "sent " not in out
    assert "fw.bin" in out and "kB" in out  # rich's bar: name, bytes, rate, time left


@pytest.mark.parametrize("command", ["provision", "ota", "console"])
def test_no_simulator_imports(command: str) -> None:
    """The commands that speak to a module load the client and nothing of the simulator."""
    code = (
        f"import sys, esp_at_sim.cli.{command};"
        "print(sorted(m for m in sys.modules if m.startswith('esp_at_sim')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    loaded = ast.literal_eval(out.stdout)
    ours = {"esp_at_sim", "esp_at_sim.cli", "esp_at_sim.cli.common", f"esp_at_sim.cli.{command}"}
    others = [m for m in loaded if m not in ours and not m.startswith("esp_at_sim.client")]
    assert f"esp_at_sim.cli.{command}" in loaded and others == []
