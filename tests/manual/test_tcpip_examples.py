"""Every example of the manual's TCP/IP chapter (the ESP32 variant), sent to a module as
written, with the remote ends it needs: loopback TCP, UDP, TLS and SNTP servers that the
test starts, reached through the module's sandboxed network by the names and addresses
the examples use. Each line gets the final result the manual shows (``OK`` unless it
shows another) and the information lines it shows, in their shape (the same words and
punctuation, any values; see :func:`shape`).

An example block that holds several scenarios (separated by a blank line, a comment or an
``or``) runs as one test per scenario, on a fresh module joined to the network
(:data:`JOIN`) unless the scenario joins by itself; the lines of a command in
:data:`ALTERNATIVES` each run alone. A scenario whose commands need a mode or a state
the example leaves to the reader gets it first (:data:`SETUP`), and a server module gets a
client where the example's comment says one is there (:data:`CLIENT`)."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace

import pytest
import trustme

from esp_at_sim.device.module import Module
from esp_at_sim.radio.netconfig import NetConfig
from esp_at_sim.scenario import parse_scenario
from esp_at_sim.testing import AtHarness, assert_no_tasks_left, start_module
from net.conftest import echo_servers
from sntp.conftest import ntp_server
from tls.conftest import Pki, install, server_context, tls_server

from . import rst

pytestmark = pytest.mark.skipif(
    not rst.available(rst.TCPIP), reason=f"the ESP-AT manual's .rst files are not in {rst.MANUAL}"
)

# Commands of the chapter that this module does not have (README, "Not implemented").
NOT_HERE = {
    "AT+CIPV6": "the module is built without IPv6",
    "AT+CIPFWVER": "OTA from Espressif's servers is not implemented",
    "AT+CIUPDATE": "OTA from Espressif's servers is not implemented",
    "AT+MDNS": "mDNS is not implemented",
}
# The networks the examples join: "SSID" gives the station the local IP the examples bind
# (192.168.101.100), next to the servers they reach (192.168.101.110).
WORLD = """
[[ap]]
ssid = "SSID"
password = "password"
ip = "192.168.101.100"
gateway = "192.168.101.1"

[[ap]]
ssid = "1234567890"
password = "1234567890"
ip = "192.168.101.100"
gateway = "192.168.101.1"
"""
JOIN = ["AT+CWMODE=1", 'AT+CWJAP="SSID","password"']
# The names the examples use, each at an address of its own (TEST-NET-3).
HOSTS = {
    "iot.espressif.cn": "203.0.113.1",
    "www.github.com": "203.0.113.2",
    "pool.ntp.org": "203.0.113.3",
    "www.bing.com": "203.0.113.4",
    "www.baidu.com": "203.0.113.5",
    "ds.test-ipv6.com": "203.0.113.6",
    "cn.ntp.org.cn": "203.0.113.7",
    "ntp.sjtu.edu.cn": "203.0.113.8",
}
LAN_SERVER = "192.168.101.110"  # the PC on the examples' LAN
# Lines that run alone: each is an alternative to the others of its block (a second
# AT+CIPSTART in single connection mode would find the first one connected).
ALTERNATIVES = {"AT+CIPSTART", "AT+CIPSNTPCFG"}
PASSIVE_LINK_0 = ["AT+CIPMUX=1", "AT+CIPRECVTYPE=0,1", f'AT+CIPSTART=0,"TCP","{LAN_SERVER}",1000']
# What a scenario needs first that its example leaves to the reader: the multiple
# connections mode its link ID implies, a server to delete, a link to read from.
SETUP = {
    "AT+CIPSSLCCIPHER=0,2,0xC023,0xC0AD": ["AT+CIPMUX=1"],
    'AT+CIPSSLCPSKHEX=0,"70736b","myhint"': ["AT+CIPMUX=1"],
    "AT+CIPRECVTYPE=5,1": ["AT+CIPMUX=1"],
    "AT+CIPSERVER=0,1": ["AT+CIPMUX=1", "AT+CIPSERVER=1,80"],
    # "if host MCU gets a message of receiving 100-byte data in connection with No.0"
    "AT+CIPRECVDATA=0,100": PASSIVE_LINK_0,
    "AT+CIPRECVLEN?": PASSIVE_LINK_0,
}
# Scenarios whose example has a server's peer act: a client connects to the module's
# server after these lines, or the remote of link 0 sends 100 bytes.
CLIENT = {"AT+CIPSERVER=0,1"}
REMOTE_SENDS = {"AT+CIPRECVDATA=0,100", "AT+CIPRECVLEN?"}
# The manual's time (Tue Oct 19 09:47:56 2021 UTC): the SNTP server gives it, so
# AT+CIPSNTPTIME? shows the example's own line.
SNTP_TIME = 1634636876.25
# Shown lines the module prints otherwise, on purpose (README, "Deviations"), each as the
# manual documents it elsewhere: v3.4's page of the command (TCP-IP_AT_Commands_v3.4...).
KNOWN = {
    # one field per link (five), as v3.4 documents the response; the example's line has a
    # sixth, empty one
    "+CIPRECVLEN:100,,,,,": "+CIPRECVLEN:100,,,,",
}
V34 = "TCP-IP_AT_Commands_v3.4.0.0_CIPRECVMODE_CIPSTATUS.rst"
RESPONSES = rst.responses(rst.TCPIP) if rst.available(rst.TCPIP) else {}
_VALUE = re.compile(r'"[^"]*"|0x[0-9A-Fa-f]+|[0-9]+')


def shape(line: str) -> str:
    """A line with its values (numbers, quoted strings) replaced by ``#``: what a response
    format fixes."""
    return _VALUE.sub("#", line)


@pytest.fixture(scope="module")
def pki() -> Pki:
    """The module's PKI (its server certificate, for AT+CIPSERVER "SSL") and the test's
    TLS server's, from one CA."""
    ca = trustme.CA()
    leaf = ca.issue_cert("iot.espressif.cn", LAN_SERVER)
    return Pki(ca=ca, other_ca=ca, server=leaf, client=ca.issue_cert("esp32"))


