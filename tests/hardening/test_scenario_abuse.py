"""Hostile scenario files: nesting deep enough to exhaust Python's recursion, SSIDs that
would break the AT port's framing, and files with 100 000 access points. Each is either
refused with an error naming the file (``run`` exits 2, no traceback) or loaded in time
linear in its size (measured in ``bench/bench_scenario.py``, not here)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from childwait import run_child
from esp_at_sim.factory import create_module
from esp_at_sim.scenario import ScenarioError, generated_bssid, load_scenario, parse_scenario
from esp_at_sim.testing import AtHarness

from .conftest import no_tasks_left
from .simproc import ROOT

DEPTH = 100_000


def run_with(scenario: Path) -> subprocess.CompletedProcess[str]:
    return run_child(
        [sys.executable, "-m", "esp_at_sim", "run", "--scenario", str(scenario), "--at", "tcp:0"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        check=False,
    )


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("x = " + "[" * DEPTH + "]" * DEPTH, 1),  # arrays in arrays
        ("x = " + "{a = " * DEPTH + "1" + "}" * DEPTH, 1),  # inline tables in inline tables
        ('[[ap]]\nssid = "x"\nrssi = ' + "[" * DEPTH + "]" * DEPTH, 3),
    ],
    ids=["arrays", "inline-tables", "inside-an-ap"],
)
def test_deep_nesting_is_a_clear_error(tmp_path: Path, text: str, line: int) -> None:
    with pytest.raises(ScenarioError, match="nested too deeply") as caught:
        parse_scenario(text, "deep.toml")
    assert str(caught.value).startswith(f"deep.toml:{line}: ")
    path = tmp_path / "deep.toml"
    path.write_text(text)
    done = run_with(path)
    assert done.returncode == 2, done.stderr
    assert str(path) in done.stderr and "nested too deeply" in done.stderr
    assert "Traceback" not in done.stderr and "RecursionError" not in done.stderr


@pytest.mark.parametrize("ssid", ["Home\rNet", "Home\nNet", "Home\r\nOK", "\n"])
def test_ssids_with_cr_or_lf_are_refused(tmp_path: Path, ssid: str) -> None:
    escaped = ssid.replace("\r", "\\r").replace("\n", "\\n")
    text = f'[[ap]]\nssid = "Fine"\n\n[[ap]]\nssid = "{escaped}"\n'
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text, "crlf.toml")
    assert str(caught.value).startswith("crlf.toml:5: ap[1].ssid: ")
    assert "CR" in caught.value.message and "LF" in caught.value.message
    path = tmp_path / "crlf.toml"
    path.write_text(text)
    done = run_with(path)
    assert done.returncode == 2 and "ap[1].ssid" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


ODD_SSIDS = [
    ("tab\there", b"tab\there"),
    ('quote"comma,', b'quote"comma,'),
    ("back\\slash", b"back\\slash"),
    ("caf\u00e9 \u2615", "caf\u00e9 \u2615".encode()),
    ("del\x7fesc\x1b", b"del\x7fesc\x1b"),
    ("nul\x00after", b"nul"),  # the firmware prints the SSID as a C string
]


async def test_every_other_byte_is_printed_as_the_firmware_prints_it(tmp_path: Path) -> None:
    lines = []
    for index, (ssid, _) in enumerate(ODD_SSIDS):
        escaped = "".join(c if c.isalnum() or c == " " else f"\\u{ord(c):04x}" for c in ssid)
        lines.append(f'[[ap]]\nssid = "{escaped}"\nrssi = {-40 - index}\n')
    path = tmp_path / "odd.toml"
    path.write_text("\n".join(lines))
    module = create_module(scenario=load_scenario(path), time_scale=0)
    at = AtHarness(module)
    await module.start()
    try:
        at.take()
        assert (await at.cmd("AT+CWMODE=1")).endswith(b"OK\r\n")
        answer = await at.cmd("AT+CWLAP")
    finally:
        await module.close()
        await no_tasks_left()
    listed = answer.split(b"\r\n")
    assert listed[-2:] == [b"OK", b""]
    aps = [x for x in listed if x.startswith(b"+CWLAP:")]
    for (_, shown), line in zip(ODD_SSIDS, aps, strict=True):
        assert line.startswith(b'+CWLAP:(0,"' + shown + b'",'), line


def test_twenty_thousand_aps_with_repeated_names_load(tmp_path: Path) -> None:
    """Loading is linear (``bench/bench_scenario.py`` measures 1k, 10k and 100k APs);
    here that a big file with SSIDs repeated as in a crowded city loads, each AP with a
    BSSID of its own, the n-th AP of a name with the n-th BSSID of that name."""
    path = tmp_path / "city.toml"
    path.write_text("".join(f'[[ap]]\nssid = "Net{i % 500}"\n' for i in range(20_000)))
    scenario = load_scenario(path)
    assert len(scenario.aps) == 20_000
    assert len({ap.bssid for ap in scenario.aps}) == 20_000
    assert scenario.aps[40 * 500 + 7 - 500].bssid == generated_bssid("Net7", 39)
