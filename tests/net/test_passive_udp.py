"""UDP links and passive receive (AT+CIPRECVTYPE/AT+CIPRECVMODE, AT+CIPRECVDATA,
AT+CIPRECVLEN), byte for byte."""

from __future__ import annotations

import asyncio

from esp_at_sim.testing import AtHarness

from .conftest import UDP, Servers
from .test_tcp import send


async def test_udp_round_trip_single_and_mux(net: AtHarness) -> None:
    at = net
    assert await at.cmd('AT+CIPSTART="UDP","time.example.com",123,1112,0') == (
        b'AT+CIPSTART="UDP","time.example.com",123,1112,0\r\nCONNECT\r\n\r\nOK\r\n'
    )
    assert await at.cmd("AT+CIPSTATE?") == (
        f'AT+CIPSTATE?\r\n+CIPSTATE:0,"UDP","{UDP}",123,1112,0\r\n\r\nOK\r\n'.encode()
    )
    assert (await send(at, "AT+CIPSEND=4", b"ping")).endswith(b"SEND OK\r\n")
    assert await at.wait_for(b"+IPD,4:ping") == b"\r\n+IPD,4:ping"
    assert await at.cmd("AT+CIPCLOSE") == b"AT+CIPCLOSE\r\nCLOSED\r\n\r\nOK\r\n"
    await at.cmd("AT+CIPMUX=1")
    await at.cmd("AT+CIPDINFO=1")
    assert (await at.cmd(f'AT+CIPSTART=4,"UDP","{UDP}",8080,1113,2')).endswith(
        b"4,CONNECT\r\n\r\nOK\r\n"
    )
    # a remote given with the data overrides the link's for that datagram
    out = await send(at, f'AT+CIPSEND=4,3,"{UDP}",9090', b"abc")
    assert out.endswith(b"Recv 3 bytes\r\n\r\nSEND OK\r\n")
    assert await at.wait_for(b":abc") == f'\r\n+IPD,4,3,"{UDP}",9090:abc'.encode()
    # mode 2: the link now points at the last sender
    assert b'+CIPSTATE:4,"UDP","203.0.113.20",9090,1113,0' in await at.cmd("AT+CIPSTATE?")
    assert await at.cmd("AT+CIPCLOSE=4") == b"AT+CIPCLOSE=4\r\n4,CLOSED\r\n\r\nOK\r\n"


async def test_udp_bad_parameters(net: AtHarness) -> None:
    for bad in (
        'AT+CIPSTART="UDP","time.example.com",123,1112,3',
        'AT+CIPSTART="UDP","time.example.com",123,70000',
        'AT+CIPSTART="UDPv6","time.example.com",123',
        'AT+CIPSTART="UDP","time.example.com",123,1,0,"",0,9',
    ):
        assert (await net.cmd(bad)).endswith(b"\r\nERROR\r\n"), bad


async def test_passive_receive_single(net: AtHarness) -> None:
    at = net
    await at.cmd('AT+CIPSTART="TCP","api.example.com",80')
    assert await at.cmd("AT+CIPRECVTYPE=1") == b"AT+CIPRECVTYPE=1\r\n\r\nOK\r\n"
    assert await at.cmd("AT+CIPRECVTYPE?") == b"AT+CIPRECVTYPE?\r\n+CIPRECVTYPE:0,1\r\n\r\nOK\r\n"
    await send(at, "AT+CIPSEND=4", b"test")
    assert await at.wait_for(b"+IPD,4\r\n") == b"+IPD,4\r\n"
    assert await at.cmd("AT+CIPRECVLEN?") == b"AT+CIPRECVLEN?\r\n+CIPRECVLEN:4\r\n\r\nOK\r\n"
    assert await at.cmd("AT+CIPRECVDATA=3") == b"AT+CIPRECVDATA=3\r\n+CIPRECVDATA:3,tes\r\nOK\r\n"
    assert await at.cmd("AT+CIPRECVDATA=10") == b"AT+CIPRECVDATA=10\r\n+CIPRECVDATA:1,t\r\nOK\r\n"
    assert (await at.cmd("AT+CIPRECVDATA=10")).endswith(b"\r\nERROR\r\n")  # nothing left
    assert (await at.cmd("AT+CIPRECVDATA=0")).endswith(b"\r\nERROR\r\n")