def _ipv6(line: str) -> bool:
    """An IPv6 type, address or resolution (AT+CIPDOMAIN's <ip network> 3)."""
    return (
        'v6"' in line
        or bool(re.search(r'"[0-9a-fA-F]*:[0-9a-fA-F:]*:[0-9a-fA-F:]*"', line))
        or (line.startswith("AT+CIPDOMAIN=") and line.endswith(",3"))
    )


def documented(line: str) -> list[list[re.Pattern[str]]] | None:
    """The information lines the command section documents for ``line``'s form, one list
    per alternative that ends in ``OK``; ``None`` for a command of another chapter."""
    match = re.match(r"(AT\+[A-Z0-9]+)(=|\?)?", line)
    assert match is not None, line
    form = {"=": "set", "?": "query", None: "execute"}[match.group(2)]
    found = RESPONSES.get((match.group(1), form))
    if found is None:
        return None
    return [[rst.template(x) for x in alt[:-1]] for alt in found if alt[-1] == "OK"]


def as_documented(info: list[str], line: str) -> bool:
    """Whether ``info`` is, line for line, one of the alternatives the manual documents."""
    alternatives = documented(line)
    # a link that closes meanwhile says so (AT+CIPSERVER=0,1 closes its clients' links)
    quiet = [x for x in info if not re.fullmatch(r"[0-4],CLOSED", x)]
    return alternatives is None or any(
        len(alt) == len(lines) and all(p.fullmatch(x) for p, x in zip(alt, lines, strict=True))
        for alt in alternatives
        for lines in (info, quiet)
    )


def scenarios() -> list[rst.Example]:
    """Every scenario of the chapter's examples (see the module's docstring)."""
    if not rst.available(rst.TCPIP):
        return []
    found: list[rst.Example] = []
    for example in rst.examples(rst.TCPIP):
        current: rst.Example | None = None
        for step in example.steps:
            alone = example.command in ALTERNATIVES and step.line.startswith(example.command)
            if current is None or step.new_paragraph or alone:
                current = rst.Example(example.command, [])
                found.append(current)
            current.steps.append(step)
    return found


def _id(example: rst.Example) -> str:
    return f"{example.command}:{example.steps[-1].line}"


@dataclass
class Remotes:
    """The loopback servers the examples reach, and the routes to them."""

    tcp_port: int  # TCP echo
    udp_port: int  # UDP echo
    tls_port: int  # TLS echo
    ntp_port: int
    peers: list[asyncio.StreamWriter]

    def net(self, kind: str) -> NetConfig:
        """Routes for an example of ``kind`` ("TCP", "UDP", "SSL"): the LAN server's port
        1000 is an echo server of that kind."""
        lan = {"TCP": self.tcp_port, "UDP": self.udp_port, "SSL": self.tls_port}[kind]
        return NetConfig.from_table(
            {
                "hosts": HOSTS,
                "routes": {
                    f"{HOSTS['iot.espressif.cn']}:8000": f"127.0.0.1:{self.tcp_port}",
                    f"{HOSTS['iot.espressif.cn']}:8443": f"127.0.0.1:{self.tls_port}",
                    f"{LAN_SERVER}:1000": f"127.0.0.1:{lan}",
                    f"{LAN_SERVER}:2500": f"127.0.0.1:{self.tcp_port}",
                    f"{HOSTS['www.github.com']}:80": f"127.0.0.1:{self.tcp_port}",
                    f"{HOSTS['pool.ntp.org']}:123": f"127.0.0.1:{self.udp_port}",
                    f"{HOSTS['www.bing.com']}:443": f"127.0.0.1:{self.tls_port}",
                    f"{HOSTS['cn.ntp.org.cn']}:123": f"127.0.0.1:{self.ntp_port}",
                    f"{HOSTS['ntp.sjtu.edu.cn']}:123": f"127.0.0.1:{self.ntp_port}",
                    # the hosts AT+PING asks for
                    "192.168.1.1": "127.0.0.1",
                    HOSTS["www.baidu.com"]: "127.0.0.1",
                },
            }
        )


