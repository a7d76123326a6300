"""AT+CIPDOMAIN, AT+CIPDNS, AT+CIPTCPOPT, AT+CIPRECONNINTV, and the [net] configuration."""

from __future__ import annotations

import pytest

from esp_at_sim.core.settings import MemorySettingsStore
from esp_at_sim.radio.fields import FieldError
from esp_at_sim.radio.netconfig import NetConfig, parse_route_option
from esp_at_sim.scenario import ScenarioError, parse_scenario
from esp_at_sim.testing import AtHarness, start_module

from .conftest import API, Servers, joined_module
from .test_tcp import send


async def test_cipdomain(net: AtHarness) -> None:
    assert await net.cmd('AT+CIPDOMAIN="API.example.com"') == (
        f'AT+CIPDOMAIN="API.example.com"\r\n+CIPDOMAIN:"{API}"\r\n\r\nOK\r\n'.encode()
    )
    assert (await net.cmd('AT+CIPDOMAIN="api.example.com",2,5000,1')).endswith(b"OK\r\n")
    for bad in (
        'AT+CIPDOMAIN="nowhere.example.com"',
        'AT+CIPDOMAIN="api.example.com",3',  # IPv6 only: the module has no IPv6
        'AT+CIPDOMAIN="api.example.com",4',
        "AT+CIPDOMAIN=1",
    ):
        assert (await net.cmd(bad)).endswith(b"\r\nERROR\r\n"), bad


async def test_cipdomain_needs_an_address(at: AtHarness) -> None:
    assert (await at.cmd('AT+CIPDOMAIN="api.example.com"')).endswith(b"\r\nERROR\r\n")


async def test_cipdns_is_stored_with_sysstore() -> None:
    store = MemorySettingsStore()
    module, at = await start_module(store=store)
    try:
        defaults = b'+CIPDNS:0,"208.67.222.222","114.114.114.114","8.8.8.8"\r\n'
        assert defaults in await at.cmd("AT+CIPDNS?")
        assert (await at.cmd('AT+CIPDNS=1,"1.1.1.1","9.9.9.9"')).endswith(b"\r\nOK\r\n")
        assert b'+CIPDNS:1,"1.1.1.1","9.9.9.9"\r\n' in await at.cmd("AT+CIPDNS?")
        for bad in ('AT+CIPDNS=1,"1.1.1.1","1.1.1.1"', 'AT+CIPDNS=1,"1.1.1"', "AT+CIPDNS=2"):
            assert (await at.cmd(bad)).endswith(b"\r\nERROR\r\n"), bad
        assert b'+CIPDNS:1,"1.1.1.1","9.9.9.9"\r\n' in await at.cmd("AT+CIPDNS?")
        await at.cmd("AT+RST")
        await at.wait_for(b"ready\r\n")
        assert b'+CIPDNS:1,"1.1.1.1","9.9.9.9"\r\n' in await at.cmd("AT+CIPDNS?")
        await at.cmd("AT+CIPDNS=0")
        assert defaults in await at.cmd("AT+CIPDNS?")
    finally:
        await module.close()


async def test_ciptcpopt_and_keep_alive(net: AtHarness) -> None:
    assert await net.cmd("AT+CIPTCPOPT?") == b"AT+CIPTCPOPT?\r\n+CIPTCPOPT:0,-1,0,0,0\r\n\r\nOK\r\n"
    assert (await net.cmd("AT+CIPTCPOPT=,1,5000")).endswith(b"\r\nOK\r\n")
    await net.cmd('AT+CIPSTART="TCP","api.example.com",80,60')
    assert b"+CIPTCPOPT:0,-1,1,5000,60\r\n" in await net.cmd("AT+CIPTCPOPT?")
    await net.cmd("AT+CIPCLOSE")
    await net.cmd("AT+CIPMUX=1")
    assert (await net.cmd("AT+CIPTCPOPT=5,0,0,0,7")).endswith(b"\r\nOK\r\n")
    assert (await net.cmd("AT+CIPTCPOPT?")).count(b",0,0,0,7\r\n") == 5
    for bad in (
        "AT+CIPTCPOPT=6,0,0,0",
        "AT+CIPTCPOPT=0,0,2,0",
        "AT+CIPTCPOPT=0,0",
        "AT+CIPTCPOPT=0,-2,0,0",
    ):
        assert (await net.cmd(bad)).endswith(b"\r\nERROR\r\n"), bad


