"""Radio backends by name: the built-in ``sim``, one installed by another package, and
the errors for a name nobody registered or a backend that does not load."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from esp_at_sim.device.factory import create_module
from esp_at_sim.radio.registry import (
    ENTRY_POINT_GROUP,
    RadioBackendError,
    backend_names,
    load_backend,
)
from esp_at_sim.radio.sim import SimRadio
from esp_at_sim.testing import start_module

OK = b"\r\nOK\r\n"


def test_sim_is_registered_by_the_package_metadata() -> None:
    (sim,) = [ep for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name == "sim"]
    assert sim.dist is not None and sim.dist.name == "esp-at-sim"
    assert load_backend("sim") is SimRadio


async def test_the_default_backend_is_sim() -> None:
    module = create_module(time_scale=0, with_flash=False)
    try:
        assert isinstance(module.radio, SimRadio)
        assert module.radio_name == "sim"
    finally:
        await module.close()


def test_an_unknown_backend_names_the_known_ones() -> None:
    with pytest.raises(RadioBackendError, match=r"unknown radio backend 'nosuch'; known: sim"):
        create_module(radio="nosuch", with_flash=False)


async def test_a_backend_of_another_installed_package_is_used(toy_site: Path) -> None:
    assert {"sim", "toy", "broken"} <= set(backend_names())
    module, at = await start_module(radio="toy")
    try:
        assert type(module.radio).__name__ == "ToyRadio"
        assert module.radio_name == "toy"
        scan = await at.cmd("AT+CWLAP")
        assert scan.startswith(b'AT+CWLAP\r\n+CWLAP:(0,"ToyNet",-42,"02:70:79:00:00:01",6,')
        join = await at.cmd('AT+CWJAP="ToyNet",""')
        assert join.endswith(b"WIFI CONNECTED\r\nWIFI GOT IP\r\n" + OK)
        assert await at.cmd("AT+CIPSTA?") == (
            b'AT+CIPSTA?\r\n+CIPSTA:ip:"10.7.7.20"\r\n+CIPSTA:gateway:"10.7.7.1"\r\n'
            b'+CIPSTA:netmask:"255.255.255.0"\r\n' + OK
        )
    finally:
        await module.close()


def test_a_backend_that_does_not_load_is_reported(toy_site: Path) -> None:
    with pytest.raises(RadioBackendError, match=r"'broken' \(esp_toy_missing:Radio\) failed"):
        create_module(radio="broken")
    assert load_backend("toy").__name__ == "ToyRadio"  # the others still work


def _run(site: Path, *args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), *sys.path])}
    return subprocess.run(
        [sys.executable, "-m", "esp_at_sim", "run", "--time-scale", "0", *args],
        input=stdin,
        capture_output=True,
        timeout=20,
        env=env,
    )


def test_run_radio_picks_an_installed_backend(toy_site: Path) -> None:
    result = _run(toy_site, "--radio", "toy", "--at", "stdio", stdin=b'AT+CWJAP="ToyNet",""\r\n')
    assert result.returncode == 0, result.stderr
    assert result.stdout.endswith(b"WIFI CONNECTED\r\nWIFI GOT IP\r\n" + OK)


def test_run_with_an_unknown_radio_exits_2(toy_site: Path) -> None:
    result = _run(toy_site, "--radio", "nosuch", "--at", "stdio")
    assert result.returncode == 2
    assert result.stdout == b""
    assert result.stderr.decode() == (
        "esp-at-sim: unknown radio backend 'nosuch'; known: broken, sim, toy\n"
    )
