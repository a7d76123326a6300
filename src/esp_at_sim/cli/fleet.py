"""``esp-at-sim fleet``: many independent modules in one process, each brought up as
``run`` brings up one (:mod:`.bringup`), on ports counted up from a base."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import resource
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING

from ..transport import TransportError, open_transport
from . import run_options
from .bringup import (
    bring_up,
    check_radio,
    control_token,
    handle_signals,
    install_services,
    make_module,
    scenario_option,
    script_option,
    start_control,
    with_routes,
)
from .common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, Failure, Subcommands, error, report, run_loop
from .script import Announcer

if TYPE_CHECKING:
    from ..device.module import Module
    from ..radio.registry import RadioFactory
    from ..scenario import Scenario
    from ..transport import Transport
    from ..web.control import FleetControlServer

MAX_COUNT = 10_000
FLEET_EPILOG = """\
Module i (from 0) listens for AT on BASE+i (--at tcp:[HOST:]BASE; BASE 0 or no --at:
each module on any free port) and serves device port DEV on host port BASE+i for each
--port-map DEV=BASE (a device port without one takes any free port). Its MAC addresses
are the scenario's plus 4*i (an ESP32 numbers four addresses from its base MAC: station,
SoftAP, Bluetooth, Ethernet), so no two modules share one. With --flash-dir DIR its flash
is DIR/module-<i>.flash (created on first use), else a flash in memory.

Each module prints "Module <i>: AT port: tcp://HOST:PORT" on standard output once it
answers (after boot and --script, which runs in every module) and "Module <i>: Web
server: URL" when its web server starts; script transcripts are printed with the same
"Module <i>: " prefix. A module that fails (a bad flash file, a failing script line, a
port in use) is reported on standard error with its index; the others go on.

Exit status: 0 after SIGINT/SIGTERM when every module came up, 1 when some module
failed (at once when all did), 2 for bad arguments or a bad scenario.
"""


def add_parser(sub: Subcommands) -> None:
    """Register ``fleet`` on the subcommand set ``sub``."""
    fleet = sub.add_parser(
        "fleet",
        help="run many simulated modules in one process",
        description="Run N independent simulated modules in one process.",
        epilog=FLEET_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    fleet.add_argument("--count", type=_count, required=True, metavar="N", help="how many modules")
    fleet.add_argument("--scenario", metavar="FILE", help="the radio world (TOML); default: home")
    fleet.add_argument("--radio", default="sim", metavar="NAME", help="the radio backend")
    fleet.add_argument(
        "--at",
        type=_at_base,
        default=(None, 0),
        metavar="tcp:[HOST:]BASE",
        help="module i's AT port is TCP port BASE+i (default: any free port each)",
    )
    fleet.add_argument(
        "--port-map",
        metavar="DEV=BASE",
        action="append",
        default=[],
        type=run_options.port_map,
        help="module i serves device port DEV on host port BASE+i (repeatable; BASE 0: "
        "any free port)",
    )
    fleet.add_argument(
        "--route",
        metavar="ADDR[:PORT]=HOST[:PORT]",
        action="append",
        default=[],
        type=run_options.route,
        help="connections from a module to ADDR[:PORT] go to HOST[:PORT] on this machine",
    )
    fleet.add_argument(
        "--net-bridge", action="store_true", help="let modules reach destinations without a route"
    )
    fleet.add_argument(
        "--host", default="127.0.0.1", metavar="ADDR", help="address services bind to"
    )
    fleet.add_argument(
        "--flash-dir", metavar="DIR", help="keep module i's flash in DIR/module-<i>.flash"
    )
    fleet.add_argument(
        "--module", metavar="esp32|esp32c3|DIR", default="esp32", help="the partition layout"
    )
    fleet.add_argument(
        "--time-scale",
        type=run_options.time_scale,
        default=1.0,
        metavar="F",
        help="multiply every simulated delay by F (0: immediate; default 1)",
    )
    fleet.add_argument("--script", metavar="FILE", help="AT lines every module runs at start")
    fleet.add_argument(
        "--no-captive-portal", action="store_true", help="no captive-portal DNS or redirects"
    )
    fleet.add_argument(
        "--control",
        metavar="[HOST:]PORT",
        type=run_options.control_spec,
        help="serve the control API and the inspector of every module (/modules/<i>/...)",
    )
    fleet.add_argument(
        "--control-token",
        type=run_options.control_token,
        metavar="TOKEN",
        help="the token the control API asks for (default: $ESP_AT_SIM_CONTROL_TOKEN, "
        "else a random one)",
    )
    fleet.set_defaults(
        func=cmd_fleet, compat_echo_password=False, strict_httpd=False, http_max_connections=None
    )


def _count(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= MAX_COUNT:
        raise argparse.ArgumentTypeError(f"must be a whole number 1..{MAX_COUNT}")
    return int(text)


def _at_base(text: str) -> tuple[str | None, int]:
    kind, sep, rest = text.partition(":")
    if kind != "tcp" or not sep:
        raise argparse.ArgumentTypeError(f"a fleet's AT ports are tcp:[HOST:]BASE, got {text!r}")
    return run_options.control_spec(rest)


def cmd_fleet(args: argparse.Namespace) -> int:
    try:
        return run_loop(_fleet(args), time_scale_zero=args.time_scale == 0)
    except KeyboardInterrupt:  # a second Ctrl-C during shutdown
        return EXIT_OK
    except Failure as exc:
        return report(exc, "fleet")


class _Prefixed(io.StringIO):
    """A text stream that writes each complete line to ``out`` behind ``prefix``."""

    def __init__(self, out: IO[str], prefix: str) -> None:
        super().__init__()
        self._out = out
        self._prefix = prefix
        self._partial = ""

    def write(self, text: str) -> int:
        *lines, self._partial = (self._partial + text).split("\n")
        for line in lines:  # a blank line gets the prefix without its trailing space
            self._out.write(f"{self._prefix}{line}\n" if line else f"{self._prefix.rstrip()}\n")
        return len(text)

    def flush(self) -> None:
        self._out.flush()


def _ports(base: int, count: int, what: str) -> list[int]:
    """Host ports ``base``, ``base``+1, ... (all 0: any free port each)."""
    if base == 0:
        return [0] * count
    if base + count - 1 > 65535:
        raise Failure(f"{what}: ports {base}..{base + count - 1} go past 65535", EXIT_USAGE)
    return [base + i for i in range(count)]


def _members(scenario: Scenario | None, count: int) -> list[Scenario]:
    """Each module's scenario; no MAC address used twice."""
    from ..factory import fleet_member

    try:
        members = [fleet_member(scenario, i) for i in range(count)]
    except ValueError as exc:
        raise Failure(f"cannot number {count} modules' MAC addresses: {exc}", EXIT_USAGE) from None
    seen: dict[str, int] = {}
    for index, member in enumerate(members):
        for mac in (member.module.sta_mac, member.module.ap_mac):
            if mac in seen:
                raise Failure(
                    f"modules {seen[mac]} and {index} would share the MAC address {mac}: "
                    "give the scenario an ap_mac that differs from sta_mac by 1..3",
                    EXIT_USAGE,
                )
            seen[mac] = index
    return members


