"""``esp-at-sim run``: start one simulated module and serve its AT port, web server and
control API until told to stop (the options are in :mod:`.run_options`, the script
runner in :mod:`.script`, the event log in :mod:`.eventlog`)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..transport import SpecError, StdioTransport, Transport, TransportError, open_transport
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
from .common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, Failure, Subcommands, report, run_loop
from .eventlog import EventLog
from .script import Announcer, wait_settled

if TYPE_CHECKING:
    from ..device.module import Module


def add_parser(sub: Subcommands) -> None:
    """Register ``run`` on the subcommand set ``sub``."""
    run_options.add_parser(sub, cmd_run)


def cmd_run(args: argparse.Namespace) -> int:
    try:
        return run_loop(_run(args), time_scale_zero=args.time_scale == 0)
    except KeyboardInterrupt:  # a second Ctrl-C during shutdown
        return EXIT_OK
    except Failure as exc:
        return report(exc)


async def _run(args: argparse.Namespace) -> int:
    """Set everything up, each piece's cleanup on the stack as it is made; serve."""
    scenario = with_routes(scenario_option(args.scenario), args.route, args.net_bridge)
    check_radio(args.radio)
    spec = args.at or ("stdio" if os.isatty(0) else "pty")
    try:
        transport = open_transport(spec, host=args.host, baud=args.baud)
    except SpecError as exc:
        raise Failure(str(exc), EXIT_USAGE) from None
    script = script_option(args.script)
    if args.control is not None:
        args.control_token = control_token(args.control_token)
    if args.events_max_bytes is not None and not args.events:
        raise Failure("--events-max-bytes needs --events FILE", EXIT_USAGE)
    web_root = Path(args.web_root) if args.web_root else None
    if web_root is not None and not (web_root / "index.html").is_file():
        raise Failure(f"--web-root {web_root}: no index.html there", EXIT_USAGE)
    announce = Announcer(sys.stderr if isinstance(transport, StdioTransport) else sys.stdout)
    async with contextlib.AsyncExitStack() as stack:
        stop = asyncio.Event()
        handle_signals(stack, stop)
        if args.events:
            try:
                events = EventLog(args.events, max_bytes=args.events_max_bytes)
            except OSError as exc:
                raise Failure(
                    f"cannot write events to {args.events}: {exc.strerror or exc}", EXIT_USAGE
                ) from None
            stack.callback(events.close)
        baud = getattr(transport, "baud", None) if args.baud is None else args.baud
        module = make_module(args, scenario, baud, args.flash)
        stack.push_async_callback(module.close)
        if args.events:
            events.attach(module.bus)
        install_services(module, args, announce, port_map=args.port_map, web_root=web_root)
        if args.control is not None:
            await _start_control(stack, module, args, announce)
        stack.push_async_callback(transport.close)
        try:
            code = await _serve(module, transport, script, announce, stop)
        except TransportError as exc:
            raise Failure(str(exc), EXIT_FAILED) from None
    return code


async def _start_control(
    stack: contextlib.AsyncExitStack,
    module: Module,
    args: argparse.Namespace,
    announce: Announcer,
) -> None:
    from ..web.control import ControlServer

    control = ControlServer(module, args.control_token)
    stack.push_async_callback(control.close)
    announce(f"Control: {await start_control(control, args.control)}")


async def _serve(
    module: Module,
    transport: Transport,
    script: list[str],
    announce: Announcer,
    stop: asyncio.Event,
) -> int:
    """Boot, run the script, open the port, announce it, serve until told to stop."""
    if not await bring_up(module, transport, script, announce, stop):
        return EXIT_OK
    announce(transport.describe())
    waiters: list[asyncio.Future[Any]] = [asyncio.ensure_future(stop.wait())]
    if isinstance(transport, StdioTransport):
        waiters.append(asyncio.ensure_future(_stdio_done(module, transport)))
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
        await asyncio.gather(*waiters, return_exceptions=True)
    return EXIT_OK


async def _stdio_done(module: Module, transport: StdioTransport) -> None:
    await transport.eof.wait()
    await transport.bridge.drained()
    await wait_settled(module)
