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


def test_time_scale_0_takes_the_standard_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    """The scale-0 clock reads asyncio's queue of ready callbacks: "auto" takes the
    standard loop for it even with uvloop installed, and "uvloop" is refused."""
    pytest.importorskip("uvloop")
    for choice in ("auto", "asyncio", ""):
        monkeypatch.setenv(LOOP_ENV, choice)
        assert loop_factory(time_scale_zero=True) is asyncio.new_event_loop
    monkeypatch.setenv(LOOP_ENV, "uvloop")
    with pytest.raises(Failure, match="time scale 0"):
        loop_factory(time_scale_zero=True)


@pytest.mark.parametrize("choice", ["auto", "uvloop"])
def test_run_at_time_scale_0_with_uvloop_installed(choice: str) -> None:
    """``run --time-scale 0`` with the fast extra installed: a join completes on "auto";
    "uvloop" stops at once with status 2 and the reason."""
    pytest.importorskip("uvloop")
    env = {**os.environ, LOOP_ENV: choice}
    done = run_child(
        [sys.executable, "-m", "esp_at_sim", "run", "--at", "stdio", "--time-scale", "0"],
        input=b'AT+CWJAP="HomeNet","sunflower42"\r\n',
        capture_output=True,
        env=env,
        timeout=60,
    )
    if choice == "auto":
        assert b"WIFI GOT IP\r\n\r\nOK\r\n" in done.stdout, done.stdout + done.stderr
        assert b"Traceback" not in done.stderr
    else:
        assert done.returncode == 2 and b"time scale 0" in done.stderr
