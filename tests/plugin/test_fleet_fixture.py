"""The pytest plugin's ``esp_fleet``: several modules in one test."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from esp_at_sim.testing import FleetMember


@pytest.mark.esp_fleet(4)
async def test_a_fleet_of_four_joins_at_once(esp_fleet: list[FleetMember]) -> None:
    assert [m.index for m in esp_fleet] == [0, 1, 2, 3]
    macs = {m.module.identity.sta_mac for m in esp_fleet} | {
        m.module.identity.ap_mac for m in esp_fleet
    }
    assert len(macs) == 8
    esp_fleet[2].faults.apply("refuse_joins", ap="HomeNet", count=1)
    results = [await m.harness.cmd('AT+CWJAP="HomeNet","sunflower42"') for m in esp_fleet]
    assert [r.endswith(b"WIFI GOT IP\r\n\r\nOK\r\n") for r in results] == [True, True, False, True]
    assert results[2].endswith(b"+CWJAP:4\r\n\r\nERROR\r\n")
    answer = await esp_fleet[3].harness.cmd("AT+CIPSTAMAC?")
    assert answer == b'AT+CIPSTAMAC?\r\n+CIPSTAMAC:"24:0a:c4:00:00:0d"\r\n\r\nOK\r\n'
    assert (await esp_fleet[0].at.cifsr()).sta_ip == "192.168.1.23"
    assert any(e.kind == "boot.ready" for e in esp_fleet[1].events)


async def test_without_the_marker_a_fleet_has_two(esp_fleet: list[FleetMember]) -> None:
    assert len(esp_fleet) == 2
    assert esp_fleet[0].module is not esp_fleet[1].module


def test_a_fleet_needs_one_module(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.esp_fleet(0)
        async def test_it(esp_fleet):
            pass
        """
    )
    result = pytester.runpytest(
        "-p", "no:cacheprovider", "-o", "asyncio_mode=auto",
        "-o", "asyncio_default_fixture_loop_scope=function",
    )  # fmt: skip
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*esp_fleet takes a number of modules >= 1, not 0*"])


def test_readme_fleet_example_passes(pytester: pytest.Pytester) -> None:
    text = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    example = next(block for block in blocks if "esp_fleet" in block)
    pytester.makepyfile(test_fleet_example=example)
    result = pytester.runpytest(
        "-p", "no:cacheprovider", "-o", "asyncio_mode=auto",
        "-o", "asyncio_default_fixture_loop_scope=function",
    )  # fmt: skip
    result.assert_outcomes(passed=1)
