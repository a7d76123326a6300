"""AT+CIPSTART "SSL" through the simulated network to loopback TLS servers, with the
module's PKI from mfg_nvs and the AT+CIPSSLC* settings."""

from __future__ import annotations

import re
import ssl
import sys

import pytest

from esp_at_sim.device.module import Module
from esp_at_sim.testing import AtHarness

from .conftest import API, Pki, TlsServer, install, server_context, ssl_module, tls_server

START = 'AT+CIPSTART="SSL","api.example.com",443'


async def send(at: AtHarness, command: str, data: bytes) -> bytes:
    at.port.feed(command.encode() + b"\r\n")
    prompt = await at.wait_for(b">", b"ERROR\r\n")
    if not prompt.endswith(b">"):
        return prompt
    at.port.feed(data)
    return prompt + await at.wait_for(b"SEND OK\r\n", b"SEND FAIL\r\n")


async def refused(at: AtHarness, line: str, message: str = "") -> None:
    """The connect fails as on the module: ERROR (after the firmware's message for a
    missing PKI file), no link, the module still answers."""
    said = f"{message}\r\n" if message else ""
    assert await at.cmd(line) == f"{line}\r\n{said}\r\nERROR\r\n".encode()
    assert await at.cmd("AT+CIPSTATE?") == b"AT+CIPSTATE?\r\n\r\nOK\r\n"
    assert await at.cmd("AT") == b"AT\r\n\r\nOK\r\n"


async def test_no_authentication_round_trip(
    net: tuple[Module, AtHarness], server: TlsServer
) -> None:
    _, at = net
    assert await at.cmd(START) == f"{START}\r\nCONNECT\r\n\r\nOK\r\n".encode()
    state = await at.cmd("AT+CIPSTATE?")
    assert re.fullmatch(
        rb'AT\+CIPSTATE\?\r\n\+CIPSTATE:0,"SSL","203\.0\.113\.10",443,\d+,0\r\n\r\nOK\r\n', state
    )
    assert (await send(at, "AT+CIPSEND=5", b"hello")).endswith(b"Recv 5 bytes\r\n\r\nSEND OK\r\n")
    assert await at.wait_for(b"+IPD,5:hello") == b"\r\n+IPD,5:hello"
    assert await at.cmd("AT+CIPCLOSE") == b"AT+CIPCLOSE\r\nCLOSED\r\n\r\nOK\r\n"
    assert bytes(server.received) == b"hello"
    assert server.sni == [None]  # the host of AT+CIPSTART is not sent as SNI
    assert server.peers[0].client_cert is None
    assert server.peers[0].cipher.startswith("ECDHE-")  # TLS 1.2, not a TLS 1.3 suite


async def test_server_verified_against_the_ca_in_mfg_nvs(
    net: tuple[Module, AtHarness], server: TlsServer, pki: Pki
) -> None:
    module, at = net
    assert await at.cmd("AT+CIPSSLCCONF=2,0,1") == b"AT+CIPSSLCCONF=2,0,1\r\n\r\nOK\r\n"
    install(module, client_ca=[pki.other_ca.cert_pem.bytes(), pki.ca.cert_pem.bytes()])
    assert (await at.cmd(START)).endswith(b"CONNECT\r\n\r\nOK\r\n")
    assert await at.cmd("AT+CIPCLOSE") == b"AT+CIPCLOSE\r\nCLOSED\r\n\r\nOK\r\n"
    # CA 0 did not sign the server's certificate: the handshake fails
    await at.cmd("AT+CIPSSLCCONF=2,0,0")
    await at.cmd("AT+SYSLOG=1")
    assert await at.cmd(START) == f"{START}\r\nERR CODE:0x010a0000\r\n\r\nERROR\r\n".encode()
    await at.cmd("AT+SYSLOG=0")
    await refused(at, START)
    # and a CA that is not there at all
    await at.cmd("AT+CIPSSLCCONF=2,0,4")
    await refused(at, START, "NO CA FOUND")


