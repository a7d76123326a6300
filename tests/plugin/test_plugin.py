"""The pytest plugin's fixtures, used as a project outside would use them."""

from __future__ import annotations

import json
import sys

import aiohttp
import pytest

from childwait import run_child
from esp_at_sim.client import AtClient, JoinError, JoinReason
from esp_at_sim.core.events import Event
from esp_at_sim.device.faults import Faults
from esp_at_sim.device.module import Module
from esp_at_sim.testing import AtHarness

LAB = """
[[ap]]
ssid = "Lab"
password = "lab-pass-1"
ip = "10.1.2.3"
gateway = "10.1.2.1"
"""


async def test_module_and_client(esp_module: Module, esp_at: AtClient) -> None:
    assert esp_module.booted.is_set()
    version = await esp_at.gmr()
    assert version.bin_version == "v4.1.1.0"
    result = await esp_at.set_cwjap("HomeNet", "sunflower42")
    assert result is not None
    assert (await esp_at.cifsr()).sta_ip == "192.168.1.23"


@pytest.mark.esp_scenario(LAB)
async def test_scenario_marker(esp_at: AtClient) -> None:
    await esp_at.set_cwjap("Lab", "lab-pass-1")
    assert (await esp_at.cifsr()).sta_ip == "10.1.2.3"


async def test_harness_and_client_share_the_port(esp_harness: AtHarness, esp_at: AtClient) -> None:
    await esp_at.gmr()
    assert b"Bin version:" in esp_harness.take()
    assert await esp_harness.cmd("AT") == b"AT\r\n\r\nOK\r\n"


async def test_faults_and_events(
    esp_at: AtClient, esp_faults: Faults, esp_events: list[Event]
) -> None:
    esp_faults.change_password("HomeNet", "brand-new-pw")
    with pytest.raises(JoinError) as info:
        await esp_at.set_cwjap("HomeNet", "sunflower42")
    assert info.value.reason is JoinReason.WRONG_PASSWORD
    kinds = [e.kind for e in esp_events]
    assert "boot.ready" in kinds and "fault" in kinds
    assert all("sunflower42" not in json.dumps(e.data, default=str) for e in esp_events)


WPS_LAB = """
[[ap]]
ssid = "Lab"
password = "lab-pass-1"
ip = "10.1.2.3"
gateway = "10.1.2.1"
wps = true
"""


@pytest.mark.esp_scenario(WPS_LAB)
async def test_provisioning_faults_through_the_fixture(
    esp_harness: AtHarness, esp_faults: Faults
) -> None:
    """SmartConfig and WPS driven by esp_faults, as a host driver's test would."""
    assert await esp_harness.cmd("AT+CWSTARTSMART") == b"AT+CWSTARTSMART\r\n\r\nOK\r\n"
    assert esp_faults.smartconfig("Lab", "lab-pass-1")
    assert (await esp_harness.wait_for(b"smartconfig connected wifi\r\n")).endswith(
        b"WIFI CONNECTED\r\nWIFI GOT IP\r\nsmartconfig connected wifi\r\n"
    )
    assert await esp_harness.cmd("AT+CWSTOPSMART") == b"AT+CWSTOPSMART\r\n\r\nOK\r\n"
    assert await esp_harness.cmd("AT+WPS=1") == b"AT+WPS=1\r\n\r\nOK\r\n"
    assert await esp_harness.wait_for(b"WIFI DISCONNECT\r\n") == b"WIFI DISCONNECT\r\n"
    esp_faults.wps_button("Lab")
    assert await esp_harness.wait_for(b"WIFI GOT IP\r\n") == b"WIFI CONNECTED\r\nWIFI GOT IP\r\n"


async def test_web_url_serves_the_seed_flow(esp_web_url: str, esp_at: AtClient) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.get(esp_web_url + "getstainfo") as response,
    ):
        assert (await response.json())["message"] == "waiting config"
    assert (await esp_at.cwmode()).value == 3


@pytest.mark.esp_time_scale(0.01)
async def test_time_scale_marker(esp_module: Module) -> None:
    assert esp_module.clock.scale == 0.01


def test_options_reach_the_fixtures(pytester: pytest.Pytester) -> None:
    scenario = pytester.makefile(".toml", lab=LAB)
    pytester.makepyfile(
        """
        async def test_it(esp_scenario, esp_module):
            assert [ap.ssid for ap in esp_scenario.aps] == ["Lab"]
            assert esp_module.clock.scale == 0.5
        """
    )
    result = pytester.runpytest(
        "-p", "no:cacheprovider", "-o", "asyncio_mode=auto",
        "-o", "asyncio_default_fixture_loop_scope=function",
        "--esp-scenario", str(scenario), "--esp-time-scale", "0.5",
    )  # fmt: skip
    result.assert_outcomes(passed=1)


def test_loading_the_plugin_imports_no_simulator() -> None:
    """pytest loads the plugin in every run, before coverage starts: the device stack is
    imported only by the fixtures that need it."""
    check = (
        "import sys, esp_at_sim.pytest_plugin\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('esp_at_sim.'))\n"
        "assert loaded == ['esp_at_sim.pytest_plugin'], loaded\n"
    )
    run_child([sys.executable, "-c", check], check=True, timeout=30)
