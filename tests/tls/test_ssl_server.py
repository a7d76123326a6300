"""AT+CIPSERVER "SSL": the module serves TLS with server_cert/server_key from mfg_nvs and,
with <CA enable> 1, verifies its clients against server_ca."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator

import pytest

from esp_at_sim.device.module import Module
from esp_at_sim.scenario import default_scenario
from esp_at_sim.testing import AtHarness, assert_no_tasks_left, start_module

from .conftest import Pki, install

IO_TIMEOUT = 10.0  # real seconds a loopback read may take before the test fails


@pytest.fixture
async def served(pki: Pki) -> AsyncIterator[tuple[Module, AtHarness, list[str]]]:
    module, at = await start_module(default_scenario(), with_flash=True)
    lines: list[str] = []
    module.servers.expose("127.0.0.1", lambda port: 0, lines.append)
    assert (await at.cmd('AT+CWJAP="HomeNet","sunflower42"')).endswith(b"OK\r\n")
    await at.cmd("AT+CIPMUX=1")
    install(
        module,
        server_cert=[pki.server.cert_chain_pems[0].bytes()],
        server_key=[pki.server.private_key_pem.bytes()],
        server_ca=[pki.ca.cert_pem.bytes()],
    )
    yield module, at, lines
    await module.close()
    await assert_no_tasks_left()


def client_context(pki: Pki, *, with_cert: bool) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    pki.ca.configure_trust(context)
    if with_cert:
        pki.client.configure_cert(context)
    return context


async def open_tls(
    module: Module, context: ssl.SSLContext
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    address = module.servers.address
    assert address is not None
    return await asyncio.wait_for(
        asyncio.open_connection(*address, ssl=context, server_hostname="api.example.com"),
        IO_TIMEOUT,
    )


async def close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(ConnectionError, ssl.SSLError):
        await writer.wait_closed()


async def test_an_ssl_server_with_the_module_certificate(
    served: tuple[Module, AtHarness, list[str]], pki: Pki
) -> None:
    module, at, lines = served
    line = 'AT+CIPSERVER=1,443,"SSL"'
    assert await at.cmd(line) == f"{line}\r\n\r\nOK\r\n".encode()
    assert lines[0].startswith("Server 443: ssl://127.0.0.1:")
    assert await at.cmd("AT+CIPSERVER?") == (
        b'AT+CIPSERVER?\r\n+CIPSERVER:1,443,"SSL",0,0\r\n\r\nOK\r\n'
    )
    reader, writer = await open_tls(module, client_context(pki, with_cert=False))
    try:
        assert writer.get_extra_info("ssl_object").version() == "TLSv1.2"
        assert await at.wait_for(b"0,CONNECT\r\n") == b"0,CONNECT\r\n"
        writer.write(b"hello")
        await writer.drain()
        assert await at.wait_for(b"+IPD,0,5:hello") == b"\r\n+IPD,0,5:hello"
        at.port.feed(b"AT+CIPSEND=0,3\r\n")
        await at.wait_for(b">")
        at.port.feed(b"hey")
        await at.wait_for(b"SEND OK\r\n")
        assert await asyncio.wait_for(reader.readexactly(3), IO_TIMEOUT) == b"hey"
    finally:
        await close(writer)
    assert await at.wait_for(b"0,CLOSED\r\n") == b"0,CLOSED\r\n"


async def test_client_certificates_verified_with_ca_enable(
    served: tuple[Module, AtHarness, list[str]], pki: Pki
) -> None:
    module, at, _ = served
    line = 'AT+CIPSERVER=1,443,"SSL",1'
    assert await at.cmd(line) == f"{line}\r\n\r\nOK\r\n".encode()
    # a client without a certificate does not get through
    with pytest.raises((ssl.SSLError, ConnectionError, asyncio.IncompleteReadError)):
        reader, writer = await open_tls(module, client_context(pki, with_cert=False))
        try:
            await asyncio.wait_for(reader.read(1), IO_TIMEOUT)  # TLS 1.2: fails in the handshake
            raise ConnectionError("closed")
        finally:
            await close(writer)
    assert b"CONNECT" not in await at.settle()
    reader, writer = await open_tls(module, client_context(pki, with_cert=True))
    try:
        assert await at.wait_for(b"0,CONNECT\r\n") == b"0,CONNECT\r\n"
    finally:
        await close(writer)
    await at.wait_for(b"0,CLOSED\r\n")


async def test_without_a_server_certificate(pki: Pki) -> None:
    module, at = await start_module(default_scenario(), with_flash=True)
    try:
        await at.cmd('AT+CWJAP="HomeNet","sunflower42"')
        await at.cmd("AT+CIPMUX=1")
        install(module, server_cert=[pki.server.cert_chain_pems[0].bytes()])
        assert await at.cmd('AT+CIPSERVER=1,443,"SSL"') == (
            b'AT+CIPSERVER=1,443,"SSL"\r\n\r\nERROR\r\n'
        )
        install(module, server_key=[pki.server.private_key_pem.bytes()])
        # CA enable needs server_ca too
        assert await at.cmd('AT+CIPSERVER=1,443,"SSL",1') == (
            b'AT+CIPSERVER=1,443,"SSL",1\r\n\r\nERROR\r\n'
        )
        assert await at.cmd("AT+CIPSERVER?") == b"AT+CIPSERVER?\r\n+CIPSERVER:0\r\n\r\nOK\r\n"
    finally:
        await module.close()
