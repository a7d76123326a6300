"""Fixtures for the simulated radio: a scale-0 clock and radios that must close cleanly."""

from __future__ import annotations

import shutil
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from esp_at_sim.core.clock import Clock
from esp_at_sim.radio.registry import ENTRY_POINT_GROUP
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


TOY_SOURCE = Path(__file__).with_name("toy_radio.py")


def install_distribution(site: Path, name: str, entry_points: dict[str, str]) -> None:
    """Lay out an installed distribution in ``site`` as pip does: the toy backend's
    module ``esp_toy_radio`` and a ``.dist-info`` whose ``entry_points.txt`` registers
    ``entry_points`` (backend name → ``module:attribute``) in the radio group."""
    site.mkdir(parents=True, exist_ok=True)
    shutil.copy(TOY_SOURCE, site / "esp_toy_radio.py")
    info = site / f"{name.replace('-', '_')}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    lines = [f"{key} = {value}" for key, value in entry_points.items()]
    (info / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\n" + "\n".join(lines) + "\n")
    (info / "RECORD").write_text("")


@pytest.fixture
def toy_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A directory on ``sys.path`` holding the installed ``esp-toy-radio`` package, which
    registers ``toy`` (a working backend) and ``broken`` (one whose module is missing)."""
    site = tmp_path / "site-packages"
    install_distribution(
        site,
        "esp-toy-radio",
        {"toy": "esp_toy_radio:ToyRadio", "broken": "esp_toy_missing:Radio"},
    )
    monkeypatch.syspath_prepend(str(site))
    yield site
    sys.modules.pop("esp_toy_radio", None)
