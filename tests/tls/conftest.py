"""A module joined to HomeNet with a flash (for its PKI) and TLS servers on loopback that
the tests start with certificates made by trustme."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
import trustme

from esp_at_sim.device.module import Module
from esp_at_sim.flash.mfg import blob
from esp_at_sim.radio.netconfig import NetConfig
from esp_at_sim.scenario import default_scenario
from esp_at_sim.testing import AtHarness, assert_no_tasks_left, start_module

API = "203.0.113.10"  # api.example.com, routed to the TLS server's port


@dataclass
class Peer:
    """What the TLS server saw of one accepted connection."""

    alpn: str | None
    cipher: str
    client_cert: dict[str, Any] | None


@dataclass
class TlsServer:
    port: int
    context: ssl.SSLContext
    sni: list[str | None] = field(default_factory=list)
    peers: list[Peer] = field(default_factory=list)
    received: bytearray = field(default_factory=bytearray)


@dataclass
class Pki:
    ca: trustme.CA
    other_ca: trustme.CA
    server: trustme.LeafCert
    client: trustme.LeafCert


@pytest.fixture(scope="module")
def pki() -> Pki:
    ca = trustme.CA()
    return Pki(
        ca=ca,
        other_ca=trustme.CA(),
        server=ca.issue_cert("api.example.com", API),
        client=ca.issue_cert("device-1"),
    )


def server_context(pki: Pki, *, client_auth: bool = False) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    pki.server.configure_cert(context)
    if client_auth:
        pki.ca.configure_trust(context)
        context.verify_mode = ssl.CERT_REQUIRED
    return context


@contextlib.asynccontextmanager
async def tls_server(context: ssl.SSLContext) -> AsyncIterator[TlsServer]:
    """A TLS echo server on loopback that records SNI, ALPN, cipher and client cert."""
    writers: list[asyncio.StreamWriter] = []
    record = TlsServer(0, context)

    def on_sni(obj: ssl.SSLObject, name: str | None, ctx: ssl.SSLContext) -> None:
        record.sni.append(name)

    context.sni_callback = on_sni  # type: ignore[assignment]

    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        obj = writer.get_extra_info("ssl_object")
        record.peers.append(
            Peer(obj.selected_alpn_protocol(), obj.cipher()[0], obj.getpeercert() or None)
        )
        try:
            while data := await reader.read(65536):
                record.received.extend(data)
                writer.write(data)
                await writer.drain()
        except (ConnectionError, ssl.SSLError):
            pass
        writer.close()

    server = await asyncio.start_server(echo, "127.0.0.1", 0, ssl=context)
    record.port = server.sockets[0].getsockname()[1]
    try:
        yield record
    finally:
        for writer in writers:
            writer.close()
        server.close()
        await server.wait_closed()


async def ssl_module(port: int) -> tuple[Module, AtHarness]:
    base = default_scenario()
    net = NetConfig.from_table(
        {"hosts": {"api.example.com": API}, "routes": {f"{API}:443": f"127.0.0.1:{port}"}}
    )
    module, at = await start_module(replace(base, net=net), with_flash=True)
    out = await at.cmd('AT+CWJAP="HomeNet","sunflower42"')
    assert out.endswith(b"WIFI GOT IP\r\n\r\nOK\r\n")
    return module, at


def install(module: Module, **files: list[bytes]) -> None:
    """Write PKI files into the module's mfg_nvs (namespace → files, keys .0, .1, ...)."""
    assert module.firmware is not None
    mfg = module.firmware.mfg()
    assert mfg is not None
    items = [
        blob(namespace, f"{namespace}.{n}", data)
        for namespace, datas in files.items()
        for n, data in enumerate(datas)
    ]
    mfg.replace(items, erase=tuple(files))


@pytest.fixture
async def server(pki: Pki) -> AsyncIterator[TlsServer]:
    async with tls_server(server_context(pki)) as running:
        yield running


@pytest.fixture
async def net(server: TlsServer) -> AsyncIterator[tuple[Module, AtHarness]]:
    module, at = await ssl_module(server.port)
    yield module, at
    await module.close()
    await assert_no_tasks_left()
