"""What every command of the command line shares: the exit statuses, how a message
reaches the user, :class:`Failure` (the exception that ends a command), the event loop
every command runs on (:func:`run_loop`), and the module's web API as the commands that
speak HTTP use it."""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import sys
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeAlias, TypeVar

from ..client.http import REQUEST_TIMEOUT
from ..client.web import WebApi, WebApiError

EXIT_OK = 0
EXIT_FAILED = 1  # understood, but it did not work (a script line failed, an upload refused)
EXIT_USAGE = 2  # bad arguments or input files, or nothing answering where the user said
EXIT_INTERRUPTED = 130  # Ctrl-C outside an interactive prompt (128 + SIGINT)
T = TypeVar("T")
# What each command module's ``add_parser`` registers itself on.
Subcommands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


class Failure(Exception):
    """Ends a command: the message for standard error and the exit status."""

    def __init__(self, message: str, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.code = code


# Which event loop the commands run on: "auto" (uvloop when it is installed, the
# ``esp-at-sim[fast]`` extra), "uvloop" (required) or "asyncio" (the standard loop).
LOOP_ENV = "ESP_AT_SIM_LOOP"


def loop_factory(time_scale_zero: bool = False) -> Callable[[], asyncio.AbstractEventLoop]:
    """What makes the event loop, per :data:`LOOP_ENV`; :class:`Failure` (exit 2) when
    uvloop is asked for and not installed, or the setting is not one of the three.

    Time scale 0 needs the standard loop (its clock tells an idle loop by asyncio's queue
    of ready callbacks, which uvloop does not show): with ``time_scale_zero`` "auto" takes
    it, and "uvloop" is refused."""
    choice = os.environ.get(LOOP_ENV, "auto").strip().lower() or "auto"
    if choice not in ("auto", "uvloop", "asyncio"):
        raise Failure(f"{LOOP_ENV}={choice!r}: use auto, uvloop or asyncio", EXIT_USAGE)
    if time_scale_zero and choice == "uvloop":
        raise Failure(
            f"{LOOP_ENV}=uvloop cannot run time scale 0, which needs asyncio's own loop"
            " (use a time scale above 0, or ESP_AT_SIM_LOOP=auto or asyncio)",
            EXIT_USAGE,
        )
    if choice == "asyncio" or time_scale_zero:
        return asyncio.new_event_loop
    if importlib.util.find_spec("uvloop") is None:
        if choice == "uvloop":
            raise Failure(
                f"{LOOP_ENV}=uvloop, but uvloop is not installed (pip install 'esp-at-sim[fast]')",
                EXIT_USAGE,
            )
        return asyncio.new_event_loop
    import uvloop

    return uvloop.new_event_loop


def run_loop(main: Coroutine[Any, Any, T], *, time_scale_zero: bool = False) -> T:
    """``asyncio.run(main)`` on the loop :func:`loop_factory` chooses."""
    try:
        factory = loop_factory(time_scale_zero)
    except Failure:
        main.close()
        raise
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(main)


def error(message: str, command: str | None = None) -> None:
    """``esp-at-sim[ COMMAND]: message`` on standard error."""
    prefix = f"esp-at-sim {command}" if command else "esp-at-sim"
    print(f"{prefix}: {message}", file=sys.stderr, flush=True)


def say(text: str) -> None:
    """A line of progress on standard output."""
    print(text, flush=True)


def report(failure: Failure, command: str | None = None) -> int:
    """Print ``failure``; its exit status."""
    error(str(failure), command)
    return failure.code


async def finish(work: Awaitable[None], command: str) -> int:
    """Await ``work``; ``EXIT_OK``, or the status of the :class:`Failure` that ended it
    (printed on standard error)."""
    try:
        await work
    except Failure as exc:
        return report(exc, command)
    return EXIT_OK


async def answer(call: Awaitable[T], code: int = EXIT_FAILED) -> T:
    """Await a :class:`WebApi` call; its error becomes a :class:`Failure` with ``code``
    (``EXIT_USAGE`` on first contact: nothing answers at the URL given)."""
    try:
        return await call
    except WebApiError as exc:
        raise Failure(str(exc), code) from None


def open_api(url: str, *, read_timeout: float = REQUEST_TIMEOUT) -> WebApi:
    """A :class:`WebApi` on ``url``; a bad URL is a usage error."""
    try:
        return WebApi(url, read_timeout=read_timeout)
    except WebApiError as exc:
        raise Failure(str(exc), EXIT_USAGE) from None