async def test_a_der_ca_works_as_well(
    net: tuple[Module, AtHarness], server: TlsServer, pki: Pki
) -> None:
    module, at = net
    await at.cmd("AT+CIPSSLCCONF=2")
    install(module, client_ca=[ssl.PEM_cert_to_DER_cert(pki.ca.cert_pem.bytes().decode())])
    assert (await at.cmd(START)).endswith(b"CONNECT\r\n\r\nOK\r\n")


async def test_common_name_and_sni(
    net: tuple[Module, AtHarness], server: TlsServer, pki: Pki
) -> None:
    module, at = net
    install(module, client_ca=[pki.ca.cert_pem.bytes()])
    await at.cmd("AT+CIPSSLCCONF=2")
    assert (
        await at.cmd('AT+CIPSSLCCN="other.example.com"')
        == b'AT+CIPSSLCCN="other.example.com"\r\n\r\nOK\r\n'
    )
    await refused(at, START)  # the certificate is for api.example.com
    await at.cmd('AT+CIPSSLCCN="api.example.com"')
    assert await at.cmd("AT+CIPSSLCCN?") == (
        b'AT+CIPSSLCCN?\r\n+CIPSSLCCN:0,"api.example.com"\r\n\r\nOK\r\n'
    )
    assert (await at.cmd(START)).endswith(b"CONNECT\r\n\r\nOK\r\n")
    await at.cmd("AT+CIPCLOSE")
    # the SNI is sent as set, and checked when no common name is set
    assert await at.cmd('AT+CIPSSLCSNI="api.example.com"') == (
        b'AT+CIPSSLCSNI="api.example.com"\r\n\r\nOK\r\n'
    )
    assert await at.cmd("AT+CIPSSLCSNI?") == (
        b'AT+CIPSSLCSNI?\r\n+CIPSSLCSNI:0,"api.example.com"\r\n\r\nOK\r\n'
    )
    assert (await at.cmd(START)).endswith(b"CONNECT\r\n\r\nOK\r\n")
    assert server.sni[-1] == "api.example.com"
    await at.cmd("AT+CIPCLOSE")
    # the settings are gone after a reset
    await at.cmd("AT+RST")
    await at.wait_for(b"ready\r\n")
    assert await at.cmd("AT+CIPSSLCSNI?") == b"AT+CIPSSLCSNI?\r\n\r\nOK\r\n"
    assert await at.cmd("AT+CIPSSLCCN?") == b"AT+CIPSSLCCN?\r\n\r\nOK\r\n"


async def test_a_wildcard_and_an_ip_name(pki: Pki) -> None:
    leaf = pki.ca.issue_cert("*.example.com")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    leaf.configure_cert(context)
    async with tls_server(context) as server:
        module, at = await ssl_module(server.port)
        try:
            install(module, client_ca=[pki.ca.cert_pem.bytes()])
            await at.cmd("AT+CIPSSLCCONF=2")
            await at.cmd('AT+CIPSSLCCN="api.example.com"')
            assert (await at.cmd(START)).endswith(b"CONNECT\r\n\r\nOK\r\n")
            await at.cmd("AT+CIPCLOSE")
            await at.cmd('AT+CIPSSLCCN="a.b.example.com"')  # one label only
            await refused(at, START)
            await at.cmd(f'AT+CIPSSLCCN="{API}"')
            await refused(at, START)
        finally:
            await module.close()


