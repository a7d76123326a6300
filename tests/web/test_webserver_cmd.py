"""AT+WEBSERVER: argument rules, start, re-enable, stop, busy port, reset."""

from __future__ import annotations

import logging
import socket

import aiohttp
import pytest

from esp_at_sim.testing import start_module

from .conftest import MakeWeb


@pytest.mark.parametrize(
    "line",
    [
        "AT+WEBSERVER=0,80,25",  # deviation: the firmware starts a server here
        "AT+WEBSERVER=1",
        "AT+WEBSERVER=1,80",
        "AT+WEBSERVER=1,80,25,1",
        "AT+WEBSERVER=0,80",
        "AT+WEBSERVER=2,80,25",
        "AT+WEBSERVER=-1,80,25",
        "AT+WEBSERVER=1,-1,25",
        "AT+WEBSERVER=1,65536,25",
        "AT+WEBSERVER=1,80,20",
        "AT+WEBSERVER=1,80,61",
        'AT+WEBSERVER=1,"80",25',
        'AT+WEBSERVER="1",80,25',
        "AT+WEBSERVER=1,80,",
        "AT+WEBSERVER=",
        "AT+WEBSERVER?",
        "AT+WEBSERVER=?",
        "AT+WEBSERVER",
    ],
)
async def test_bad_arguments_are_refused(make_web: MakeWeb, line: str) -> None:
    web = await make_web(start="")
    assert await web.at.cmd(line) == line.encode() + b"\r\n\r\nERROR\r\n"
    assert not web.server.running
    assert web.lines == []


@pytest.mark.parametrize("timeout", [21, 60])
async def test_timeout_range_limits_are_accepted(make_web: MakeWeb, timeout: int) -> None:
    web = await make_web(start=f"AT+WEBSERVER=1,80,{timeout}")
    assert web.server.running
    assert web.server.provisioning.timeout == timeout


async def test_start_announces_url_and_dns(make_web: MakeWeb) -> None:
    web = await make_web()
    assert web.lines == [
        f"Web server: http://127.0.0.1:{web.server.http_port}/",
        f"Captive DNS: udp://127.0.0.1:{web.server.dns_port}",
    ]
    assert web.server.device_port == 80
    assert await web.get("/getversion") == (200, b'{"version":"1.0"}')


async def test_no_captive_portal_means_no_dns(make_web: MakeWeb) -> None:
    web = await make_web(captive_portal=False)
    assert web.lines == [f"Web server: http://127.0.0.1:{web.server.http_port}/"]
    assert web.server.dns_port is None


async def test_reenable_only_updates_the_timeout(make_web: MakeWeb) -> None:
    web = await make_web()
    port = web.server.http_port
    assert await web.at.cmd("AT+WEBSERVER=1,81,40") == b"AT+WEBSERVER=1,81,40\r\n\r\nOK\r\n"
    assert web.server.http_port == port and web.server.device_port == 80
    assert web.server.provisioning.timeout == 40
    assert len(web.lines) == 2  # nothing announced again


async def test_stop_frees_the_port_and_can_start_again(make_web: MakeWeb) -> None:
    web = await make_web()
    url = web.url
    assert await web.at.cmd("AT+WEBSERVER=0") == b"AT+WEBSERVER=0\r\n\r\nOK\r\n"
    assert not web.server.running and web.server.url is None
    with pytest.raises(aiohttp.ClientConnectionError):
        await web.session.get(url + "getversion")
    assert await web.at.cmd("AT+WEBSERVER=0") == b"AT+WEBSERVER=0\r\n\r\nOK\r\n"  # idempotent
    assert (await web.at.cmd("AT+WEBSERVER=1,80,30")).endswith(b"\r\nOK\r\n")
    assert await web.get("/getversion") == (200, b'{"version":"1.0"}')


async def test_busy_port_is_an_error_with_a_log_line(
    make_web: MakeWeb, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    blocker.listen()
    port = blocker.getsockname()[1]
    try:
        web = await make_web(start="", port_map={80: port, 53: 0})
        with caplog.at_level(logging.ERROR, logger="esp_at_sim.web"):
            out = await web.at.cmd("AT+WEBSERVER=1,80,25")
        assert out == b"AT+WEBSERVER=1,80,25\r\n\r\nERROR\r\n"
        assert not web.server.running
        assert any(f"port {port}" in r.getMessage() for r in caplog.records)
        assert web.lines == []
    finally:
        blocker.close()


async def test_default_port_map_moves_privileged_ports() -> None:
    from esp_at_sim.web import WebConfig

    config = WebConfig(port_map={8080: 9000})
    assert config.host_port(80) == 8080
    assert config.host_port(53) == 8053
    assert config.host_port(8080) == 9000
    assert config.host_port(3000) == 3000


async def test_reset_stops_the_server(make_web: MakeWeb) -> None:
    web = await make_web()
    url = web.url
    assert await web.at.cmd("AT+RST") == b"AT+RST\r\n\r\nOK\r\n"
    await web.at.wait_for(b"ready\r\n")
    assert not web.server.running
    with pytest.raises(aiohttp.ClientConnectionError):
        await web.session.get(url + "getversion")
    assert (await web.at.cmd("AT+CWMODE=3")).endswith(b"OK\r\n")
    assert (await web.at.cmd("AT+WEBSERVER=1,80,25")).endswith(b"\r\nOK\r\n")
    assert (await web.stainfo())["message"] == "waiting config"


async def test_module_without_web_service_answers_error() -> None:
    module, at = await start_module()
    try:
        assert await at.cmd("AT+WEBSERVER=1,80,25") == b"AT+WEBSERVER=1,80,25\r\n\r\nERROR\r\n"
    finally:
        await module.close()


async def test_error_code_with_syslog(make_web: MakeWeb) -> None:
    web = await make_web(start="")
    await web.at.cmd("AT+SYSLOG=1")
    out = await web.at.cmd("AT+WEBSERVER=1,80,99")
    assert out == b"AT+WEBSERVER=1,80,99\r\nERR CODE:0x01070002\r\n\r\nERROR\r\n"


async def test_command_is_listed(make_web: MakeWeb) -> None:
    web = await make_web(start="")
    out = await web.at.cmd("AT+CMD?")
    assert b'"AT+WEBSERVER",0,0,1,0' in out
