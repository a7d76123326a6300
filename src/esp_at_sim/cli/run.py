"""``esp-at-sim run``: start one simulated module and serve its AT port, web server and
control API until told to stop (the options are in :mod:`.run_options`, the script
runner in :mod:`.script`, the event log in :mod:`.eventlog`)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Awaitable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..transport import SpecError, StdioTransport, Transport, TransportError, open_transport
from . import run_options
from .common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, Failure, Subcommands, report, run_loop
from .eventlog import EventLog
from .script import Announcer, run_script, wait_settled

LOOPBACK = "127.0.0.1"  # where the control API listens unless told otherwise

if TYPE_CHECKING:
    from ..device.module import Module
    from ..scenario import Scenario
    from ..web.config import HttpLimits


def add_parser(sub: Subcommands) -> None:
    """Register ``run`` on the subcommand set ``sub``."""
    run_options.add_parser(sub, cmd_run)


def cmd_run(args: argparse.Namespace) -> int:
    try:
        return run_loop(_run(args))
    except KeyboardInterrupt:  # a second Ctrl-C during shutdown
        return EXIT_OK
    except Failure as exc:
        return report(exc)


async def _run(args: argparse.Namespace) -> int:
    """Set everything up, each piece's cleanup on the stack as it is made; serve."""
    scenario = _with_routes(_scenario(args.scenario), args.route, args.net_bridge)
    _check_radio(args.radio)
    spec = args.at or ("stdio" if os.isatty(0) else "pty")
    try:
        transport = open_transport(spec, host=args.host, baud=args.baud)
    except SpecError as exc:
        raise Failure(str(exc), EXIT_USAGE) from None
    script = _script(args.script)
    if args.control is not None:
        args.control_token = _control_token(args.control_token)
    if args.events_max_bytes is not None and not args.events:
        raise Failure("--events-max-bytes needs --events FILE", EXIT_USAGE)
    web_root = Path(args.web_root) if args.web_root else None
    if web_root is not None and not (web_root / "index.html").is_file():
        raise Failure(f"--web-root {web_root}: no index.html there", EXIT_USAGE)
    announce = Announcer(sys.stderr if isinstance(transport, StdioTransport) else sys.stdout)
    async with contextlib.AsyncExitStack() as stack:
        stop = asyncio.Event()
        _handle_signals(stack, stop)
        if args.events:
            try:
                events = EventLog(args.events, max_bytes=args.events_max_bytes)
            except OSError as exc:
                raise Failure(
                    f"cannot write events to {args.events}: {exc.strerror or exc}", EXIT_USAGE
                ) from None
            stack.callback(events.close)
        baud = getattr(transport, "baud", None) if args.baud is None else args.baud
        module = _create_module(args, scenario, baud)
        stack.push_async_callback(module.close)
        if args.events:
            events.attach(module.bus)
        _install_web(module, args, web_root, announce)
        _expose_servers(module, args, announce)
        if args.control is not None:
            await _start_control(stack, module, args, announce)
        stack.push_async_callback(transport.close)
        try:
            code = await _serve(module, transport, script, announce, stop)
        except TransportError as exc:
            raise Failure(str(exc), EXIT_FAILED) from None
    return code


def _scenario(path: str | None) -> Scenario | None:
    from ..scenario import ScenarioError, load_scenario

    if not path:
        return None
    try:
        return load_scenario(path)
    except ScenarioError as exc:
        raise Failure(str(exc), EXIT_USAGE) from None
    except OSError as exc:
        raise Failure(f"cannot read scenario {path}: {exc.strerror or exc}", EXIT_USAGE) from None


def _with_routes(
    scenario: Scenario | None, routes: list[tuple[str, str]], bridge: bool
) -> Scenario | None:
    """The scenario with ``--route`` and ``--net-bridge`` added to its ``[net]``."""
    from ..scenario import default_scenario

    if not routes and not bridge:
        return scenario
    base = scenario if scenario is not None else default_scenario()
    return replace(base, net=base.net.with_routes(dict(routes), bridge))


def _check_radio(name: str) -> None:
    from ..radio.registry import RadioBackendError, load_backend

    try:
        load_backend(name)
    except RadioBackendError as exc:
        raise Failure(str(exc), EXIT_USAGE) from None


def _script(path: str | None) -> list[str]:
    if not path:
        return []
    try:
        return Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise Failure(f"cannot read script {path}: {exc}", EXIT_USAGE) from None


