"""Passthrough over an "SSL" link: a broken link comes back with the same TLS settings."""

from __future__ import annotations

import asyncio

from esp_at_sim.device.module import Module
from esp_at_sim.testing import AtHarness

from .conftest import TlsServer

START = 'AT+CIPSTART="SSL","api.example.com",443'


async def test_ssl_passthrough_reconnects_over_tls(
    net: tuple[Module, AtHarness], server: TlsServer
) -> None:
    module, at = net
    await at.cmd(START)
    await at.cmd("AT+CIPMODE=1")
    at.port.feed(b"AT+CIPSEND\r\n")
    assert await at.wait_for(b">") == b"AT+CIPSEND\r\n\r\nOK\r\n\r\n>"
    at.port.feed(b"one")
    assert await at.wait_for(b"one") == b"one"  # the echo, raw
    assert module.faults.close_connections() == 1  # the remote resets the link
    for _ in range(5000):
        if len(server.peers) == 2:
            break
        await asyncio.sleep(0.001)
    assert len(server.peers) == 2  # a second TLS handshake
    at.port.feed(b"two")
    assert await at.wait_for(b"two") == b"two"
    await asyncio.sleep(0.05)  # the guard time before +++ (real seconds at scale 0)
    at.port.feed(b"+++")
    for _ in range(5000):
        if not module.passthrough.active:
            break
        await asyncio.sleep(0.001)
    assert not module.passthrough.active
    assert (await at.cmd("AT+CIPSTATE?")).count(b'+CIPSTATE:0,"SSL"') == 1
