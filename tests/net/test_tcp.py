"""TCP client links through the module, byte for byte, in both AT+CIPMUX modes."""

from __future__ import annotations

import re

from esp_at_sim.testing import AtHarness

from .conftest import API, CLOSED_PORT, UNROUTED, Servers, joined_module


async def send(at: AtHarness, command: str, data: bytes) -> bytes:
    at.port.feed(command.encode() + b"\r\n")
    prompt = await at.wait_for(b">", b"ERROR\r\n")
    if not prompt.endswith(b">"):
        return prompt
    at.port.feed(data)
    return prompt + await at.wait_for(b"SEND OK\r\n", b"SEND FAIL\r\n")


def local_port(state: bytes) -> int:
    match = re.search(rb",(\d+),0\r\n", state)
    assert match is not None
    return int(match.group(1))


async def test_single_connection_round_trip(net: AtHarness, servers: Servers) -> None:
    at = net
    assert (
        await at.cmd('AT+CIPSTART="TCP","api.example.com",80')
        == b'AT+CIPSTART="TCP","api.example.com",80\r\nCONNECT\r\n\r\nOK\r\n'
    )
    state = await at.cmd("AT+CIPSTATE?")
    port = local_port(state)
    assert state == (
        f'AT+CIPSTATE?\r\n+CIPSTATE:0,"TCP","{API}",80,{port},0\r\n\r\nOK\r\n'.encode()
    )
    assert (
        await at.cmd("AT+CIPSTATUS")
        == (
            f'AT+CIPSTATUS\r\nSTATUS:3\r\n+CIPSTATUS:0,"TCP","{API}",80,{port},0\r\n\r\nOK\r\n'
        ).encode()
    )
    assert await send(at, "AT+CIPSEND=4", b"test") == (
        b"AT+CIPSEND=4\r\n\r\nOK\r\n\r\n>\r\nRecv 4 bytes\r\n\r\nSEND OK\r\n"
    )
    assert await at.wait_for(b"+IPD,4:test") == b"\r\n+IPD,4:test"
    assert await at.cmd("AT+CIPCLOSE") == b"AT+CIPCLOSE\r\nCLOSED\r\n\r\nOK\r\n"
    assert await at.cmd("AT+CIPSTATUS") == b"AT+CIPSTATUS\r\nSTATUS:4\r\n\r\nOK\r\n"
    assert await at.cmd("AT+CIPCLOSE") == b"AT+CIPCLOSE\r\n\r\nERROR\r\n"
    assert bytes(servers.received) == b"test"


async def test_multiple_connections_with_dinfo(net: AtHarness) -> None:
    at = net
    await at.cmd("AT+CIPMUX=1")
    await at.cmd("AT+CIPDINFO=1")
    assert await at.cmd(f'AT+CIPSTART=3,"TCP","{API}",80') == (
        f'AT+CIPSTART=3,"TCP","{API}",80\r\n3,CONNECT\r\n\r\nOK\r\n'.encode()
    )
    assert (await at.cmd('AT+CIPSTARTEX="TCP","api.example.com",80')).endswith(
        b"\r\n0,CONNECT\r\n\r\nOK\r\n"
    )
    out = await send(at, "AT+CIPSEND=3,2", b"hi")
    assert out.endswith(b"\r\nRecv 2 bytes\r\n\r\nSEND OK\r\n")
    assert await at.wait_for(b":hi") == f'\r\n+IPD,3,2,"{API}",80:hi'.encode()
    assert (await at.cmd("AT+CIPMUX=0")).endswith(b"\r\nERROR\r\n")  # links are open
    state = await at.cmd("AT+CIPSTATE?")
    assert state.count(b"+CIPSTATE:") == 2
    assert await at.cmd("AT+CIPCLOSE=3") == b"AT+CIPCLOSE=3\r\n3,CLOSED\r\n\r\nOK\r\n"
    assert (await at.cmd("AT+CIPCLOSE=3")).endswith(b"\r\nERROR\r\n")
    assert await at.cmd("AT+CIPCLOSE=5") == b"AT+CIPCLOSE=5\r\n0,CLOSED\r\n\r\nOK\r\n"
    assert await at.cmd("AT+CIPCLOSE=5") == b"AT+CIPCLOSE=5\r\n\r\nOK\r\n"


