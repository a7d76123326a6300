"""Radio backends by name: the built-in ``sim``, one installed by another package, and
the errors for a name nobody registered or a backend that does not load."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from importlib.metadata import EntryPoints, entry_points
from pathlib import Path

import aiohttp
import pytest

from esp_at_sim.core.clock import Clock
from esp_at_sim.core.events import Event
from esp_at_sim.device.faults import Faults, FaultUnsupported
from esp_at_sim.factory import create_module
from esp_at_sim.radio import registry
from esp_at_sim.radio.base import DhcpServerControl, FaultControl
from esp_at_sim.radio.registry import (
    ENTRY_POINT_GROUP,
    RadioBackendError,
    backend_names,
    load_backend,
)
from esp_at_sim.radio.sim import SimRadio
from esp_at_sim.scenario import default_scenario
from esp_at_sim.testing import start_module
from esp_at_sim.web.control import ControlServer

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


# ------------------------------------------------------------------ capabilities, faults
def test_the_simulated_air_has_every_capability(toy_site: Path) -> None:
    scenario = default_scenario()
    sim = load_backend("sim")(scenario, Clock(0))
    toy = load_backend("toy")(scenario, Clock(0))
    assert isinstance(sim, DhcpServerControl) and isinstance(sim, FaultControl)
    assert not isinstance(toy, DhcpServerControl) and not isinstance(toy, FaultControl)


async def test_faults_of_the_air_on_a_backend_without_fault_control(toy_site: Path) -> None:
    module, _ = await start_module(radio="toy")
    faults = module.faults
    try:
        assert faults.available == ("stall_upload", "phone_join", "phone_leave")
        for name, args in (("vanish", {"ap": "ToyNet"}), ("drop_link", {})):
            with pytest.raises(FaultUnsupported, match=rf"{name}: the radio backend 'toy'"):
                faults.apply(name, **args)
        with pytest.raises(FaultUnsupported, match="available here: stall_upload, phone_"):
            faults.stall_dhcp("ToyNet")
        assert faults.phone_join() is None  # the toy's SoftAP takes no phones
        events: list[Event] = []
        module.bus.subscribe(events.append)
        faults.stall_upload(True)
        faults.stall_upload(False)
        with pytest.raises(FaultUnsupported):
            faults.vanish("ToyNet")
        assert [e.data["name"] for e in events if e.kind == "fault"] == ["stall_upload"] * 2
    finally:
        await module.close()


async def test_the_control_api_says_what_the_backend_takes(toy_site: Path) -> None:
    module, _ = await start_module(radio="toy")
    control = ControlServer(module, "registry-test-token")
    await control.start("127.0.0.1", 0)
    url = control.base + "/"
    auth = {"Authorization": "Bearer registry-test-token"}
    try:
        async with aiohttp.ClientSession(headers=auth) as session:
            async with session.get(url + "status") as r:
                status = await r.json()
            assert status["radio"] == "toy"
            assert status["faults"] == ["stall_upload", "phone_join", "phone_leave"]
            async with session.post(url + "faults/vanish", json={"ap": "ToyNet"}) as r:
                assert r.status == 400
                assert "radio backend 'toy' takes no injected faults" in (await r.json())["error"]
    finally:
        await control.close()
        await module.close()


@pytest.mark.esp_radio("toy")
async def test_the_plugin_runs_a_chosen_backend(toy_site: Path, esp_faults: Faults) -> None:
    with pytest.raises(FaultUnsupported, match="radio backend 'toy'"):
        esp_faults.vanish("ToyNet")


def test_entry_points_are_read_again_when_the_path_changes(
    toy_site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reading every package's metadata is slow, so a reading is kept while ``sys.path``
    and its directories stay as they were; installing a package changes its directory,
    and a directory changed within the last moments is read again every time."""
    settled = time.time() - 10
    os.utime(toy_site, (settled, settled))
    monkeypatch.setattr(sys, "path", [str(toy_site)])
    reads: list[str] = []

    def counted(*, group: str) -> EntryPoints:
        reads.append(group)
        return entry_points(group=group)

    monkeypatch.setattr(registry, "entry_points", counted)
    assert backend_names() == ["broken", "toy"]
    assert backend_names() == ["broken", "toy"]
    assert len(reads) == 1  # the second answer is the kept reading
    info = toy_site / "esp_more_radio-1.0.dist-info"  # another package installed
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: esp-more-radio\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        f"[{ENTRY_POINT_GROUP}]\nmore = esp_toy_radio:ToyRadio\n"
    )
    assert backend_names() == ["broken", "more", "toy"]
    assert backend_names() == ["broken", "more", "toy"]
    assert len(reads) == 3  # changed just now: read again each time