def _raise_file_limit(count: int) -> None:
    """Each module holds a few sockets: let the process open as many as it may."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < 8 * count + 64:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class _Fleet:
    """The modules of one ``fleet`` run and what each failed of."""

    def __init__(self, args: argparse.Namespace, stop: asyncio.Event, radio: RadioFactory) -> None:
        self.args = args
        self.stop = stop
        self.radio = radio
        self.failed: dict[int, str] = {}
        self.control: FleetControlServer | None = None
        # what to close at the end, first made last closed (one exit-stack entry for all:
        # a thousand entries of their own cost a kilobyte a module)
        self.modules: list[Module] = []
        self.transports: list[Transport] = []

    def fail(self, index: int, reason: str) -> None:
        self.failed[index] = reason
        error(f"module {index}: {reason}", "fleet")
        if self.control is not None:
            self.control.failed(index, reason)

    def make(self, index: int, member: Scenario, announce: Announcer) -> Module | None:
        args = self.args
        flash = Path(args.flash_dir) / f"module-{index}.flash" if args.flash_dir else None
        try:
            module = make_module(args, member, None, flash, self.radio)
        except Failure as exc:
            self.fail(index, str(exc))
            return None
        self.modules.append(module)
        port_map = {dev: base + index if base else 0 for dev, base in args.port_map}
        install_services(module, args, announce, port_map=port_map, free_ports=True)
        return module

    async def bring_up(
        self,
        index: int,
        module: Module,
        transport: Transport,
        script: list[str],
        announce: Announcer,
    ) -> None:
        try:
            if await bring_up(module, transport, script, announce, self.stop):
                announce(transport.describe())
        except (Failure, TransportError) as exc:
            self.fail(index, str(exc))


async def _close_each(things: Sequence[Module | Transport]) -> None:
    """Close every one of ``things``, the last first, as an exit stack would close them
    one entry each: every one is closed, and the first failure is raised at the end."""
    failure: BaseException | None = None
    for thing in reversed(things):
        try:
            await thing.close()
        except BaseException as exc:  # raised once the rest are closed
            failure = failure or exc
    if failure is not None:
        raise failure


async def _fleet(args: argparse.Namespace) -> int:
    count = args.count
    scenario = with_routes(scenario_option(args.scenario), args.route, args.net_bridge)
    radio = check_radio(args.radio)
    members = _members(scenario, count)
    at_host, at_base = args.at
    at_ports = _ports(at_base, count, "--at")
    for dev, base in args.port_map:
        _ports(base, count, f"--port-map {dev}={base}")
    script = script_option(args.script)
    if args.flash_dir:
        try:
            Path(args.flash_dir).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            reason = exc.strerror or exc
            raise Failure(f"--flash-dir {args.flash_dir}: {reason}", EXIT_USAGE) from None
    if args.control is not None:
        args.control_token = control_token(args.control_token)
    _raise_file_limit(count)
    host = at_host or args.host
    async with contextlib.AsyncExitStack() as stack:
        stop = asyncio.Event()
        handle_signals(stack, stop)
        fleet = _Fleet(args, stop, radio)
        announcers = [Announcer(_Prefixed(sys.stdout, f"Module {i}: ")) for i in range(count)]
        stack.push_async_callback(_close_each, fleet.modules)
        modules = [fleet.make(i, members[i], announcers[i]) for i in range(count)]
        if all(module is None for module in modules):
            return EXIT_FAILED
        if args.control is not None:
            from ..web.control import FleetControlServer

            fleet.control = FleetControlServer(modules, args.control_token)
            for index, reason in fleet.failed.items():
                fleet.control.failed(index, reason)
            stack.push_async_callback(fleet.control.close)
            print(f"Control: {await start_control(fleet.control, args.control)}", flush=True)
        starts = []
        stack.push_async_callback(_close_each, fleet.transports)
        for index, module in enumerate(modules):
            if module is None:
                continue
            transport = open_transport(f"tcp:{host}:{at_ports[index]}")
            fleet.transports.append(transport)
            starts.append(fleet.bring_up(index, module, transport, script, announcers[index]))
        await asyncio.gather(*starts)
        if len(fleet.failed) < count and not stop.is_set():
            await stop.wait()
    return EXIT_FAILED if fleet.failed else EXIT_OK