def _handle_signals(stack: contextlib.AsyncExitStack, stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
        stack.callback(loop.remove_signal_handler, signum)


def _create_module(args: argparse.Namespace, scenario: Scenario | None, baud: int | None) -> Module:
    from ..factory import create_module
    from ..flash.errors import FlashError
    from ..radio.registry import RadioBackendError

    try:
        return create_module(
            scenario,
            time_scale=args.time_scale,
            baud=baud,
            flash=args.flash,
            layout=args.module,
            radio=args.radio,
        )
    except RadioBackendError as exc:
        raise Failure(str(exc), EXIT_USAGE) from None
    except FlashError as exc:
        raise Failure(f"cannot use the flash file: {exc.reason}", EXIT_USAGE) from None
    except OSError as exc:
        raise Failure(
            f"cannot use the flash file {args.flash}: {exc.strerror or exc}", EXIT_USAGE
        ) from None


def _install_web(
    module: Module, args: argparse.Namespace, root: Path | None, announce: Announcer
) -> None:
    from ..web import WebConfig, install_web

    install_web(
        module,
        WebConfig(
            host=args.host,
            port_map=dict(args.port_map),
            captive_portal=not args.no_captive_portal,
            compat_echo_password=args.compat_echo_password,
            web_root=root,
            limits=_http_limits(args),
            strict_httpd=args.strict_httpd,
            announce=announce,
        ),
    )


def _expose_servers(module: Module, args: argparse.Namespace, announce: Announcer) -> None:
    """AT+CIPSERVER listens by the web server's port rule and says where."""
    from ..web import WebConfig

    rule = WebConfig(host=args.host, port_map=dict(args.port_map))
    module.servers.expose(args.host, rule.host_port, announce)


def _http_limits(args: argparse.Namespace) -> HttpLimits:
    from ..web.config import HttpLimits

    cap = args.http_max_connections
    return HttpLimits() if cap is None else HttpLimits(max_connections=cap)


async def _start_control(
    stack: contextlib.AsyncExitStack,
    module: Module,
    args: argparse.Namespace,
    announce: Announcer,
) -> None:
    from ..web.control import ControlServer

    control = ControlServer(module, args.control_token)
    stack.push_async_callback(control.close)
    host, port = args.control
    try:
        url = await control.start(host or LOOPBACK, port)
    except OSError as exc:
        raise Failure(
            f"cannot serve the control API on port {port}: {exc.strerror or exc}", EXIT_FAILED
        ) from None
    announce(f"Control: {url}")


def _control_token(given: str | None) -> str:
    """``--control-token``, else the environment's, else a new random one."""
    from ..client.control import TOKEN_ENV
    from ..web.control import new_token

    if given:
        return given
    from_env = os.environ.get(TOKEN_ENV)
    if not from_env:
        return new_token()
    try:
        return run_options.control_token(from_env)
    except argparse.ArgumentTypeError as exc:
        raise Failure(f"${TOKEN_ENV}: {exc}", EXIT_USAGE) from None


async def _serve(
    module: Module,
    transport: Transport,
    script: list[str],
    announce: Announcer,
    stop: asyncio.Event,
) -> int:
    """Boot, run the script, open the port, announce it, serve until told to stop."""
    if script:
        if not await _unless_stopped(module.start(), stop):
            return EXIT_OK
        outcome = asyncio.ensure_future(run_script(module, script, announce.out, announce))
        if not await _unless_stopped(outcome, stop):
            return EXIT_OK
        if not outcome.result():
            return EXIT_FAILED
        await transport.start(module)
    else:
        await transport.start(module)  # attached before boot: a listener sees "ready"
        if not await _unless_stopped(module.start(), stop):
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


async def _unless_stopped(aw: Awaitable[Any], stop: asyncio.Event) -> bool:
    """Await ``aw`` unless ``stop`` is set first (then cancel it); True when it finished."""
    task = asyncio.ensure_future(aw)
    stopper = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopper.cancel()
        if not task.done():
            task.cancel()
        await asyncio.gather(task, stopper, return_exceptions=True)
    if task.cancelled():
        return False
    task.result()  # re-raise a failure
    return True


async def _stdio_done(module: Module, transport: StdioTransport) -> None:
    await transport.eof.wait()
    await transport.bridge.drained()
    await wait_settled(module)