async def test_passive_receive_mux_with_dinfo_and_held_close(
    net: AtHarness, servers: Servers
) -> None:
    at = net
    await at.cmd("AT+CIPMUX=1")
    await at.cmd("AT+CIPRECVMODE=1")
    await at.cmd("AT+CIPDINFO=1")
    await at.cmd('AT+CIPSTART=1,"TCP","api.example.com",80')
    await send(at, "AT+CIPSEND=1,5", b"hello")
    assert await at.wait_for(b"+IPD,1,5\r\n") == b"+IPD,1,5\r\n"
    assert await at.cmd("AT+CIPRECVLEN?") == b"AT+CIPRECVLEN?\r\n+CIPRECVLEN:,5,,,\r\n\r\nOK\r\n"
    for writer in servers.writers:
        writer.close()
    assert await at.settle() == b""  # CLOSED is held back while data remains
    assert await at.cmd("AT+CIPRECVDATA=1,5") == (
        b'AT+CIPRECVDATA=1,5\r\n+CIPRECVDATA:5,"203.0.113.10",80,hello\r\nOK\r\n'
    )
    assert await at.wait_for(b"1,CLOSED\r\n") == b"1,CLOSED\r\n"
    assert (await at.cmd("AT+CIPRECVDATA=1,5")).endswith(b"\r\nERROR\r\n")


async def test_passive_window_holds_tcp_back(net: AtHarness, servers: Servers) -> None:
    at = net
    await at.cmd("AT+CIPRECVMODE=1")
    await at.cmd('AT+CIPSTART="TCP","api.example.com",80')
    for writer in servers.writers:
        writer.write(b"x" * 8000)
    await at.wait_for(b"+IPD,")
    await at.settle(500)
    out = await at.cmd("AT+CIPRECVLEN?")
    assert out == b"AT+CIPRECVLEN?\r\n+CIPRECVLEN:5760\r\n\r\nOK\r\n"
    data = await at.cmd("AT+CIPRECVDATA=8192")
    assert data.startswith(b"AT+CIPRECVDATA=8192\r\n+CIPRECVDATA:5760,")
    await at.wait_for(b"+IPD,")  # the rest arrives once the window opens
    await at.settle(500)
    assert await at.cmd("AT+CIPRECVLEN?") == b"AT+CIPRECVLEN?\r\n+CIPRECVLEN:2240\r\n\r\nOK\r\n"


async def test_recvdata_needs_passive_mode(net: AtHarness) -> None:
    await net.cmd('AT+CIPSTART="TCP","api.example.com",80')
    assert (await net.cmd("AT+CIPRECVDATA=4")).endswith(b"\r\nERROR\r\n")
    await net.cmd("AT+CIPMUX=0")
    assert (await net.cmd("AT+CIPRECVTYPE=2")).endswith(b"\r\nERROR\r\n")


