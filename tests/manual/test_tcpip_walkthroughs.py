"""The manual's TCP/IP walkthroughs (AT_Command_Examples_TCP-IP_AT_Examples.rst, ESP32),
each run from its first step to its last on one module, with the PC's side played by the
test on loopback: the TCP, UDP and SSL servers the PC runs (``openssl s_server``, "a
network tool"), the clients it connects (``openssl s_client``, "a TCP client"), and the
data it sends ("Assume that the TCP server sends 4 bytes"). The LAN has the walkthroughs'
addresses: the router gives the module 192.168.3.112, the PC is 192.168.3.102.

Every response is compared line for line with the one the manual shows, bytes as
printed; where the module prints something else on purpose, :data:`KNOWN` gives the line
it prints and why. Every step must be understood (:func:`test_every_step_is_understood`),
so that no step of a walkthrough is silently passed over."""

from __future__ import annotations

import asyncio
import contextlib
import re
import ssl
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import cast

import pytest
import trustme

from esp_at_sim.device.module import Module
from esp_at_sim.radio.netconfig import NetConfig
from esp_at_sim.scenario import parse_scenario
from esp_at_sim.testing import AtHarness, assert_no_tasks_left, start_module
from sntp.conftest import NtpServer, ntp_server
from tls.conftest import install

from . import rst

pytestmark = pytest.mark.skipif(
    not rst.available(rst.TCPIP_EXAMPLES),
    reason=f"the ESP-AT manual's .rst files are not in {rst.MANUAL}",
)

NOT_HERE = {"mDNS": "mDNS (AT+MDNS) is not implemented"}
WORLD = """
[[ap]]
ssid = "espressif"
password = "1234567890"
ip = "192.168.3.112"
gateway = "192.168.3.1"
"""
PC = "192.168.3.102"
OTHER_PC = "192.168.3.103"  # "any other UDP terminal"
SOFTAP_PC = "192.168.4.2"  # the PC joined to the module's SoftAP
NTP_HOSTS = {"cn.ntp.org.cn": "203.0.113.7", "ntp.sjtu.edu.cn": "203.0.113.8"}
SCALE = 0.1  # passthrough's 20 ms guard times pass in 2 ms
GUARD = 0.05  # simulated seconds of silence around +++
IO_STEPS = 5000  # bounded waits for the PC's side, 1 ms each
# Lines the module prints instead of the manual's, on purpose: (walkthrough, shown line)
# → the module's line.
KNOWN = {
    # the manual's line lacks the link ID that multiple connections print (its mutual
    # authentication walkthrough shows 0,CONNECT)
    ("ESP32 as an SSL server in multiple connections", "CONNECT"): "0,CONNECT",
}
# Steps of the PC that need nothing of the module (the test's servers already run).
NOTHING_TO_DO = (
    "Connect the PC to the same router",
    "Connect the PC to the {IDF_TARGET_NAME} softAP",
    "Create a UDP endpoint",
)


def walkthroughs() -> list[rst.Walkthrough]:
    if not rst.available(rst.TCPIP_EXAMPLES):
        return []
    return rst.walkthroughs(rst.TCPIP_EXAMPLES)


@dataclass
class Peer:
    """One end on the PC: what it has received, and how it sends."""

    received: bytearray = field(default_factory=bytearray)
    send: Callable[[bytes], None] = lambda data: None


