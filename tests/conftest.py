"""Shared fixtures: a module in-process at time scale 0, driven over its byte interface."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from esp_at_sim.testing import AtHarness, start_module

pytest_plugins = ["pytester"]


@pytest.fixture
async def at() -> AsyncIterator[AtHarness]:
    module, harness = await start_module()
    yield harness
    await module.close()
