"""Fixtures for the simulated radio: a scale-0 clock and radios that must close cleanly."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest

from esp_at_sim.device.clock import Clock
from esp_at_sim.radio.sim import SimRadio
from esp_at_sim.scenario import Scenario, parse_scenario

MakeRadio = Callable[[str | Scenario], SimRadio]


@pytest.fixture
def clock() -> Clock:
    return Clock(scale=0)


@pytest.fixture
async def make_radio(clock: Clock) -> AsyncIterator[MakeRadio]:
    """Build radios from TOML text or a Scenario; on teardown close them and check that
    no task of theirs (or of the clock) is left running."""
    radios: list[SimRadio] = []

    def make(source: str | Scenario) -> SimRadio:
        scenario = parse_scenario(source, "t.toml") if isinstance(source, str) else source
        radio = SimRadio(scenario, clock)
        radios.append(radio)
        return radio

    yield make
    for radio in radios:
        await radio.close()
    current = asyncio.current_task()
    for _ in range(500):
        others = [t for t in asyncio.all_tasks() if t is not current and not t.done()]
        if not others:
            break
        await asyncio.sleep(0)
    assert not others, f"tasks left running: {others}"
