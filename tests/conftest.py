"""Shared fixtures: a module in-process at time scale 0, driven over its byte interface;
the event loop the suite runs on (``--loop``); and the hang guard's clock."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import signal
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from pathlib import Path
from types import FrameType
from typing import Any

import pytest
import pytest_timeout
from hypothesis import settings

from childwait import Deadline
from esp_at_sim.testing import AtHarness, start_module

pytest_plugins = ["pytester"]

# Hypothesis's per-example deadline is wall time: on a loaded machine a fast example takes
# longer without being slow. The hang guard below bounds a test instead.
settings.register_profile("suite", deadline=None)
settings.load_profile("suite")

LOOP_ENV = "ESP_AT_SIM_LOOP"  # read by the esp-at-sim processes the tests start, too


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--loop",
        choices=("asyncio", "uvloop"),
        default=os.environ.get(LOOP_ENV) or "asyncio",
        help=f"the event loop of the tests and of the esp-at-sim they start (default: "
        f"${LOOP_ENV}, else asyncio)",
    )


def pytest_configure(config: pytest.Config) -> None:
    loop = config.getoption("--loop")
    if loop == "uvloop" and importlib.util.find_spec("uvloop") is None:
        raise pytest.UsageError("--loop uvloop: uvloop is not installed")
    os.environ[LOOP_ENV] = loop


def pytest_report_header(config: pytest.Config) -> str:
    return f"event loop: {config.getoption('--loop')}"


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> Mapping[str, Callable[[], asyncio.AbstractEventLoop]]:
    if config.getoption("--loop") != "uvloop":
        return {"asyncio": asyncio.new_event_loop}
    import uvloop

    return {"uvloop": uvloop.new_event_loop}


@pytest.fixture
async def at() -> AsyncIterator[AtHarness]:
    module, harness = await start_module()
    yield harness
    await module.close()


def _descendants(pid: int) -> Iterator[int]:
    """The processes started by ``pid``, and theirs (those alive now)."""
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return
    for task in tasks:
        try:
            children = (task / "children").read_text().split()
        except OSError:
            continue
        for child in map(int, children):
            yield child
            yield from _descendants(child)


@pytest.hookimpl(tryfirst=True)
def pytest_timeout_set_timer(item: pytest.Item, settings: Any) -> bool | None:
    """pytest-timeout's guard against a hung test (``timeout`` in pyproject.toml), counted
    as the time the test could run (:class:`childwait.Deadline`: the wall time less the
    longest wait for a CPU of this process or of a process it started) instead of wall
    time: on a machine whose CPUs are shared by many busy processes a test takes longer,
    but it is not hung. Where pytest-timeout would not use a signal, it keeps its own."""
    if settings.method != "signal" or threading.current_thread() is not threading.main_thread():
        return None
    deadline = Deadline(settings.timeout)

    def alarm(signum: int, _frame: FrameType | None) -> None:
        __tracebackhide__ = True
        for pid in _descendants(os.getpid()):
            deadline.watch(pid, whole=True)
        left = deadline.remaining()
        if left > 0:
            signal.setitimer(signal.ITIMER_REAL, max(left, 0.5))
            return
        pytest_timeout.timeout_sigalrm(item, settings)

    def cancel() -> None:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, signal.SIG_DFL)

    item.cancel_timeout = cancel  # type: ignore[attr-defined]  # what pytest-timeout calls
    signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, settings.timeout)
    return True
