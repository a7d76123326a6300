"""The suite runs on the loop ``--loop`` names, and so do the processes it starts."""

from __future__ import annotations

import asyncio
import os
import sys

import pytest

from childwait import run_child
from esp_at_sim.cli.common import LOOP_ENV, Failure, loop_factory


async def test_the_tests_run_on_the_chosen_loop(pytestconfig: pytest.Config) -> None:
    loop = asyncio.get_running_loop()
    chosen = pytestconfig.getoption("--loop")
    assert os.environ[LOOP_ENV] == chosen
    assert (type(loop).__module__.split(".")[0] == "uvloop") == (chosen == "uvloop")


def test_loop_factory_follows_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(LOOP_ENV, "asyncio")
    assert loop_factory() is asyncio.new_event_loop
    monkeypatch.setenv(LOOP_ENV, "tokio")
    with pytest.raises(Failure, match="use auto, uvloop or asyncio"):
        loop_factory()
    uvloop = pytest.importorskip("uvloop")
    for choice in ("auto", "uvloop", ""):
        monkeypatch.setenv(LOOP_ENV, choice)
        assert loop_factory() is uvloop.new_event_loop


def test_uvloop_asked_for_and_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(LOOP_ENV, "uvloop")
    monkeypatch.setattr("importlib.util.find_spec", lambda name: None)
    with pytest.raises(Failure, match=r"esp-at-sim\[fast\]"):
        loop_factory()
    monkeypatch.setenv(LOOP_ENV, "auto")
    assert loop_factory() is asyncio.new_event_loop


def test_a_bad_setting_stops_the_command_with_status_2() -> None:
    env = {**os.environ, LOOP_ENV: "tokio"}
    done = run_child(
        [sys.executable, "-m", "esp_at_sim", "run", "--at", "stdio"],
        input=b"",
        capture_output=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 2
    assert b"ESP_AT_SIM_LOOP='tokio'" in done.stderr
