"""The UDP report after a phone-hotspot success: datagrams, their pace and count, the
acknowledgement, where they go on the host, and the SSID case that sends nothing."""

from __future__ import annotations

import itertools
import socket

import pytest

from esp_at_sim.web import applet

from .conftest import MakeRig
from .rig import (
    HOTSPOT,
    HOTSPOT_PASSWORD,
    RESULT_TAKEN,
    SUCCESS_URCS,
    Listener,
    Rig,
    ack_at,
    listen,
    never,
    world,
)

REPORT = b"ip=192.168.43.120&port=3339"


async def hotspot_flow(rig: Rig, listener: Listener) -> bytes:
    """Run the phone-hotspot flow to its end; what the AT port printed."""
    assert await rig.post_credentials("", HOTSPOT_PASSWORD, listener.port) == (
        200,
        b'{"state": 0}',
    )
    await rig.flow_done()
    return await rig.at.settle()


async def test_acknowledged_at_once(make_rig: MakeRig) -> None:
    """One round: the broadcast copy and the gateway copy, from the module's report
    port; the applet's ``received`` ends it and URC 2 follows."""
    rig = await make_rig(world(HOTSPOT))
    listener = await listen(rig.module, ack_at(1))
    assert await hotspot_flow(rig, listener) == SUCCESS_URCS + RESULT_TAKEN
    assert [data for data, _, _ in listener.got] == [REPORT, REPORT]
    (report,) = rig.applet("report")
    assert report.data["to"] == [
        f"255.255.255.255:{listener.port}",
        f"192.168.43.1:{listener.port}",
    ]
    assert report.data["host"] == f"127.0.0.1:{listener.port}"
    sources = {addr for _, addr, _ in listener.got}
    assert sources == {("127.0.0.1", int(report.data["source"].rsplit(":", 1)[1]))}
    assert rig.applet("acknowledged")[0].data["round"] == 1
    assert (await rig.stainfo())["state"] == 1
    listener.close()


async def test_without_acknowledgement_twenty_rounds_500_ms_apart(make_rig: MakeRig) -> None:
    rig = await make_rig(world(HOTSPOT))
    listener = await listen(rig.module, never)
    assert await hotspot_flow(rig, listener) == SUCCESS_URCS  # no URC 2
    assert [data for data, _, _ in listener.got] == [REPORT] * 40
    rounds = [e.t for e in rig.applet("report")]
    assert len(rounds) == 20
    assert [round(b - a, 6) for a, b in itertools.pairwise(rounds)] == [0.5] * 19
    arrivals = [t for _, _, t in listener.got]
    assert arrivals[::2] == arrivals[1::2] == rounds  # both copies of a round together
    end = rig.applet("unacknowledged")[0]
    assert end.t - rounds[-1] == pytest.approx(0.5)
    info = await rig.stainfo()
    assert (info["state"], info["message"]) == (1, "connect OK")
    listener.close()


async def test_acknowledged_in_a_later_round(make_rig: MakeRig) -> None:
    rig = await make_rig(world(HOTSPOT))
    listener = await listen(rig.module, ack_at(9))  # the first copy of round 5
    assert await hotspot_flow(rig, listener) == SUCCESS_URCS + RESULT_TAKEN
    assert len(listener.got) == 10
    assert rig.applet("acknowledged")[0].data["round"] == 5
    listener.close()


@pytest.mark.parametrize(
    ("reply", "acknowledged"),
    [
        (b"received", True),
        (b"received\x00and more", True),  # read as a C string
        (b"Received", False),
        (b"received\n", False),
        (b"ok", False),
        (b"x" * 31 + b"received", False),
    ],
)
async def test_only_the_exact_word_acknowledges(
    make_rig: MakeRig, reply: bytes, acknowledged: bool
) -> None:
    rig = await make_rig(world(HOTSPOT))
    listener = await listen(rig.module, lambda count: reply if count == 1 else None)
    urcs = await hotspot_flow(rig, listener)
    assert urcs == SUCCESS_URCS + (RESULT_TAKEN if acknowledged else b"")
    assert len(listener.got) == (2 if acknowledged else 40)
    listener.close()


async def test_a_stray_datagram_cuts_that_round_short(make_rig: MakeRig) -> None:
    """As in the firmware, whatever arrives first ends the round's wait."""
    rig = await make_rig(world(HOTSPOT))
    listener = await listen(rig.module, lambda count: b"hello" if count == 1 else None)
    await hotspot_flow(rig, listener)
    first, second, *_ = (e.t for e in rig.applet("report"))
    assert second == first
    listener.close()


async def test_ssid_with_udp_port_is_the_browser_flow(make_rig: MakeRig) -> None:
    rig = await make_rig(world(HOTSPOT))
    listener = await listen(rig.module, ack_at(1))
    assert await rig.post_credentials("Pixel-Hotspot", HOTSPOT_PASSWORD, listener.port) == (
        200,
        b'{"state": 0}',
    )
    await rig.until(lambda e: e.kind == "web.provisioning" and e.data["state"] == "CONNECT_OK")
    # the report would have started at once: 20 simulated seconds give it room
    assert await rig.at.settle(20) == SUCCESS_URCS
    async with rig.session.post(rig.to("/getresult"), data={"received": "1"}) as response:
        assert response.status == 200
    assert await rig.at.settle() == RESULT_TAKEN
    assert listener.got == []
    assert rig.applet() == []
    listener.close()


async def test_report_port_taken_on_the_host(make_rig: MakeRig) -> None:
    """The host port that stands for the module's port 3339 is busy: no report, no URC
    2, the failure in the log; the connection itself stands."""
    blocker = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    blocker.bind(("127.0.0.1", 0))
    try:
        rig = await make_rig(world(HOTSPOT), report_port=blocker.getsockname()[1])
        listener = await listen(rig.module, ack_at(1))
        assert await hotspot_flow(rig, listener) == SUCCESS_URCS
        assert listener.got == []
        assert rig.applet("report_failed")
        assert (await rig.stainfo())["state"] == 1
        listener.close()
    finally:
        blocker.close()


@pytest.mark.parametrize(
    ("host", "stations", "phones", "expected"),
    [
        ("127.0.0.1", ["aa:00:00:00:00:01"], {"192.0.2.7": "aa:00:00:00:00:01"}, "192.0.2.7"),
        (
            "0.0.0.0",
            ["aa:00:00:00:00:01", "aa:00:00:00:00:02"],
            {"192.0.2.7": "aa:00:00:00:00:01", "192.0.2.8": "aa:00:00:00:00:02"},
            "192.0.2.8",
        ),
        ("0.0.0.0", ["aa:00:00:00:00:01"], {}, "127.0.0.1"),
        ("::", [], {}, "::1"),
        ("127.0.0.2", [], {"192.0.2.7": "aa:00:00:00:00:01"}, "127.0.0.2"),
    ],
)
def test_where_the_datagrams_go_on_the_host(
    host: str, stations: list[str], phones: dict[str, str], expected: str
) -> None:
    assert applet.phone_address(host, stations, phones) == expected


def test_rule_helpers() -> None:
    assert applet.matching_bytes("f2:11:22:33:44:55", "f6:11:22:33:44:55") == 5
    assert applet.matching_bytes("f2:11:22:33:44:55", "f6:11:22:33:44:56") == 4
    assert applet.virtual_bssid("00:02:00:00:00:00")
    assert not applet.virtual_bssid("02:00:00:00:00:00")  # the quirk: the first byte is ignored
    assert applet.is_ack(b"received") and not applet.is_ack(b"receive")