async def test_binary_payload_with_line_ends_and_prompts(net: AtHarness) -> None:
    payload = bytes(range(256)) + b"\r\n+++>\r\nAT\r\n"
    await net.cmd('AT+CIPSTART="TCP","api.example.com",80')
    out = await send(net, f"AT+CIPSEND={len(payload)}", payload)
    assert out.endswith(f"Recv {len(payload)} bytes\r\n\r\nSEND OK\r\n".encode())
    header = f"\r\n+IPD,{len(payload)}:".encode()
    assert await net.wait_for(header + payload) == header + payload


async def test_cipsendex_escapes_and_early_end(net: AtHarness, servers: Servers) -> None:
    await net.cmd('AT+CIPSTART="TCP","api.example.com",80')
    out = await send(net, "AT+CIPSENDEX=20", b"a\\\\b\\,c\\0ignored")
    # the bytes after \0 are beyond the data: busy p... and dropped
    assert out.endswith(b">\r\nbusy p...\r\n\r\nRecv 5 bytes\r\n\r\nSEND OK\r\n")
    assert await net.wait_for(b"+IPD,5:a\\b,c") == b"\r\n+IPD,5:a\\b,c"
    assert bytes(servers.received) == b"a\\b,c"


async def test_local_ip_must_be_an_address(net: AtHarness) -> None:
    """<"local IP"> binds the connection: an IPv4 address or empty; anything else is
    ERROR and opens nothing."""
    at = net
    for bad in (
        'AT+CIPSTART="TCP","api.example.com",80,,"junk"',
        'AT+CIPSTART="SSL","api.example.com",80,,"1.2.3"',
        'AT+CIPSTART="UDP","time.example.com",123,,,"300.1.1.1"',
        'AT+CIPSTART="UDP","time.example.com",123,1112,0,"fe80::1"',  # no IPv6
    ):
        assert (await at.cmd(bad)).endswith(b"\r\nERROR\r\n"), bad
        assert await at.cmd("AT+CIPSTATE?") == b"AT+CIPSTATE?\r\n\r\nOK\r\n", bad
    for good in (
        'AT+CIPSTART="TCP","api.example.com",80,,""',
        'AT+CIPSTART="UDP","time.example.com",123,,,"192.168.1.23"',
    ):
        assert (await at.cmd(good)).endswith(b"CONNECT\r\n\r\nOK\r\n"), good
        assert (await at.cmd("AT+CIPCLOSE")).endswith(b"CLOSED\r\n\r\nOK\r\n")


async def test_bad_input_changes_nothing(net: AtHarness) -> None:
    at = net
    assert (await at.cmd("AT+CIPSEND=4")).endswith(b"link is not valid\r\n\r\nERROR\r\n")
    await at.cmd('AT+CIPSTART="TCP","api.example.com",80')
    assert (await at.cmd('AT+CIPSTART="TCP","api.example.com",80')).endswith(
        b"ALREADY CONNECTED\r\n\r\nERROR\r\n"
    )
    for bad in (
        "AT+CIPSEND=8193",
        "AT+CIPSEND=0",
        'AT+CIPSEND="4"',
        'AT+CIPSEND=4,"1.2.3.4",80',  # a remote is for UDP only
        'AT+CIPSTART="TCPv6","api.example.com",80',
        'AT+CIPSTART="FTP","api.example.com",80',
        "AT+CIPCLOSE=0",  # the set form is for AT+CIPMUX=1
    ):
        assert (await at.cmd(bad)).endswith(b"\r\nERROR\r\n"), bad
    await at.cmd("AT+CIPCLOSE")
    await at.cmd("AT+CIPMUX=1")
    for bad in (
        'AT+CIPSTART=5,"TCP","api.example.com",80',
        'AT+CIPSTART=-1,"TCP","api.example.com",80',
        'AT+CIPSTART="TCP","api.example.com",80',
        "AT+CIPSEND=0,4",
        "AT+CIPSEND=5,4",
        "AT+CIPCLOSE=6",
        'AT+CIPSTART=0,"TCP","api.example.com",80,7201',
        'AT+CIPSTART=0,"TCP","api.example.com",80,0,"",60001',
    ):
        assert (await at.cmd(bad)).endswith(b"\r\nERROR\r\n"), bad
    assert await at.cmd("AT+CIPSTATE?") == b"AT+CIPSTATE?\r\n\r\nOK\r\n"
    await at.cmd("AT+SYSLOG=1")
    assert (await at.cmd("AT+CIPSEND=2,4")).endswith(
        b"link is not valid\r\nERR CODE:0x010a0000\r\n\r\nERROR\r\n"
    )


