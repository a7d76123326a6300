"""Every query of the TCP/IP chapter answers in the form its command section documents
(``**Response:**`` of its query command), field for field: a field written ``<"name">``
quoted, one written ``<name>`` bare, optional parts as the brackets say. Each query runs
on a module with something to report: in multiple connections mode with a TCP, a UDP and
an SSL link, a server with a client, passive receive on a link that holds data, the SSL
client settings, SNTP and DNS set; and in single connection mode with one link."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest
import trustme

from esp_at_sim.scenario import parse_scenario
from esp_at_sim.testing import AtHarness, assert_no_tasks_left, start_module
from tls.conftest import Pki

from . import rst
from .test_tcpip_examples import JOIN, LAN_SERVER, NOT_HERE, WORLD, answer, remotes

pytestmark = pytest.mark.skipif(
    not rst.available(rst.TCPIP), reason=f"the ESP-AT manual's .rst files are not in {rst.MANUAL}"
)

MUX = [
    "AT+CIPMUX=1",
    'AT+CIPSSLCSNI=2,"iot.espressif.cn"',
    'AT+CIPSSLCCN=2,"iot.espressif.cn"',
    'AT+CIPSSLCALPN=2,2,"h2","http/1.1"',
    'AT+CIPSSLCPSK=4,"psk","hint"',
    "AT+CIPSSLCCIPHER=2,1,0xC02B",  # ECDHE-ECDSA-AES128-GCM-SHA256
    "AT+CIPRECVTYPE=0,1",
    f'AT+CIPSTART=0,"TCP","{LAN_SERVER}",1000',
    f'AT+CIPSTART=1,"UDP","{LAN_SERVER}",2500,1002,2',
    'AT+CIPSTART=2,"SSL","iot.espressif.cn",8443',
    "AT+CIPSERVERMAXCONN=2",
    "AT+CIPSERVER=1,80",
    "AT+CIPCONNPERSIST=0,1",
    "AT+CIPTCPOPT=0,5,1,5000,60",
    'AT+CIPDNS=1,"208.67.222.222","114.114.114.114"',
    "AT+CIPDINFO=1",
    'AT+CIPSNTPCFG=1,8,"cn.ntp.org.cn","ntp.sjtu.edu.cn"',  # last: +TIME_UPDATED follows
]
SINGLE = [
    'AT+CIPSSLCSNI="iot.espressif.cn"',
    'AT+CIPSSLCCN="iot.espressif.cn"',
    'AT+CIPSSLCALPN=1,"h2"',
    'AT+CIPSSLCPSK="psk","hint"',
    f'AT+CIPSTART="TCP","{LAN_SERVER}",1000',
    "AT+CIPRECVTYPE=1",
    'AT+CIPSNTPCFG=1,-5,"cn.ntp.org.cn"',
]


def queries() -> list[tuple[str, list[list[str]]]]:
    """Each query command of the chapter with its documented alternatives."""
    if not rst.available(rst.TCPIP):
        return []
    return [
        (command, alternatives)
        for (command, form), alternatives in rst.responses(rst.TCPIP).items()
        if form == "query" and command not in NOT_HERE
    ]


def conforms(out: bytes, alternatives: list[list[str]]) -> bool:
    lines = [x.decode("utf-8", "replace") for x in out.split(b"\r\n")[:-3] if x]
    for alt in alternatives:
        templates = [rst.template(x) for x in alt if x != "OK"]
        if not templates and not lines:
            return True
        if len(templates) == 1 and lines and all(templates[0].fullmatch(x) for x in lines):
            return True  # a line per link, per suite, ...
        if len(templates) == len(lines) and all(
            t.fullmatch(x) for t, x in zip(templates, lines, strict=True)
        ):
            return True
    return False


@pytest.fixture(scope="module")
def pki() -> Pki:
    ca = trustme.CA()
    leaf = ca.issue_cert("iot.espressif.cn")
    return Pki(ca=ca, other_ca=ca, server=leaf, client=leaf)


@pytest.mark.parametrize("mux", [1, 0])
async def test_every_query_answers_in_its_documented_form(mux: int, pki: Pki) -> None:
    found = queries()
    assert len(found) >= 20
    async with remotes(pki) as world:
        scenario = replace(parse_scenario(WORLD, "tcpip-queries.toml"), net=world.net("TCP"))
        module, at = await start_module(scenario)
        module.servers.expose("127.0.0.1", lambda port: 0, None)
        client: asyncio.StreamWriter | None = None
        try:
            for line in JOIN + (MUX if mux else SINGLE):
                assert (await answer(at, line)).endswith(b"\r\nOK\r\n"), line
            await at.wait_for(b"+TIME_UPDATED\r\n")
            if mux:
                address = module.servers.address
                assert address is not None
                _, client = await asyncio.open_connection(*address)
                await at.wait_for(b"3,CONNECT\r\n")
            await _remote_sends(at, world.peers, b"+IPD,0,5\r\n" if mux else b"+IPD,5\r\n")
            for command, alternatives in found:
                at.take()
                out = await answer(at, command + "?")
                assert out.endswith(b"\r\nOK\r\n"), (command, out)
                assert conforms(out, alternatives), (command, out, alternatives)
        finally:
            if client is not None:
                client.close()
            await module.close()
    await assert_no_tasks_left()


async def _remote_sends(at: AtHarness, peers: list[asyncio.StreamWriter], notice: bytes) -> None:
    """The TCP link's remote sends 5 bytes; the link is passive, so they wait."""
    for _ in range(1000):
        if peers:
            break
        await asyncio.sleep(0.001)
    peers[0].write(b"hello")
    await at.wait_for(notice)