async def test_udp_mode_1_follows_the_first_other_sender_only(net: AtHarness) -> None:
    """<mode> 1: the first datagram from an address other than the one AT+CIPSTART gave
    moves the link's remote there, once; <mode> 0 never moves it."""
    at = net
    await at.cmd("AT+CIPMUX=1")
    await at.cmd("AT+CIPDINFO=1")
    await at.cmd(f'AT+CIPSTART=0,"UDP","{UDP}",8080,1113,1')
    await at.cmd(f'AT+CIPSTART=1,"UDP","{UDP}",8080,1114,0')
    for link, port, data in ((0, 9090, b"abc"), (0, 9191, b"def"), (1, 9090, b"ghi")):
        out = await send(at, f'AT+CIPSEND={link},3,"{UDP}",{port}', data)
        assert out.endswith(b"SEND OK\r\n")
        # the echo answers from the port it was sent to
        expected = f'\r\n+IPD,{link},3,"{UDP}",{port}:'.encode() + data
        assert await at.wait_for(b":" + data) == expected
    state = await at.cmd("AT+CIPSTATE?")
    assert f'+CIPSTATE:0,"UDP","{UDP}",9090,1113,0'.encode() in state  # moved once
    assert f'+CIPSTATE:1,"UDP","{UDP}",8080,1114,0'.encode() in state  # never moved


async def _buffered(at: AtHarness, size: int) -> None:
    """Wait (bounded) until link 0 holds ``size`` unread bytes."""
    for _ in range(5000):
        link = at.module.links.get(0)
        if link is not None and len(link.buffer) >= size:
            return
        await asyncio.sleep(0.001)
    raise AssertionError("the datagrams did not arrive")


async def test_passive_udp_keeps_its_datagrams(net: AtHarness) -> None:
    """<data_len_report_mode> 1 reports the next datagram's length; <keep_datagram_integrity>
    1 reads one whole datagram (ERROR when it is longer than <len>); with AT+CIPDINFO=1 a
    read names the sender of the datagram it starts with."""
    at = net
    await at.cmd("AT+CIPDINFO=1")
    await at.cmd(f'AT+CIPSTART="UDP","{UDP}",8080,1113,0')
    assert await at.cmd("AT+CIPRECVTYPE=1,1") == b"AT+CIPRECVTYPE=1,1\r\n\r\nOK\r\n"
    await send(at, f'AT+CIPSEND=3,"{UDP}",9090', b"abc")
    assert await at.wait_for(b"+IPD,3\r\n") == b"+IPD,3\r\n"
    await send(at, f'AT+CIPSEND=5,"{UDP}",9191', b"defgh")
    await _buffered(at, 8)
    assert await at.cmd("AT+CIPRECVLEN?") == b"AT+CIPRECVLEN?\r\n+CIPRECVLEN:3\r\n\r\nOK\r\n"
    assert (await at.cmd("AT+CIPRECVDATA=2,1")).endswith(b"\r\nERROR\r\n")  # 3 > 2
    assert await at.cmd("AT+CIPRECVDATA=100,1") == (
        f'AT+CIPRECVDATA=100,1\r\n+CIPRECVDATA:3,"{UDP}",9090,abc\r\nOK\r\n'.encode()
    )
    # <keep_datagram_integrity> 0 takes bytes as asked, across datagrams
    assert await at.cmd("AT+CIPRECVDATA=2") == (
        f'AT+CIPRECVDATA=2\r\n+CIPRECVDATA:2,"{UDP}",9191,de\r\nOK\r\n'.encode()
    )
    assert await at.cmd("AT+CIPRECVLEN?") == b"AT+CIPRECVLEN?\r\n+CIPRECVLEN:3\r\n\r\nOK\r\n"
    # report mode 0: the total buffered
    assert await at.cmd("AT+CIPRECVTYPE=1,0") == b"AT+CIPRECVTYPE=1,0\r\n\r\nOK\r\n"
    await send(at, f'AT+CIPSEND=4,"{UDP}",9090', b"ijkl")
    assert await at.wait_for(b"+IPD,7\r\n") == b"+IPD,7\r\n"
    assert await at.cmd("AT+CIPRECVLEN?") == b"AT+CIPRECVLEN?\r\n+CIPRECVLEN:7\r\n\r\nOK\r\n"
    assert await at.cmd("AT+CIPRECVDATA=100") == (
        f'AT+CIPRECVDATA=100\r\n+CIPRECVDATA:7,"{UDP}",9191,fghijkl\r\nOK\r\n'.encode()
    )