async def test_mutual_authentication(pki: Pki) -> None:
    async with tls_server(server_context(pki, client_auth=True)) as server:
        module, at = await ssl_module(server.port)
        try:
            await refused(at, START)  # the server wants a certificate
            await at.cmd("AT+CIPSSLCCONF=3,1,0")
            await refused(at, START, "NO CA FOUND")
            install(module, client_ca=[pki.ca.cert_pem.bytes()])
            await refused(at, START, "NO CERT FOUND")  # pki 1 is not in mfg_nvs
            install(module, client_cert=[b"a", b"b"])
            await refused(at, START, "NO PRVT_KEY FOUND")
            install(
                module,
                client_ca=[pki.ca.cert_pem.bytes()],
                client_cert=[b"unused", pki.client.cert_chain_pems[0].bytes()],
                client_key=[b"unused", pki.client.private_key_pem.bytes()],
            )
            assert (await at.cmd(START)).endswith(b"CONNECT\r\n\r\nOK\r\n")
            cert = server.peers[-1].client_cert
            assert cert is not None
            assert ("DNS", "device-1") in cert["subjectAltName"]
            await at.cmd("AT+CIPCLOSE")
            await at.cmd("AT+CIPSSLCCONF=1,0")  # pki 0 holds no usable certificate
            await refused(at, START)
        finally:
            await module.close()


async def test_alpn_offered(net: tuple[Module, AtHarness], server: TlsServer) -> None:
    _, at = net
    server.context.set_alpn_protocols(["mqtt", "http/1.1"])
    line = 'AT+CIPSSLCALPN=2,"h2","http/1.1"'
    assert await at.cmd(line) == f"{line}\r\n\r\nOK\r\n".encode()
    assert await at.cmd("AT+CIPSSLCALPN?") == (
        b'AT+CIPSSLCALPN?\r\n+CIPSSLCALPN:0,"h2","http/1.1"\r\n\r\nOK\r\n'
    )
    assert (await at.cmd(START)).endswith(b"CONNECT\r\n\r\nOK\r\n")
    assert server.peers[-1].alpn == "http/1.1"
    await at.cmd("AT+CIPCLOSE")
    assert await at.cmd("AT+CIPSSLCALPN=0") == b"AT+CIPSSLCALPN=0\r\n\r\nOK\r\n"
    assert await at.cmd("AT+CIPSSLCALPN?") == b"AT+CIPSSLCALPN?\r\n\r\nOK\r\n"
    assert (await at.cmd(START)).endswith(b"CONNECT\r\n\r\nOK\r\n")
    assert server.peers[-1].alpn is None


async def test_cipher_suites(net: tuple[Module, AtHarness], server: TlsServer) -> None:
    _, at = net
    listing = await at.cmd("AT+CIPSSLCCIPHER?")
    assert b"+CIPSSLCCIPHER:0,0xC02C\r\n" in listing  # ECDHE-ECDSA-AES256-GCM-SHA384
    assert b"+CIPSSLCCIPHER:" in listing and b"0x1301" not in listing  # no TLS 1.3
    assert await at.cmd("AT+CIPSSLCCIPHER=1,0xC02B") == b"AT+CIPSSLCCIPHER=1,0xC02B\r\n\r\nOK\r\n"
    assert (await at.cmd(START)).endswith(b"CONNECT\r\n\r\nOK\r\n")
    assert server.peers[-1].cipher == "ECDHE-ECDSA-AES128-GCM-SHA256"
    await at.cmd("AT+CIPCLOSE")
    await at.cmd("AT+CIPSSLCCIPHER=1,0xC02F")  # RSA only: the server's key is ECDSA
    await refused(at, START)
    await at.cmd("AT+CIPSSLCCIPHER=2,0x1234,0x0001")  # nothing this client knows
    await refused(at, START)
    await at.cmd("AT+CIPSSLCCIPHER=0")  # back to every suite
    assert (await at.cmd(START)).endswith(b"CONNECT\r\n\r\nOK\r\n")


async def test_a_tls13_only_server_is_refused(pki: Pki) -> None:
    context = server_context(pki)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    async with tls_server(context) as server:
        module, at = await ssl_module(server.port)
        try:
            await refused(at, START)  # ESP-AT's mbedTLS speaks TLS 1.2
        finally:
            await module.close()


