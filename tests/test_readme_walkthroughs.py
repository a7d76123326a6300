"""The README's walkthroughs, as a new user walks them: the AT sessions they show are the
module's answers byte for byte, and the files and helpers they use are there."""

from __future__ import annotations

import asyncio
import importlib.util
import re
import shlex
from dataclasses import replace
from pathlib import Path
from types import ModuleType
from typing import cast

from esp_at_sim.scenario import parse_scenario
from esp_at_sim.testing import AtHarness, start_module

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def section(title: str) -> str:
    start = README.index(f"\n{title}\n")
    end = README.find("\n## ", start + 1)
    return README[start : end if end != -1 else len(README)]


def blocks(text: str) -> list[str]:
    return re.findall(r"```[a-z]*\n(.*?)```", text, re.S)


def block_after(text: str, marker: str) -> str:
    return blocks(text[text.index(marker) :])[0]


def flash_files(text: str) -> list[str]:
    return re.findall(r"--flash (\S+)", text)


async def replay(at: AtHarness, session: str) -> bytes:
    """Send each command line of ``session`` (``AT``, ``AT+...``: not ``AT version:...``)
    and return everything the module printed, URCs that follow an answer included."""
    out = b""
    for line in session.splitlines():
        if re.fullmatch(r"AT(\+.*)?", line):
            out += await at.cmd(line)
        elif line.startswith("+TIME_UPDATED"):
            out += await at.wait_for(b"+TIME_UPDATED\r\n")
    return out


def as_sent(session: str) -> bytes:
    return session.replace("\n", "\r\n").encode()


def test_each_walkthrough_starts_a_flash_file_of_its_own() -> None:
    # The web server walkthrough installs v4.2.0.0 and stores mode 3 in its file; the host
    # driver's day shows a factory AT+GMR and a station-only AT+CIFSR, and the NVS
    # example says its first run creates the file: each needs a file nobody used before.
    web = flash_files(section("## Walkthrough: ESP-AT's web server example, on esp-at-sim"))
    day = flash_files(section("## Walkthrough: a host driver's day"))
    nvs = block_after(section("## Flash layout and firmware"), "from a CSV")
    assert web and day and flash_files(nvs)
    assert re.search(r"# creates (\S+), then stops", nvs)
    assert len({web[0], day[0], flash_files(nvs)[0]}) == 3


async def test_the_host_drivers_day_session_is_what_a_fresh_module_answers() -> None:
    text = section("## Walkthrough: a host driver's day")
    session = block_after(text, "talk to it as to the real module")
    module, at = await start_module(with_flash=True)  # a new flash file: factory firmware
    try:
        assert await replay(at, session) == as_sent(session)
    finally:
        await module.close()


def load_example(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "examples" / f"{name}.py")
    assert spec and spec.loader
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    return example


class _Sntp(asyncio.DatagramProtocol):
    def __init__(self, example: ModuleType, unix_time: float) -> None:
        self.example, self.unix_time = example, unix_time

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        answer = self.example.reply(data, self.unix_time)
        if answer is not None:
            self.transport.sendto(answer, addr)


async def test_the_sntp_walkthrough_with_its_example_server() -> None:
    text = section("## Walkthrough: a host driver's day")
    net_toml = re.search(r"cat > net\.toml <<'TOML'\n(.*?)\nTOML\n", text, re.S)
    assert net_toml, "the walkthrough writes no net.toml"
    commands = next(block for block in blocks(text) if "examples/sntp_server.py" in block)
    server_line = next(line for line in commands.splitlines() if "sntp_server.py" in line)
    fixed_time = float(shlex.split(server_line.split("&")[0])[-1])
    route = re.search(r"--route (\S+)=127\.0\.0\.1:(\d+)", commands)
    assert route and route.group(2) in server_line
    session = block_after(text, "enable SNTP (UTC+8) and read the clock")

    example = load_example("sntp_server")
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(
        lambda: _Sntp(example, fixed_time), local_addr=("127.0.0.1", 0)
    )
    port = transport.get_extra_info("sockname")[1]
    scenario = parse_scenario(net_toml.group(1), "net.toml")
    scenario = replace(
        scenario, net=scenario.net.with_routes({route.group(1): f"127.0.0.1:{port}"})
    )
    module, at = await start_module(scenario, with_flash=True)
    try:
        joined = await at.cmd('AT+CWJAP="HomeNet","sunflower42"')
        assert joined.endswith(b"WIFI GOT IP\r\n\r\nOK\r\n")
        assert await replay(at, session) == as_sent(session)
    finally:
        await module.close()
        transport.close()


