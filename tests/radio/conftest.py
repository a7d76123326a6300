"""Fixtures for the simulated radio: a scale-0 clock and radios that must close cleanly."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from esp_at_sim.device.clock import Clock
from esp_at_sim.radio.sim import SimRadio
from esp_at_sim.scenario import Scenario, parse_scenario
from esp_at_sim.testing import assert_no_tasks_left

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
    await assert_no_tasks_left()
