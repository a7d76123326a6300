"""AT+PING: one ICMP echo to a host given by address or name.

A routed destination (any route for its address, or the bridge) and the station's
gateway answer after the joined AP's latency both ways: ``+PING:<ms>``. A name that does
not resolve answers ``+PING:TIMEOUT`` at once; a destination nothing answers, after
:data:`PING_TIMEOUT` seconds of the module's clock. The module is built without IPv6, so
an IPv6 literal is a name that does not resolve.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..at.errors import AtError, exec_fail
from ..at.table import Args, Command, StrParam
from ..radio.network import Pinger

if TYPE_CHECKING:
    from ..device.module import Module

PING_TIMEOUT = 1.0  # seconds one echo request waits (ESP-IDF's ping default)
HOST_MAX = 64


def _timeout() -> AtError:
    return AtError(exec_fail().sub, lines=("+PING:TIMEOUT",), reason="no answer")


async def _ping(module: Module, args: Args) -> list[str]:
    network = module.links.network
    if not isinstance(network, Pinger):
        raise exec_fail(reason="this radio carries no data")
    name = args.octets(0).decode("utf-8", "replace")
    station = module.wifi.station_ip()
    ip = await network.resolve(name) if station is not None else None
    if station is None or ip is None:
        raise _timeout()
    rtt = await network.ping(ip, PING_TIMEOUT, local=ip == station.gateway)
    if rtt is None:
        module.emit("net.ping", host=ip, answered=False)
        raise _timeout()
    module.emit("net.ping", host=ip, answered=True, ms=round(rtt * 1000))
    return [f"+PING:{round(rtt * 1000)}"]


COMMANDS: list[Command[Module]] = [
    Command("AT+PING", set=_ping, params=(StrParam("host", HOST_MAX, min_len=1),)),
]