async def test_unrouted_destination_opens_no_socket(net: AtHarness) -> None:
    network = net.module.radio.network  # type: ignore[attr-defined]
    before = network.sockets_opened
    out = await net.cmd(f'AT+CIPSTART="TCP","{UNROUTED}",80,0,"",5000')
    assert out.endswith(b"\r\nERROR\r\n")
    assert net.module.clock.now() >= 5.0  # it waited out the timeout
    assert network.sockets_opened == before
    assert (await net.cmd('AT+CIPSTART="TCP","nowhere.example.com",80')).endswith(b"ERROR\r\n")
    assert network.sockets_opened == before


async def test_closed_port_fails_at_once(net: AtHarness) -> None:
    start = net.module.clock.now()
    assert (await net.cmd(f'AT+CIPSTART="TCP","{CLOSED_PORT}",443')).endswith(b"\r\nERROR\r\n")
    assert net.module.clock.now() - start < 1.0
    assert await net.cmd("AT+CIPSTATE?") == b"AT+CIPSTATE?\r\n\r\nOK\r\n"


async def test_remote_close_prints_closed(net: AtHarness, servers: Servers) -> None:
    await net.cmd("AT+CIPMUX=1")
    await net.cmd('AT+CIPSTART=2,"TCP","api.example.com",80')
    await send(net, "AT+CIPSEND=2,1", b"x")
    await net.wait_for(b"+IPD,2,1:x")
    for writer in servers.writers:
        writer.close()
    assert await net.wait_for(b"2,CLOSED\r\n") == b"2,CLOSED\r\n"
    assert await net.cmd("AT+CIPSTATE?") == b"AT+CIPSTATE?\r\n\r\nOK\r\n"
    assert (await net.cmd("AT+CIPSEND=2,1")).endswith(b"\r\nERROR\r\n")


async def test_losing_the_link_closes_connections(net: AtHarness) -> None:
    await net.cmd('AT+CIPSTART="TCP","api.example.com",80')
    out = await net.cmd("AT+CWQAP")
    out += await net.wait_for(b"CLOSED\r\n")
    assert out.index(b"WIFI DISCONNECT") < out.index(b"CLOSED\r\n")
    assert (await net.cmd('AT+CIPSTART="TCP","api.example.com",80')).endswith(
        b"no ip\r\n\r\nERROR\r\n"
    )


async def test_ap_without_internet_answers_nothing(servers: Servers) -> None:
    module, at = await joined_module(servers, internet=False)
    try:
        out = await at.cmd('AT+CIPSTART="TCP","api.example.com",80,0,"",2000')
        assert out.endswith(b"\r\nERROR\r\n")
        assert module.radio.network.sockets_opened == 0  # type: ignore[attr-defined]
    finally:
        await module.close()


async def test_faults_refuse_and_close_connections(net: AtHarness) -> None:
    faults = net.module.faults
    faults.refuse(f"{API}:80")
    assert (await net.cmd('AT+CIPSTART="TCP","api.example.com",80')).endswith(b"ERROR\r\n")
    faults.refuse(f"{API}:80", on=False)
    await net.cmd('AT+CIPSTART="TCP","api.example.com",80')
    assert faults.close_connections() == 1
    assert await net.wait_for(b"CLOSED\r\n") == b"CLOSED\r\n"


async def test_fault_blackhole_times_out_and_stall_fails_the_send(net: AtHarness) -> None:
    faults = net.module.faults
    faults.blackhole(API)
    out = await net.cmd('AT+CIPSTART="TCP","api.example.com",80,0,"",3000')
    assert out.endswith(b"\r\nERROR\r\n")
    faults.blackhole(API, on=False)
    await net.cmd('AT+CIPSTART="TCP","api.example.com",80')
    faults.stall(API)
    net.port.feed(b"AT+CIPSEND=3\r\n")
    await net.wait_for(b">")
    net.port.feed(b"abc")
    await net.wait_for(b"Recv 3 bytes\r\n")
    net.port.feed(b"AT\r\n")
    assert await net.wait_for(b"busy p...\r\n") == b"\r\nbusy p...\r\n"  # still sending
    faults.close_connections()
    assert (await net.wait_for(b"SEND FAIL\r\n")).endswith(b"\r\nSEND FAIL\r\n")
    assert await net.wait_for(b"CLOSED\r\n") == b"CLOSED\r\n"