async def test_cipreconnintv(at: AtHarness) -> None:
    assert (
        await at.cmd("AT+CIPRECONNINTV?") == b"AT+CIPRECONNINTV?\r\n+CIPRECONNINTV:1\r\n\r\nOK\r\n"
    )
    assert (await at.cmd("AT+CIPRECONNINTV=10")).endswith(b"\r\nOK\r\n")
    assert b"+CIPRECONNINTV:10\r\n" in await at.cmd("AT+CIPRECONNINTV?")
    for bad in ("AT+CIPRECONNINTV=0", "AT+CIPRECONNINTV=36001"):
        assert (await at.cmd(bad)).endswith(b"\r\nERROR\r\n")
    assert b"+CIPRECONNINTV:10\r\n" in await at.cmd("AT+CIPRECONNINTV?")


async def test_latency_and_bandwidth_take_simulated_time(servers: Servers) -> None:
    module, at = await joined_module(servers, latency=0.25, bandwidth=1000)
    try:
        start = module.clock.now()
        await at.cmd('AT+CIPSTART="TCP","api.example.com",80')
        assert module.clock.now() - start >= 0.5  # a round trip before CONNECT
        start = module.clock.now()
        assert (await send(at, "AT+CIPSEND=2000", b"z" * 2000)).endswith(b"SEND OK\r\n")
        assert module.clock.now() - start >= 2.0  # 2000 bytes at 1000 bytes/s
    finally:
        await module.close()


async def test_udp_loss(servers: Servers) -> None:
    module, at = await joined_module(servers, loss=1.0)
    try:
        await at.cmd('AT+CIPSTART="UDP","time.example.com",123')
        assert (await send(at, "AT+CIPSEND=3", b"abc")).endswith(b"SEND OK\r\n")
        assert await at.settle(500) == b""  # the datagram was lost: no echo
    finally:
        await module.close()


def test_net_table_in_a_scenario() -> None:
    scenario = parse_scenario(
        """
[net]
hosts = { "API.example.com" = "203.0.113.10" }
routes = { "203.0.113.10:443" = "127.0.0.1:8443", "203.0.113.20" = "localhost" }
bridge = false
"""
    )
    net = scenario.net
    assert net.resolve("api.EXAMPLE.com") == "203.0.113.10"
    assert net.route("203.0.113.10", 443) == ("127.0.0.1", 8443)
    assert net.route("203.0.113.10", 80) is None
    assert net.route("203.0.113.20", 123) == ("localhost", 123)
    assert net.with_routes({}, bridge=True).route("8.8.8.8", 53) == ("8.8.8.8", 53)
    assert net.with_routes({"203.0.113.10:80": "127.0.0.1:9"}).route("203.0.113.10", 80) == (
        "127.0.0.1",
        9,
    )


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('[net]\nhosts = { "a" = "1.2.3" }', "net.hosts.a"),
        ('[net]\nroutes = { "1.2.3.4:99999" = "127.0.0.1" }', "net.routes.1.2.3.4:99999"),
        ("[net]\nbridge = 1", "net.bridge"),
        ("[net]\ngateway = 1", "net.gateway"),
        ('[[ap]]\nssid = "x"\nloss = 2', "ap[0].loss"),
        ('[[ap]]\nssid = "x"\nlatency = -1', "ap[0].latency"),
    ],
)
def test_bad_net_settings_are_named(text: str, key: str) -> None:
    with pytest.raises(ScenarioError) as err:
        parse_scenario(text)
    assert err.value.key == key


def test_route_option() -> None:
    assert parse_route_option("203.0.113.10:443=127.0.0.1:8443") == (
        "203.0.113.10:443",
        "127.0.0.1:8443",
    )
    for bad in ("203.0.113.10", "x=127.0.0.1", "1.2.3.4=127.0.0.1:0"):
        with pytest.raises(ValueError):
            parse_route_option(bad)
    with pytest.raises(FieldError):
        NetConfig.from_table({"routes": {"1.2.3.4": 5}})


def test_run_takes_routes_and_bridge() -> None:
    from esp_at_sim.cli.main import build_parser

    args = build_parser().parse_args(
        [
            "run",
            "--route",
            "203.0.113.10:443=127.0.0.1:8443",
            "--route",
            "1.2.3.4=::1",
            "--net-bridge",
        ]
    )
    assert args.route[0] == ("203.0.113.10:443", "127.0.0.1:8443")
    assert args.net_bridge
    assert NetConfig().with_routes(dict(args.route)).route("1.2.3.4", 7) == ("::1", 7)
    assert NetConfig().with_routes({"1.2.3.4": "[::1]:9"}).route("1.2.3.4", 7) == ("::1", 9)
    with pytest.raises(SystemExit):
        build_parser().parse_args(["run", "--route", "nowhere"])