@pytest.mark.skipif(sys.version_info >= (3, 13), reason="this Python has TLS-PSK")
async def test_psk_without_python_support_fails_the_connect(
    net: tuple[Module, AtHarness],
) -> None:
    _, at = net
    assert await at.cmd('AT+CIPSSLCPSK="secret","device"') == (
        b'AT+CIPSSLCPSK="secret","device"\r\n\r\nOK\r\n'
    )
    await refused(at, START)


@pytest.mark.skipif(sys.version_info < (3, 13), reason="TLS-PSK needs Python 3.13")
async def test_psk_handshake() -> None:  # pragma: no cover - Python 3.13+
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers("PSK")
    identities: list[str | None] = []

    def key_for(identity: str | None) -> bytes:
        identities.append(identity)
        return b"secret"

    context.set_psk_server_callback(key_for, "hint")  # type: ignore[attr-defined]
    async with tls_server(context) as server:
        module, at = await ssl_module(server.port)
        try:
            assert (await at.cmd('AT+CIPSSLCPSK="secret","device"')).endswith(b"OK\r\n")
            assert (await at.cmd(START)).endswith(b"CONNECT\r\n\r\nOK\r\n")
            assert identities == ["device"]
            assert "PSK" in server.peers[-1].cipher
            await at.cmd("AT+CIPCLOSE")
            await at.cmd('AT+CIPSSLCPSKHEX="00","device"')  # another key: refused
            await refused(at, START)
        finally:
            await module.close()


async def test_multiple_connections(
    net: tuple[Module, AtHarness], server: TlsServer, pki: Pki
) -> None:
    module, at = net
    install(module, client_ca=[pki.ca.cert_pem.bytes()])
    await at.cmd("AT+CIPMUX=1")
    await at.cmd("AT+CIPSSLCCONF=2,2")  # link 2 verifies, the others do not
    await at.cmd('AT+CIPSSLCSNI=5,"api.example.com"')  # every link
    await at.cmd('AT+CIPSSLCCN=2,"wrong.example.com"')
    assert (
        await at.cmd("AT+CIPSSLCSNI?")
        == b"AT+CIPSSLCSNI?\r\n"
        + b"".join(f'+CIPSSLCSNI:{i},"api.example.com"\r\n'.encode() for i in range(5))
        + b"\r\nOK\r\n"
    )
    line = 'AT+CIPSTART=1,"SSL","api.example.com",443'
    assert await at.cmd(line) == f"{line}\r\n1,CONNECT\r\n\r\nOK\r\n".encode()
    await refused_mux(at, 'AT+CIPSTART=2,"SSL","api.example.com",443')
    await at.cmd('AT+CIPSSLCCN=2,"api.example.com"')
    line = 'AT+CIPSTART=2,"SSL","api.example.com",443'
    assert await at.cmd(line) == f"{line}\r\n2,CONNECT\r\n\r\nOK\r\n".encode()
    assert (await send(at, "AT+CIPSEND=2,3", b"abc")).endswith(b"SEND OK\r\n")
    assert await at.wait_for(b"+IPD,2,3:abc") == b"\r\n+IPD,2,3:abc"
    assert await at.cmd("AT+CIPCLOSE=5") == b"AT+CIPCLOSE=5\r\n1,CLOSED\r\n2,CLOSED\r\n\r\nOK\r\n"


async def refused_mux(at: AtHarness, line: str) -> None:
    assert await at.cmd(line) == f"{line}\r\n\r\nERROR\r\n".encode()


async def test_passive_receive_over_ssl(net: tuple[Module, AtHarness]) -> None:
    _, at = net
    await at.cmd("AT+CIPRECVMODE=1")
    assert (await at.cmd(START)).endswith(b"CONNECT\r\n\r\nOK\r\n")
    assert (await send(at, "AT+CIPSEND=4", b"ping")).endswith(b"SEND OK\r\n")
    assert await at.wait_for(b"+IPD,4\r\n") == b"+IPD,4\r\n"
    assert (
        await at.cmd("AT+CIPRECVDATA=10") == b"AT+CIPRECVDATA=10\r\n+CIPRECVDATA:4,ping\r\nOK\r\n"
    )
