"""Shared fixtures: a module in-process at time scale 0, driven over its byte interface;
and the event loop the suite runs on (``--loop``)."""

from __future__ import annotations

import asyncio
import importlib.util
import os
from collections.abc import AsyncIterator, Callable, Mapping

import pytest

from esp_at_sim.testing import AtHarness, start_module

pytest_plugins = ["pytester"]

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
