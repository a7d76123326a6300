"""``esp-at-sim run``: start one simulated module and serve its AT port, web server and
control API until told to stop; the ``--script`` runner and the ``--events`` log."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sys
from collections.abc import Awaitable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from .at.engine import Mode
from .core.events import Event
from .device.redact import MASK, mask_output
from .transport import (
    SpecError,
    StdioTransport,
    Transport,
    TransportError,
    open_transport,
)

if TYPE_CHECKING:
    from .device.module import Module

EXIT_OK = 0
EXIT_FAILED = 1  # a script line answered ERROR, or the AT port could not be opened
EXIT_USAGE = 2  # bad arguments, a bad scenario or flash file


# --------------------------------------------------------------------------- run
def cmd_run(args: argparse.Namespace) -> int:
    try:
        return asyncio.run(_run(args))
    except KeyboardInterrupt:  # a second Ctrl-C during shutdown
        return EXIT_OK


def _error(message: str) -> None:
    print(f"esp-at-sim: {message}", file=sys.stderr)


async def _run(args: argparse.Namespace) -> int:
    from .factory import create_module
    from .flash.errors import FlashError
    from .radio.registry import RadioBackendError, load_backend
    from .scenario import ScenarioError, default_scenario, load_scenario
    from .web import WebConfig, install_web
    from .web.control import ControlServer

    try:
        scenario = load_scenario(args.scenario) if args.scenario else None
    except ScenarioError as exc:
        _error(str(exc))
        return EXIT_USAGE
    except OSError as exc:
        _error(f"cannot read scenario {args.scenario}: {exc.strerror or exc}")
        return EXIT_USAGE
    try:
        load_backend(args.radio)
    except RadioBackendError as exc:
        _error(str(exc))
        return EXIT_USAGE
    if args.route or args.net_bridge:
        base = scenario if scenario is not None else default_scenario()
        scenario = replace(base, net=base.net.with_routes(dict(args.route), args.net_bridge))
    spec = args.at or ("stdio" if os.isatty(0) else "pty")
    try:
        transport = open_transport(spec, host=args.host, baud=args.baud)
    except SpecError as exc:
        _error(str(exc))
        return EXIT_USAGE
    script: list[str] = []
    if args.script:
        try:
            script = Path(args.script).read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            _error(f"cannot read script {args.script}: {exc}")
            return EXIT_USAGE

    baud = getattr(transport, "baud", None) if args.baud is None else args.baud
    try:
        module = create_module(
            scenario,
            time_scale=args.time_scale,
            baud=baud,
            flash=args.flash,
            layout=args.module,
            radio=args.radio,
        )
    except RadioBackendError as exc:
        _error(str(exc))
        return EXIT_USAGE
    except FlashError as exc:
        _error(f"cannot use the flash file: {exc.reason}")
        return EXIT_USAGE
    except OSError as exc:
        _error(f"cannot use the flash file {args.flash}: {exc.strerror or exc}")
        return EXIT_USAGE
    try:
        events = EventLog(args.events, module) if args.events else None
    except OSError as exc:
        _error(f"cannot write events to {args.events}: {exc.strerror or exc}")
        return EXIT_USAGE
    info = sys.stderr if isinstance(transport, StdioTransport) else sys.stdout
    web_root = Path(args.web_root) if args.web_root else None
    if web_root is not None and not (web_root / "index.html").is_file():
        _error(f"--web-root {web_root}: no index.html there")
        await module.close()
        return EXIT_USAGE
    install_web(
        module,
        WebConfig(
            host=args.host,
            port_map=dict(args.port_map),
            captive_portal=not args.no_captive_portal,
            compat_echo_password=args.compat_echo_password,
            web_root=web_root,
            announce=lambda line: print(line, file=info, flush=True),
        ),
    )
    control = None
    if args.control is not None:
        control = ControlServer(module)
        host, port = args.control
        try:
            url = await control.start(host or args.host, port)
        except OSError as exc:
            _error(f"cannot serve the control API on port {port}: {exc.strerror or exc}")
            await control.close()
            await module.close()
            return EXIT_FAILED
        print(f"Control: {url}", file=info, flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        return await _serve(module, transport, script, info, stop)
    except TransportError as exc:
        _error(str(exc))
        return EXIT_FAILED
    finally:
        await transport.close()
        if control is not None:
            await control.close()
        await module.close()
        if events is not None:
            events.close()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)


async def _serve(
    module: Module, transport: Transport, script: list[str], info: IO[str], stop: asyncio.Event
) -> int:
    """Boot, run the script, open the port, announce it, serve until told to stop."""
    if script:
        if not await _unless_stopped(module.start(), stop):
            return EXIT_OK
        outcome = asyncio.ensure_future(run_script(module, script, info))
        if not await _unless_stopped(outcome, stop):
            return EXIT_OK
        if not outcome.result():
            return EXIT_FAILED
        await transport.start(module)
    else:
        await transport.start(module)  # attached before boot: a listener sees "ready"
        if not await _unless_stopped(module.start(), stop):
            return EXIT_OK
    print(transport.describe(), file=info, flush=True)
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


# ------------------------------------------------------------------------ script
# Loop turns a just-finished command gets to start a reset (AT+RST spawns it after its OK).
_SETTLE_TURNS = 5


async def wait_settled(module: Module) -> None:
    """Wait until the module has booted, is not resetting, and no command is running
    (a command waiting for data after ``>`` counts as done)."""
    activity = asyncio.Event()
    resetting = False

    def watch(event: Event) -> None:
        nonlocal resetting
        if event.kind == "boot.reset":
            resetting = True
        elif event.kind == "boot.ready":
            resetting = False
        activity.set()

    unsubscribe = module.bus.subscribe(watch)
    try:
        while True:
            for _ in range(_SETTLE_TURNS):
                await asyncio.sleep(0)
            engine = module.engine
            if (
                module.booted.is_set()
                and not resetting
                and (engine.mode is Mode.IDLE or engine.mode is Mode.DATA)
            ):
                return
            activity.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(activity.wait(), 0.05)
    finally:
        unsubscribe()


_FAILURES = (b"ERROR", b"SEND FAIL")


async def run_script(module: Module, lines: Sequence[str], out: IO[str]) -> bool:
    """Run script ``lines`` (see ``run --help``), printing each with its answer to ``out``.
    Returns ``False`` at the first line that fails without a ``-`` prefix."""
    received = bytearray()
    module.set_output(received.extend)
    try:
        for raw in lines:
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            may_fail = line.startswith("-")
            line = line[1:].lstrip() if may_fail else line
            data = line.encode("utf-8")
            if module.engine.mode is not Mode.DATA:
                data += b"\r\n"
            received.clear()
            module.feed(data)
            await wait_settled(module)
            answer = bytes(received)
            shown = module.table.mask(line.encode("utf-8"), MASK)
            if not answer.startswith(data):  # echo off: show the line ourselves
                out.write(shown.decode("utf-8", "replace") + "\n")
            answer = mask_output(answer, [(line.encode("utf-8"), shown)])
            out.write(answer.decode("utf-8", "replace").replace("\r\n", "\n"))
            out.flush()
            if not may_fail and any(part in _FAILURES for part in answer.split(b"\r\n")):
                _error(f"script line failed: {shown.decode('utf-8', 'replace')}")
                return False
        return True
    finally:
        module.set_output(None)


# ------------------------------------------------------------------------ events
class EventLog:
    """Writes every event on the module's bus as one JSON object per line:
    ``{"t": simulated seconds, "kind": ..., <the event's details>}``."""

    def __init__(self, path: str, module: Module) -> None:
        self._file = open(path, "w", encoding="utf-8", buffering=1)  # noqa: SIM115
        self._unsubscribe = module.bus.subscribe(self.write)

    def write(self, event: Event) -> None:
        record: dict[str, Any] = {"t": round(event.t, 6), "kind": event.kind}
        for key, value in event.data.items():
            record[key if key not in record else f"data_{key}"] = value
        self._file.write(json.dumps(record, default=str, ensure_ascii=False) + "\n")

    def close(self) -> None:
        self._unsubscribe()
        self._file.close()
