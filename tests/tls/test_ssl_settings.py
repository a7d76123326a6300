"""The AT+CIPSSLC* settings commands: forms, both mux modes, bad input."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from esp_at_sim.testing import AtHarness, start_module


@pytest.fixture
async def at() -> AsyncIterator[AtHarness]:
    module, harness = await start_module()
    yield harness
    await module.close()


async def ok(at: AtHarness, line: str) -> None:
    assert await at.cmd(line) == f"{line}\r\n\r\nOK\r\n".encode()


async def test_psk_in_string_and_hex_forms(at: AtHarness) -> None:
    assert await at.cmd("AT+CIPSSLCPSK?") == b"AT+CIPSSLCPSK?\r\n\r\nOK\r\n"
    await ok(at, 'AT+CIPSSLCPSK="psk","myhint"')
    assert await at.cmd("AT+CIPSSLCPSK?") == (
        b'AT+CIPSSLCPSK?\r\n+CIPSSLCPSK:0,"psk","myhint"\r\n\r\nOK\r\n'
    )
    assert await at.cmd("AT+CIPSSLCPSKHEX?") == (
        b'AT+CIPSSLCPSKHEX?\r\n+CIPSSLCPSKHEX:0,"70736b","myhint"\r\n\r\nOK\r\n'
    )
    await ok(at, 'AT+CIPSSLCPSKHEX="00ff41","h"')
    assert await at.cmd("AT+CIPSSLCPSKHEX?") == (
        b'AT+CIPSSLCPSKHEX?\r\n+CIPSSLCPSKHEX:0,"00ff41","h"\r\n\r\nOK\r\n'
    )


async def test_mux_mode_sets_one_link_or_all(at: AtHarness) -> None:
    await ok(at, "AT+CIPMUX=1")
    await ok(at, 'AT+CIPSSLCPSK=3,"k3","h3"')
    await ok(at, 'AT+CIPSSLCCN=5,"all.example.com"')
    await ok(at, 'AT+CIPSSLCCN=1,"one.example.com"')
    await ok(at, 'AT+CIPSSLCALPN=4,1,"mqtt"')
    assert await at.cmd("AT+CIPSSLCPSK?") == (
        b'AT+CIPSSLCPSK?\r\n+CIPSSLCPSK:3,"k3","h3"\r\n\r\nOK\r\n'
    )
    assert await at.cmd("AT+CIPSSLCCN?") == (
        b"AT+CIPSSLCCN?\r\n"
        b'+CIPSSLCCN:0,"all.example.com"\r\n'
        b'+CIPSSLCCN:1,"one.example.com"\r\n'
        b'+CIPSSLCCN:2,"all.example.com"\r\n'
        b'+CIPSSLCCN:3,"all.example.com"\r\n'
        b'+CIPSSLCCN:4,"all.example.com"\r\n\r\nOK\r\n'
    )
    assert await at.cmd("AT+CIPSSLCALPN?") == (
        b'AT+CIPSSLCALPN?\r\n+CIPSSLCALPN:4,"mqtt"\r\n\r\nOK\r\n'
    )
    await ok(at, "AT+CIPSSLCCIPHER=0,2,0xC023,0xC0AD")  # the manual's example


@pytest.mark.parametrize(
    ("line", "code"),
    [
        ('AT+CIPSSLCSNI=""', "0x01070000"),  # empty
        ("AT+CIPSSLCSNI=1", "0x01050000"),  # a number
        ('AT+CIPSSLCSNI="a","b"', "0x01060102"),  # two names
        ('AT+CIPSSLCCN=""', "0x01070000"),
        ('AT+CIPSSLCALPN=6,"a","b","c","d","e","f"', "0x01070000"),  # at most 5
        ('AT+CIPSSLCALPN=2,"h2"', "0x01060302"),  # count and names disagree
        ('AT+CIPSSLCALPN=1,""', "0x01070001"),
        ('AT+CIPSSLCPSK="psk"', "0x01060201"),  # no hint
        ('AT+CIPSSLCPSK="","h"', "0x01070000"),  # empty PSK
        ('AT+CIPSSLCPSK="' + "k" * 33 + '","h"', "0x01070000"),  # over 32 bytes
        ('AT+CIPSSLCPSK="k","' + "h" * 33 + '"', "0x01040001"),  # hint over 32 bytes
        ('AT+CIPSSLCPSKHEX="7g","h"', "0x01070000"),  # not hex
        ('AT+CIPSSLCPSKHEX="707","h"', "0x01070000"),  # odd length
        ("AT+CIPSSLCCIPHER=2,0xC023", "0x01060302"),
        ("AT+CIPSSLCCIPHER=1,0x10000", "0x01070001"),  # not a 16-bit suite
        ('AT+CIPSSLCCIPHER=1,"0xC023"', "0x01050001"),
    ],
)
async def test_bad_input(at: AtHarness, line: str, code: str) -> None:
    await ok(at, "AT+SYSLOG=1")
    assert await at.cmd(line) == f"{line}\r\nERR CODE:{code}\r\n\r\nERROR\r\n".encode()
    for query in ("AT+CIPSSLCSNI?", "AT+CIPSSLCCN?", "AT+CIPSSLCALPN?", "AT+CIPSSLCPSK?"):
        assert await at.cmd(query) == f"{query}\r\n\r\nOK\r\n".encode()


async def test_bad_link_ids_in_mux_mode(at: AtHarness) -> None:
    await ok(at, "AT+CIPMUX=1")
    await ok(at, "AT+SYSLOG=1")
    assert await at.cmd('AT+CIPSSLCSNI=6,"x"') == (
        b'AT+CIPSSLCSNI=6,"x"\r\nERR CODE:0x01070000\r\n\r\nERROR\r\n'
    )
    assert await at.cmd('AT+CIPSSLCSNI="x"') == (
        b'AT+CIPSSLCSNI="x"\r\nERR CODE:0x01050000\r\n\r\nERROR\r\n'
    )
