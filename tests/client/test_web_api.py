"""``WebApi``: the client of a module's web server, against an in-process module (time
scale 0, loopback, ephemeral ports); its errors for a server that is absent or is not an
ESP-AT web server."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from applet.rig import ROUTER, SUCCESS_URCS, Rig, close_rig, open_rig, world
from esp_at_sim.client import WebApi, WebApiError
from esp_at_sim.client.web import stainfo_body
from esp_at_sim.flash.image import build_app_image


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    made = await open_rig(world(ROUTER), flash=True)
    try:
        yield made
    finally:
        await close_rig(made)


async def test_provisioning_round(rig: Rig) -> None:
    async with WebApi(rig.url) as api:
        assert (await api.getstainfo())["message"] == "waiting config"
        assert await api.setstainfo("HomeNet", "sunflower42") == 200
        await rig.until(lambda e: e.kind == "web.provisioning" and e.data["state"] == "CONNECT_OK")
        info = await api.getstainfo()
        assert info["state"] == 1 and info["message"] == "connect OK"
        assert await api.getresult() == 200
    assert (await rig.at.settle()).startswith(SUCCESS_URCS)


async def test_refused_credentials_are_a_status(rig: Rig) -> None:
    assert (await rig.at.cmd("AT+CWMODE=1")).endswith(b"OK\r\n")
    async with WebApi(rig.url) as api:
        assert await api.setstainfo("HomeNet", "sunflower42") == 400


async def test_ota_round(rig: Rig) -> None:
    image = build_app_image("v9.9.9", chip="esp32", size=64 * 1024)

    async def chunks(data: bytes) -> AsyncIterator[bytes]:
        for start in range(0, len(data), 4096):
            yield data[start : start + 4096]

    async with WebApi(rig.url.removeprefix("http://")) as api:  # the scheme may be left out
        info = await api.getotainfo()
        assert "ota" in info["partitions"]
        damaged = image[:-1] + bytes([image[-1] ^ 0xFF])  # its SHA-256 no longer matches
        assert await api.setotadata("ota", chunks(damaged), len(damaged)) == 500
        assert await api.setotadata("ota", chunks(image), len(image)) == 200


def test_stainfo_body_refuses_what_the_module_would() -> None:
    assert stainfo_body("Net", "pw", 5000) == (
        b'{"ssid":"Net","password":"pw","ssid_len":3,"password_len":2}&udp_port=5000'
    )
    for ssid, password, port in (("x" * 33, "", None), ("a", "p" * 65, None), ("a", "b", 70000)):
        with pytest.raises(ValueError):
            stainfo_body(ssid, password, port)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_unreachable_and_bad_url() -> None:
    async with WebApi(f"127.0.0.1:{free_port()}") as api:
        with pytest.raises(WebApiError, match=r"no answer from the module at http://127\.0\.0\.1:"):
            await api.getstainfo()
    with pytest.raises(WebApiError, match="not an http:// URL"):
        WebApi("https://example.invalid/")


async def test_a_server_that_is_not_esp_at() -> None:
    async def odd(request: web.Request) -> web.Response:
        return web.json_response({"state": "up"})

    app = web.Application()
    app.router.add_get("/getstainfo", odd)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with WebApi(f"http://127.0.0.1:{port}/ignored/path") as api:
            assert api.base == f"http://127.0.0.1:{port}"
            with pytest.raises(WebApiError, match="does not answer like an ESP-AT web server"):
                await api.getstainfo()
            with pytest.raises(WebApiError, match="/getotainfo"):
                await api.getotainfo()
    finally:
        await runner.cleanup()