@dataclass
class Pc:
    """The PC's servers, and every peer it has (the first one is "the PC")."""

    pki: trustme.CA
    port: int = 0  # its TCP server, and its UDP endpoint on the same port number
    other_udp_port: int = 0
    tls_port: int = 0
    peers: list[Peer] = field(default_factory=list)
    streams: list[asyncio.StreamWriter] = field(default_factory=list)
    closers: list[Callable[[], object]] = field(default_factory=list)

    def net(self) -> NetConfig:
        return NetConfig.from_table(
            {
                "hosts": NTP_HOSTS,
                "routes": {
                    f"{PC}:8080": f"127.0.0.1:{self.port}",
                    f"{SOFTAP_PC}:8080": f"127.0.0.1:{self.port}",
                    f"{PC}:8070": f"127.0.0.1:{self.tls_port}",
                    f"{OTHER_PC}:1000": f"127.0.0.1:{self.other_udp_port}",
                    **{f"{ip}:123": f"127.0.0.1:{self.ntp.port}" for ip in NTP_HOSTS.values()},
                },
            }
        )

    ntp: NtpServer = field(default_factory=lambda: NtpServer(0))

    async def got(self, data: bytes) -> None:
        """Wait until one of the PC's peers has received ``data``."""
        for _ in range(IO_STEPS):
            if any(data in peer.received for peer in self.peers):
                return
            await asyncio.sleep(0.001)
        raise AssertionError(f"no peer of the PC got {data!r}")

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = Peer(send=writer.write)
        self.peers.append(peer)
        self.streams.append(writer)
        with contextlib.suppress(ConnectionError, ssl.SSLError):
            while data := await reader.read(65536):
                peer.received.extend(data)
        writer.close()

    async def connect(self, module: Module, context: ssl.SSLContext | None) -> None:
        """A client of the module's server, as ``openssl s_client`` or ``nc``."""
        address = module.servers.address
        assert address is not None
        reader, writer = await asyncio.open_connection(
            *address, ssl=context, server_hostname="" if context else None
        )
        task = asyncio.create_task(self.serve(reader, writer))
        self.closers.append(task.cancel)


class _Udp(asyncio.DatagramProtocol):
    """A UDP endpoint of the PC: a peer once the module has sent it something."""

    def __init__(self, pc: Pc) -> None:
        self.pc = pc
        self.peer: Peer | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if self.peer is None:
            self.peer = Peer(send=lambda out: self.transport.sendto(out, addr))
            self.pc.peers.append(self.peer)
        self.peer.received.extend(data)


def _context(
    ca: trustme.CA, leaf: trustme.LeafCert, *, server: bool, verify: bool
) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER if server else ssl.PROTOCOL_TLS_CLIENT)
    leaf.configure_cert(context)
    if not server:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if verify:
        ca.configure_trust(context)
        context.verify_mode = ssl.CERT_REQUIRED
    return context


@contextlib.asynccontextmanager
async def pc(ca: trustme.CA, *, client_auth: bool) -> AsyncIterator[Pc]:
    """The PC: a TCP server and a UDP endpoint on one port number, a second UDP endpoint
    ("any other UDP terminal"), an SSL server (``openssl s_server``, asking for a client
    certificate with ``-Verify``) and an SNTP server."""
    loop = asyncio.get_running_loop()
    async with ntp_server() as ntp:
        record = Pc(ca, ntp=ntp)
        for _ in range(20):  # a free port number for both TCP and UDP
            tcp = await asyncio.start_server(record.serve, "127.0.0.1", 0)
            record.port = tcp.sockets[0].getsockname()[1]
            try:
                udp, _ = await loop.create_datagram_endpoint(
                    lambda: _Udp(record), local_addr=("127.0.0.1", record.port)
                )
                break
            except OSError:
                tcp.close()
                await tcp.wait_closed()
        other, _ = await loop.create_datagram_endpoint(
            lambda: _Udp(record), local_addr=("127.0.0.1", 0)
        )
        record.other_udp_port = other.get_extra_info("sockname")[1]
        server_cert = ca.issue_cert(PC)
        context = _context(ca, server_cert, server=True, verify=client_auth)
        tls = await asyncio.start_server(record.serve, "127.0.0.1", 0, ssl=context)
        record.tls_port = tls.sockets[0].getsockname()[1]
        try:
            yield record
        finally:
            for close in record.closers:
                close()
            for writer in record.streams:
                writer.close()
            for server in (tcp, tls):
                server.close()
                await server.wait_closed()
            udp.close()
            other.close()


# -- the steps --------------------------------------------------------------------------
def _quoted(text: str) -> str:
    match = re.search(r"``([^`]+)``", text)
    assert match is not None, text
    return match.group(1)


def _lines(out: bytes) -> list[str]:
    return [x.decode("utf-8", "replace") for x in out.split(b"\r\n") if x]


