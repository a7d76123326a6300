"""AT+CIPSENDL / AT+CIPSENDLCFG (reports, packing, +++) and AT+CIPCONNPERSIST."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

import pytest

from esp_at_sim.device.module import Module
from esp_at_sim.testing import AtHarness, assert_no_tasks_left

from .conftest import Servers
from .test_passthrough import pause, pt_module, received, tx_sizes


@pytest.fixture
async def pt(servers: Servers) -> AsyncIterator[tuple[Module, AtHarness]]:
    module, at = await pt_module(servers)
    yield module, at
    await module.close()
    await assert_no_tasks_left()


async def test_long_send_with_reports(pt: tuple[Module, AtHarness], servers: Servers) -> None:
    module, at = pt
    assert await at.cmd("AT+CIPSENDLCFG?") == (
        b"AT+CIPSENDLCFG?\r\n+CIPSENDLCFG:1024,2920\r\n\r\nOK\r\n"
    )
    assert await at.cmd("AT+CIPSENDLCFG=1000,1500") == b"AT+CIPSENDLCFG=1000,1500\r\n\r\nOK\r\n"
    await at.cmd('AT+CIPSTART="TCP","api.example.com",80')
    sizes = tx_sizes(module)
    at.port.feed(b"AT+CIPSENDL=20000\r\n")
    assert await at.wait_for(b">") == b"AT+CIPSENDL=20000\r\n\r\nOK\r\n\r\n>"
    payload = bytes(i % 251 for i in range(20000))
    at.port.feed(payload[:9000])
    await pause(module)
    at.port.feed(payload[9000:])
    out = await at.wait_for(b"SEND OK\r\n", b"SEND FAIL\r\n")
    reports = re.findall(rb"\r\n\+CIPSENDL:(\d+),(\d+)\r\n", out)
    sent = [int(s) for s, _ in reports]
    assert sent == [*range(1000, 20001, 1000)]
    assert all(int(r) <= 20000 for _, r in reports)
    assert int(reports[-1][1]) == 20000
    assert out.endswith(b"\r\n+CIPSENDL:20000,20000\r\n\r\nSEND OK\r\n")
    assert all(size <= 1500 for size in sizes) and sum(sizes) == 20000
    assert await received(servers, 20000) == payload
    assert b"+IPD" not in out  # the echo waits until the answer is complete
    assert await at.wait_for(b"+IPD,") == b"\r\n+IPD,"


async def test_final_report_is_the_total(pt: tuple[Module, AtHarness]) -> None:
    _module, at = pt
    await at.cmd("AT+CIPMUX=1")
    await at.cmd('AT+CIPSTART=2,"TCP","api.example.com",80')
    at.port.feed(b"AT+CIPSENDL=2,1500\r\n")
    await at.wait_for(b">")
    at.port.feed(bytes(1500))
    out = await at.wait_for(b"SEND OK\r\n")
    assert out == b"\r\n+CIPSENDL:1024,1500\r\n\r\n+CIPSENDL:1500,1500\r\n\r\nSEND OK\r\n"


async def test_plus_cancels(pt: tuple[Module, AtHarness], servers: Servers) -> None:
    module, at = pt
    await at.cmd('AT+CIPSTART="TCP","api.example.com",80')
    at.port.feed(b"AT+CIPSENDL=100000\r\n")
    await at.wait_for(b">")
    at.port.feed(b"x" * 3000)
    await pause(module)
    at.port.feed(b"+++")
    out = await at.wait_for(b"SEND CANCELLED\r\n")
    assert out.endswith(b"\r\nSEND CANCELLED\r\n")
    assert await received(servers, 3000) == b"x" * 3000
    assert await at.cmd("AT+CIPSTATE?") != b""
    assert await at.cmd("AT") == b"AT\r\n\r\nOK\r\n"


async def test_a_closed_link_fails_the_send(pt: tuple[Module, AtHarness], servers: Servers) -> None:
    module, at = pt
    await at.cmd('AT+CIPSTART="TCP","api.example.com",80')
    at.port.feed(b"AT+CIPSENDL=10\r\n")
    await at.wait_for(b">")
    at.port.feed(b"12345")
    await received(servers, 5)
    servers.writers[0].close()
    for _ in range(5000):
        if module.links.get(0) is None:
            break
        await asyncio.sleep(0.001)
    at.port.feed(b"67890")
    out = await at.wait_for(b"SEND FAIL\r\n")
    assert out.endswith(b"\r\n+CIPSENDL:5,10\r\n\r\nSEND FAIL\r\n")
    assert b"CLOSED" not in out  # it follows the answer
    assert await at.wait_for(b"CLOSED\r\n") == b"\r\n+IPD,5:12345CLOSED\r\n"  # the echo first


async def test_sendl_bad_input(pt: tuple[Module, AtHarness]) -> None:
    _, at = pt
    assert (await at.cmd("AT+CIPSENDL=10")).endswith(b"link is not valid\r\n\r\nERROR\r\n")
    await at.cmd('AT+CIPSTART="TCP","api.example.com",80')
    for bad in (
        "AT+CIPSENDL=0",
        "AT+CIPSENDL=2147483648",
        'AT+CIPSENDL=4,"1.2.3.4",80',
        "AT+CIPSENDLCFG=99",
        "AT+CIPSENDLCFG=1048577",
        "AT+CIPSENDLCFG=100,2921",
        "AT+CIPSENDLCFG=100,99",
        "AT+CIPSENDLCFG",
        "AT+CIPSENDLCFG=100,100,1",
    ):
        assert (await at.cmd(bad)).endswith(b"\r\nERROR\r\n"), bad
    assert (await at.cmd("AT+CIPSENDLCFG?")).endswith(b"+CIPSENDLCFG:1024,2920\r\n\r\nOK\r\n")
    assert await at.cmd("AT+CIPSENDLCFG=2048") == b"AT+CIPSENDLCFG=2048\r\n\r\nOK\r\n"
    assert (await at.cmd("AT+CIPSENDLCFG?")).endswith(b"+CIPSENDLCFG:2048,2920\r\n\r\nOK\r\n")
    await at.cmd("AT+CIPMODE=1")
    assert (await at.cmd("AT+CIPSENDL=10")).endswith(b"\r\nERROR\r\n")


async def test_connection_persistence(pt: tuple[Module, AtHarness]) -> None:
    _module, at = pt
    assert await at.cmd("AT+CIPCONNPERSIST?") == (
        b"AT+CIPCONNPERSIST?\r\n+CIPCONNPERSIST:0\r\n\r\nOK\r\n"
    )
    await at.cmd("AT+CIPMUX=1")
    assert await at.cmd("AT+CIPCONNPERSIST=1,1") == b"AT+CIPCONNPERSIST=1,1\r\n\r\nOK\r\n"
    assert await at.cmd("AT+CIPCONNPERSIST?") == (
        b"AT+CIPCONNPERSIST?\r\n+CIPCONNPERSIST:0,1,0,0,0\r\n\r\nOK\r\n"
    )
    for bad in ("AT+CIPCONNPERSIST=1", "AT+CIPCONNPERSIST=5,1", "AT+CIPCONNPERSIST=1,2"):
        assert (await at.cmd(bad)).endswith(b"\r\nERROR\r\n"), bad
    await at.cmd('AT+CIPSTART=0,"TCP","api.example.com",80')
    await at.cmd('AT+CIPSTART=1,"TCP","api.example.com",80')
    out = await at.cmd("AT+CWQAP")
    out += await at.wait_for(b"0,CLOSED\r\n")
    assert b"1,CLOSED" not in out + await at.settle()
    state = await at.cmd("AT+CIPSTATE?")
    assert b"+CIPSTATE:1," in state and b"+CIPSTATE:0," not in state