def test_the_sntp_example_answers_only_requests() -> None:
    example = load_example("sntp_server")
    request = b"\x23" + bytes(39) + b"\x01\x02\x03\x04\x05\x06\x07\x08"
    answer = example.reply(request, 1634636876.25)
    assert len(answer) == 48
    assert answer[0] == 0x24 and answer[1] == 2  # version 4, server mode; stratum 2
    assert answer[24:32] == request[40:48]  # the origin is the request's transmit time
    assert int.from_bytes(answer[40:44], "big") == 1634636876 + 2_208_988_800
    assert int.from_bytes(answer[44:48], "big") == 2**30  # a quarter second
    assert example.reply(b"\x24" + bytes(47), 0) is None  # a server's packet: no answer
    assert example.reply(b"\x23", 0) is None  # too short


async def test_the_moving_data_session_is_what_the_module_prints() -> None:
    """The HTTP fetch of "Moving data", against a server that sends the README's answer
    in the README's two pieces: the module prints the README's bytes (CR LF shown as a
    line break; the page's body ends in a bare LF), +IPD lengths included."""
    text = section("## Walkthrough: a host driver's day")
    net_toml = re.search(r"cat > net\.toml <<'TOML'\n(.*?)\nTOML\n", text, re.S)
    assert net_toml, "the walkthrough writes no net.toml"
    session = block_after(text, "reads the answer in")
    request = b"GET /index.html HTTP/1.0\r\nHost: api.example.com\r\n\r\n"
    assert f"AT+CIPSEND={len(request)}" in session
    # The answer's pieces as the README shows them: a head (CR LF lines), then the body.
    pieces = re.findall(r"\+IPD,\d+:(.*?)(?=\n\+IPD,|CLOSED\n)", session, re.S)
    assert len(pieces) == 2, pieces
    head = pieces[0].replace("\n", "\r\n").encode()
    body = pieces[1].encode()
    assert head.startswith(b"HTTP/1.0 200 OK\r\n") and head.endswith(b"\r\n\r\n")

    requests: list[bytes] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        requests.append(await reader.readexactly(len(request)))
        writer.write(head)
        await writer.drain()
        for _ in range(2000):  # once the module has reported the head, the body
            if head in at.received:
                break
            await asyncio.sleep(0.005)
        writer.write(body)
        await writer.drain()
        writer.close()
        await writer.wait_closed()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    scenario = parse_scenario(net_toml.group(1), "net.toml")
    route = {"203.0.113.10:80": f"127.0.0.1:{port}"}
    scenario = replace(scenario, net=scenario.net.with_routes(route))
    module, at = await start_module(scenario, with_flash=True)
    try:
        joined = await at.cmd('AT+CWJAP="HomeNet","sunflower42"')
        assert joined.endswith(b"WIFI GOT IP\r\n\r\nOK\r\n")
        out = await at.cmd('AT+CIPSTART="TCP","api.example.com",80')
        at.port.feed(b"AT+CIPSEND=51\r\n")
        out += await at.wait_for(b">")
        at.port.feed(request)
        out += await at.wait_for(b"SEND OK\r\n")
        out += await at.wait_for(b"CLOSED\r\n")
        assert requests == [request]
        assert out.replace(b"\r\n", b"\n").decode() == session
    finally:
        await module.close()
        server.close()
        await server.wait_closed()