def _compare(title: str, command: str, out: bytes, shown: list[str]) -> None:
    expected = [KNOWN.get((title, x), x) for x in shown if x != command]  # not its echo
    got = _lines(out)
    if command == "AT+CIPSNTPTIME?":  # the SNTP server's time, to the minute
        assert [x[:-8] for x in got] == [x[:-8] for x in expected], (command, got, expected)
    else:
        assert got == expected, (command, got, expected)


def _sntp_time(walkthrough: rst.Walkthrough) -> float | None:
    """When a walkthrough shows an SNTP time, the UTC moment it is (its AT+CIPSNTPCFG
    gives the time zone)."""
    zone, shown = 0, None
    for item in walkthrough.items:
        for label, block in item.blocks:
            if label == "Command:" and block[0].startswith("AT+CIPSNTPCFG="):
                zone = int(block[0].split(",")[1])
            if label == "Response:" and block[0].startswith("+CIPSNTPTIME:"):
                shown = datetime.strptime(block[0][13:], "%a %b %d %H:%M:%S %Y")
    if shown is None:
        return None
    return (shown - timedelta(hours=zone)).replace(tzinfo=UTC).timestamp()


@dataclass
class Walk:
    """A walkthrough in progress: the module, its AT port, the PC."""

    title: str
    module: Module
    at: AtHarness
    pc: Pc
    pki: Pki

    async def command(self, line: str, blocks: list[tuple[str, list[str]]]) -> None:
        shown = next((b for label, b in blocks if label == "Response:"), ["OK"])
        entered = next(((label, b) for label, b in blocks if label.startswith("Input")), None)
        if line == "AT+CIPSNTPTIME?":  # "Once the AT command output shows +TIME_UPDATED"
            await self.at.wait_for(b"+TIME_UPDATED\r\n")
        self.at.take()
        echo = line.encode() + b"\r\n"
        self.at.port.feed(echo)
        if shown[-1] == ">":
            out = await self.at.wait_for(b">", b"\r\nERROR\r\n")
            _compare(self.title, line, out[len(echo) :], shown)
            if line == "AT+CIPSEND":  # passthrough: "send data"
                self.at.port.feed(b"test")
                await self.pc.got(b"test")
                return
            assert entered is not None, line
            label, after = entered
            data = _quoted(label).encode()
            self.at.port.feed(data)
            out = await self.at.wait_for(b"SEND OK\r\n", b"SEND FAIL\r\n", b"ERROR\r\n")
            _compare(self.title, line, out, after)
            await self.pc.got(data)
            return
        out = await self.at.wait_for(b"\r\nOK\r\n", b"\r\nERROR\r\n")
        assert out.startswith(echo), out
        _compare(self.title, line, out[len(echo) :], shown)

    async def pc_sends(self, data: bytes, shown: list[str]) -> None:
        self.at.take()
        self.pc.peers[0].send(data)
        expected = [KNOWN.get((self.title, x), x) for x in shown]
        out = await self.at.wait_for("\r\n".join(expected).encode())
        assert _lines(out) == expected, (out, expected)

    async def client_connects(self, tls: bool, cert: bool, shown: list[str]) -> None:
        context = None
        if tls:
            context = _context(self.pki.ca, self.pki.client, server=False, verify=cert)
            if not cert:
                context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
        self.at.take()
        await self.pc.connect(self.module, context)
        expected = [KNOWN.get((self.title, x), x) for x in shown] or ["0,CONNECT"]
        out = await self.at.wait_for(expected[-1].encode() + b"\r\n")
        assert _lines(out) == expected, (out, expected)

    async def leave_passthrough(self) -> None:
        """``+++`` alone, with a silence before and after it."""
        self.at.take()
        await self.module.clock.sleep(GUARD)
        self.at.port.feed(b"+++")
        for _ in range(IO_STEPS):
            if not self.module.passthrough.active:
                break
            await asyncio.sleep(0.001)
        assert not self.module.passthrough.active
        assert self.at.take() == b""  # +++ answers nothing

    async def step(self, item: rst.Item) -> None:
        commands = [b[0] for label, b in item.blocks if label == "Command:"]
        if commands and commands[0].startswith("AT"):
            await self.command(commands[0], item.blocks)
        elif commands and commands[0].startswith("openssl s_server"):
            pass  # the PC's SSL server runs (its output, and the ESP32's, come later)
        elif commands and commands[0].startswith("openssl s_client"):
            shown = next(b for label, b in item.blocks if label.startswith("Response on"))
            await self.client_connects(True, "-cert" in commands[0], shown)
        elif "create a TCP client and connect" in item.text:
            shown = next((b for label, b in item.blocks if "Response" in label), [])
            await self.client_connects(False, False, shown)
        elif item.blocks and item.blocks[0][0].startswith("Assume that"):
            label, shown = item.blocks[0]
            await self.pc_sends(_quoted(label).encode(), shown)
        elif match := re.search(r"sends \d+ bytes of data \(data is ``(\w+)``\)", item.text):
            await self.pc_sends(match.group(1).encode(), [_quoted(item.text.split("replies")[1])])
        elif item.text.startswith("Stop sending data"):
            await self.leave_passthrough()
        else:
            assert item.text.startswith(NOTHING_TO_DO), item.text


