"""What ``run`` and ``fleet`` share to bring a module up: the scenario, radio, script
and control-token options read and checked, a module made with its web server and
AT+CIPSERVER listeners, and the boot sequence that ends with its AT port answering."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import run_options
from .common import EXIT_FAILED, EXIT_USAGE, Failure
from .script import run_script

if TYPE_CHECKING:
    from ..device.module import Module
    from ..radio.registry import RadioFactory
    from ..scenario import Scenario
    from ..transport import Transport
    from ..web.config import HttpLimits
    from ..web.control import ControlServer
    from .script import Announcer

LOOPBACK = "127.0.0.1"  # where the control API listens unless told otherwise


def scenario_option(path: str | None) -> Scenario | None:
    """The ``--scenario`` file read; ``None`` (the built-in one) without it."""
    from ..scenario import ScenarioError, load_scenario

    if not path:
        return None
    try:
        return load_scenario(path)
    except ScenarioError as exc:
        raise Failure(str(exc), EXIT_USAGE) from None
    except OSError as exc:
        raise Failure(f"cannot read scenario {path}: {exc.strerror or exc}", EXIT_USAGE) from None


def with_routes(
    scenario: Scenario | None, routes: list[tuple[str, str]], bridge: bool
) -> Scenario | None:
    """The scenario with ``--route`` and ``--net-bridge`` added to its ``[net]``."""
    from ..scenario import default_scenario

    if not routes and not bridge:
        return scenario
    base = scenario if scenario is not None else default_scenario()
    return replace(base, net=base.net.with_routes(dict(routes), bridge))


def check_radio(name: str) -> RadioFactory:
    """The backend ``--radio`` names, loaded."""
    from ..radio.registry import RadioBackendError, load_backend

    try:
        return load_backend(name)
    except RadioBackendError as exc:
        raise Failure(str(exc), EXIT_USAGE) from None


def script_option(path: str | None) -> list[str]:
    """The ``--script`` file's lines (none without it)."""
    if not path:
        return []
    try:
        return Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise Failure(f"cannot read script {path}: {exc}", EXIT_USAGE) from None


def handle_signals(stack: contextlib.AsyncExitStack, stop: asyncio.Event) -> None:
    """SIGINT and SIGTERM set ``stop`` until ``stack`` closes."""
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
        stack.callback(loop.remove_signal_handler, signum)


def make_module(
    args: argparse.Namespace,
    scenario: Scenario | None,
    baud: int | None,
    flash: str | os.PathLike[str] | None,
    radio: RadioFactory | None = None,
) -> Module:
    """A module as the options say, its flash in the file ``flash`` (None: in memory);
    ``radio``: the backend ``--radio`` names, already loaded."""
    from ..factory import create_module
    from ..flash.errors import FlashError
    from ..radio.registry import RadioBackendError

    try:
        return create_module(
            scenario,
            time_scale=args.time_scale,
            baud=baud,
            flash=flash,
            layout=args.module,
            radio=args.radio,
            radio_factory=radio,
        )
    except RadioBackendError as exc:
        raise Failure(str(exc), EXIT_USAGE) from None
    except FlashError as exc:
        raise Failure(f"cannot use the flash file: {exc.reason}", EXIT_USAGE) from None
    except OSError as exc:
        raise Failure(
            f"cannot use the flash file {flash}: {exc.strerror or exc}", EXIT_USAGE
        ) from None


def install_services(
    module: Module,
    args: argparse.Namespace,
    announce: Callable[[str], None],
    *,
    port_map: Mapping[int, int],
    web_root: Path | None = None,
    free_ports: bool = False,
) -> None:
    """The module's web server (for AT+WEBSERVER) and its AT+CIPSERVER listeners, on
    ``args.host`` by ``port_map`` (``free_ports``: a port not in it takes any free one)."""
    from ..web import WebConfig, install_web

    config = WebConfig(
        host=args.host,
        port_map=dict(port_map),
        captive_portal=not args.no_captive_portal,
        compat_echo_password=args.compat_echo_password,
        web_root=web_root,
        limits=http_limits(args.http_max_connections),
        strict_httpd=args.strict_httpd,
        announce=announce,
        free_ports=free_ports,
    )
    install_web(module, config)
    module.servers.expose(args.host, config.host_port, announce)


def http_limits(max_connections: int | None) -> HttpLimits:
    """The HTTP server's limits, with ``--http-max-connections`` when given."""
    from ..web.config import HttpLimits

    return HttpLimits() if max_connections is None else HttpLimits(max_connections=max_connections)


def control_token(given: str | None) -> str:
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


async def start_control(control: ControlServer, where: tuple[str | None, int]) -> str:
    """Start ``control`` on ``--control``'s ``[HOST:]PORT``; its URL with the token."""
    host, port = where
    try:
        return await control.start(host or LOOPBACK, port)
    except OSError as exc:
        raise Failure(
            f"cannot serve the control API on port {port}: {exc.strerror or exc}", EXIT_FAILED
        ) from None


async def bring_up(
    module: Module,
    transport: Transport,
    script: list[str],
    announce: Announcer,
    stop: asyncio.Event,
) -> bool:
    """Boot, run the script, open the AT port; ``False`` when ``stop`` came first.
    :class:`Failure` (exit 1) when nothing boots or a script line fails."""
    if script:
        if not await unless_stopped(module.start(), stop):
            return False
        if not await unless_stopped(run_script(module, script, announce.out, announce), stop):
            return False
        await transport.start(module)
    else:
        await transport.start(module)  # attached before boot: a listener sees "ready"
        if not await unless_stopped(module.start(), stop):
            return False
    return True


async def unless_stopped(aw: Awaitable[Any], stop: asyncio.Event) -> bool:
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
