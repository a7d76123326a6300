"""``run --script``: AT lines run after boot, before the port opens, each printed with
the module's answer; and :func:`wait_settled`, which tells when an answer is complete."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import IO, TYPE_CHECKING

from ..at.engine import Mode
from ..core.events import Event
from ..device.redact import MASK, mask_output
from .common import EXIT_FAILED, Failure

if TYPE_CHECKING:
    from ..device.module import Module

# Loop turns a just-finished command gets to start a reset (AT+RST spawns it after its OK).
_SETTLE_TURNS = 5


def boot_failure(module: Module) -> str | None:
    """Why the module is not running, when its bootloader found nothing to boot."""
    firmware = module.firmware
    if firmware is None or firmware.running is not None:
        return None
    return firmware.last_error


async def wait_settled(module: Module) -> None:
    """Wait until the module has booted, is not resetting, and no command is running
    (a command waiting for data after ``>`` counts as done). :class:`Failure` (exit 1)
    when it cannot boot: it would never settle."""
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
            reason = boot_failure(module)
            if reason is not None:
                raise Failure(f"the module did not boot: {reason}", EXIT_FAILED)
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


class Announcer:
    """Prints the lines that say where a service listens (``Web server: URL``…); while a
    script line runs, it holds them until that line's answer has been printed, so that
    they follow the ``OK`` of the command that started the service."""

    def __init__(self, out: IO[str]) -> None:
        self.out = out
        self._held: list[str] | None = None

    def __call__(self, line: str) -> None:
        if self._held is not None:
            self._held.append(line)
        else:
            print(line, file=self.out, flush=True)

    def hold(self) -> None:
        if self._held is None:
            self._held = []

    def release(self) -> None:
        held, self._held = self._held or [], None
        for line in held:
            self(line)


async def run_script(
    module: Module, lines: Sequence[str], out: IO[str], announcer: Announcer | None = None
) -> None:
    """Run script ``lines`` (see ``run --help``), printing each with its answer to ``out``
    (and what ``announcer`` was told meanwhile after it). :class:`Failure` (exit 1) at
    the first line that fails without a ``-`` prefix."""
    await wait_settled(module)  # booted, or the reason it did not
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
            if announcer is not None:
                announcer.hold()
            try:
                module.feed(data)
                await wait_settled(module)
                answer = bytes(received)
                shown = module.table.mask(line.encode("utf-8"), MASK)
                if not answer.startswith(data):  # echo off: show the line ourselves
                    out.write(shown.decode("utf-8", "replace") + "\n")
                answer = mask_output(answer, [(line.encode("utf-8"), shown)])
                out.write(answer.decode("utf-8", "replace").replace("\r\n", "\n"))
                out.flush()
            finally:
                if announcer is not None:
                    announcer.release()
            if not may_fail and any(part in _FAILURES for part in answer.split(b"\r\n")):
                raise Failure(f"script line failed: {shown.decode('utf-8', 'replace')}")
    finally:
        module.set_output(None)