@dataclass
class Pki:
    ca: trustme.CA
    module_server: trustme.LeafCert
    module_client: trustme.LeafCert
    client: trustme.LeafCert


@pytest.fixture(scope="module")
def pki() -> Pki:
    """One CA for everything, as ESP-AT's default certificates come from one."""
    ca = trustme.CA()
    return Pki(ca, ca.issue_cert("192.168.3.112"), ca.issue_cert("esp32"), ca.issue_cert("pc"))


def _id(walkthrough: rst.Walkthrough) -> str:
    return walkthrough.title


@pytest.mark.parametrize("walkthrough", walkthroughs(), ids=_id)
async def test_every_walkthrough_answers_as_the_manual_says(
    walkthrough: rst.Walkthrough, pki: Pki
) -> None:
    for word, reason in NOT_HERE.items():
        if word in walkthrough.title:
            pytest.skip(reason)
    text = " ".join(" ".join(b) for item in walkthrough.items for _, b in item.blocks)
    passthrough = "AT+CIPMODE=1" in text
    async with pc(pki.ca, client_auth="-Verify" in text) as world:
        moment = _sntp_time(walkthrough)
        if moment is not None:
            world.ntp.unix_time = moment
        scenario = replace(parse_scenario(WORLD, "walkthroughs.toml"), net=world.net())
        module, at = await start_module(
            scenario, with_flash=True, time_scale=SCALE if passthrough else 0
        )
        module.servers.expose("127.0.0.1", lambda port: 0, None)
        install(
            module,
            client_ca=[pki.ca.cert_pem.bytes()],
            client_cert=[pki.module_client.cert_chain_pems[0].bytes()],
            client_key=[pki.module_client.private_key_pem.bytes()],
            server_ca=[pki.ca.cert_pem.bytes()],
            server_cert=[pki.module_server.cert_chain_pems[0].bytes()],
            server_key=[pki.module_server.private_key_pem.bytes()],
        )
        walk = Walk(walkthrough.title, module, at, world, pki)
        try:
            for item in walkthrough.items:
                await walk.step(item)
        finally:
            await module.close()
    await assert_no_tasks_left()


def test_every_step_is_understood() -> None:
    """Each walkthrough has steps, and each step is one the walk knows how to play."""
    found = walkthroughs()
    assert len(found) >= 10
    for walkthrough in found:
        assert walkthrough.items, walkthrough.title
        if any(word in walkthrough.title for word in NOT_HERE):
            continue
        for item in walkthrough.items:
            commands = [b[0] for label, b in item.blocks if label == "Command:"]
            known = (
                bool(commands)
                or "create a TCP client and connect" in item.text
                or (item.blocks and item.blocks[0][0].startswith("Assume that"))
                or " sends " in item.text
                or item.text.startswith(("Stop sending data", *NOTHING_TO_DO))
            )
            assert known, (walkthrough.title, item.text)