@contextlib.asynccontextmanager
async def remotes(pki: Pki) -> AsyncIterator[Remotes]:
    async with (
        echo_servers() as echo,
        tls_server(server_context(pki)) as tls,
        ntp_server() as ntp,
    ):
        ntp.unix_time = SNTP_TIME
        yield Remotes(echo.tcp_port, echo.udp_port, tls.port, ntp.port, echo.writers)


async def answer(at: AtHarness, line: str) -> bytes:
    """Send ``line``; its output without the echo, through its final result."""
    echo = line.encode() + b"\r\n"
    at.port.feed(echo)
    out = await at.wait_for(b"\r\nOK\r\n", b"\r\nERROR\r\n")
    assert out.startswith(echo), out
    return out[len(echo) :]


async def _connect_client(module: Module, at: AtHarness) -> asyncio.StreamWriter:
    address = module.servers.address
    assert address is not None
    _, writer = await asyncio.open_connection(*address)
    await at.wait_for(b"0,CONNECT\r\n")
    return writer


@pytest.mark.parametrize("example", scenarios(), ids=_id)
async def test_every_example_answers_as_the_manual_says(example: rst.Example, pki: Pki) -> None:
    if example.command in NOT_HERE:
        pytest.skip(NOT_HERE[example.command])
    if any(_ipv6(step.line) for step in example.steps):
        pytest.skip("the module is built without IPv6")
    lines = [step.line for step in example.steps]
    setup = [] if any(x.startswith("AT+CWJAP=") for x in lines) else list(JOIN)
    setup += SETUP.get(lines[0], [])
    async with remotes(pki) as world:
        scenario = parse_scenario(WORLD, "tcpip-examples.toml")
        kind = next((k for k in ("SSL", "UDP") if any(f'"{k}"' in x for x in lines)), "TCP")
        scenario = replace(scenario, net=world.net(kind))
        module, at = await start_module(scenario, with_flash=True)
        module.servers.expose("127.0.0.1", lambda port: 0, None)
        install(
            module,
            server_cert=[pki.server.cert_chain_pems[0].bytes()],
            server_key=[pki.server.private_key_pem.bytes()],
            server_ca=[pki.ca.cert_pem.bytes()],
        )
        clients: list[asyncio.StreamWriter] = []
        try:
            for line in setup:
                assert (await answer(at, line)).endswith(b"\r\nOK\r\n"), line
            if lines[0] in CLIENT:
                clients.append(await _connect_client(module, at))
            for step in example.steps:
                if step.line in REMOTE_SENDS:
                    for _ in range(1000):  # the server's side of the link, once accepted
                        if world.peers:
                            break
                        await asyncio.sleep(0.001)
                    world.peers[-1].write(bytes(range(100)))
                    await at.wait_for(b"+IPD,0,100\r\n")
                if step.line == "AT+CIPSNTPTIME?":
                    await at.wait_for(b"+TIME_UPDATED\r\n")
                at.take()
                out = await answer(at, step.line)
                shown = [s for s in step.shown if s not in ("OK", "ERROR")]
                final = "ERROR" if "ERROR" in step.shown else "OK"
                assert out.endswith(f"\r\n{final}\r\n".encode()), (step.line, out)
                info = [x.decode("utf-8", "replace") for x in out.split(b"\r\n")[:-3] if x]
                info = [x for x in info if not x.startswith("WIFI ")]  # URCs of a join
                if step.line.startswith("AT+CIPRECVDATA="):
                    assert out.startswith(b"+CIPRECVDATA:100," + bytes(range(100)))
                    continue
                if not shown:
                    assert as_documented(info, step.line), (step.line, info)
                else:
                    expected = [KNOWN.get(x, x) for x in shown]
                    for line in (KNOWN[x] for x in shown if x in KNOWN):
                        v34 = rst.responses(V34)[(example.command, "query")][0][0]
                        assert rst.template(v34).fullmatch(line), (line, v34)
                    assert [shape(x) for x in info] == [shape(x) for x in expected], (
                        step.line,
                        info,
                        shown,
                    )
                    if step.line == "AT+CIPSNTPTIME?":  # the server's time, to the minute
                        assert info[0][:-8] == shown[0][:-8], (info, shown)
        finally:
            for client in clients:
                client.close()
            await module.close()
    await assert_no_tasks_left()


async def test_cmd_lists_every_command_of_the_chapter() -> None:
    module, at = await start_module()
    try:
        out = await at.cmd("AT+CMD?")
    finally:
        await module.close()
    listed = set(re.findall(rb'\+CMD:\d+,"([^"]+)"', out))
    manual = rst.listed_commands(rst.TCPIP)
    assert len(manual) > 35
    missing = [name for name in manual if name.encode() not in listed]
    assert sorted(missing) == sorted(NOT_HERE), missing
