"""Every example of the manual's Basic and Wi-Fi chapters, read from its source (the
ESP-AT documentation's .rst files, at ``$ESP_AT_MANUAL``), sent to a module as written:
each line gets the final result the manual shows for it (``OK`` unless it shows
another) and the information lines it shows, field for field in their fixed parts.
``AT+CMD?`` lists every command the two chapters list for the ESP32, except those this
simulator does not implement (named below, with the reason).

Each example block runs on a fresh module in a scenario that has the networks the
examples name; a block whose commands need a mode the example does not set gets it
first (:data:`SETUP`), as the command's notes require; data a command asks for after its
``>`` prompt is what the example's comment says to enter (:data:`DATA`)."""

from __future__ import annotations

import re

import pytest

from esp_at_sim.scenario import parse_scenario
from esp_at_sim.testing import assert_no_tasks_left, start_module
from wifi.harness import At

from . import rst

pytestmark = pytest.mark.skipif(
    not rst.available(), reason=f"the ESP-AT manual's .rst files are not in {rst.MANUAL}"
)

# Commands of the two chapters that this simulator does not implement.
NOT_HERE = {
    "AT+CWJEAP": "Wi-Fi Enterprise is not in the default firmware",
}
# The networks the examples join or scan for.
WORLD = r"""
[[ap]]
ssid = "abc"
password = "0123456789"
bssid = "ca:d7:19:d8:a6:44"
channel = 6

[[ap]]
ssid = 'ab\,c'
password = '0123456789"\'
channel = 3

[[ap]]
ssid = "Wi-Fi"
password = "wifi-pass"
channel = 6

[[ap]]
ssid = "test"
password = "1234567890"

[[ap]]
ssid = "ssid"
password = "password"
"""
# A mode the command's notes require and its example leaves to the reader.
SETUP = {
    "AT+CWSAP": ["AT+CWMODE=3"],
    "AT+CWDHCPS": ["AT+CWMODE=3"],
    "AT+CIPAPMAC": ["AT+CWMODE=3"],
    "AT+CIPAP": ["AT+CWMODE=3"],
    "AT+SYSFLASH": ['AT+SYSFLASH=0,"mfg_nvs"'],  # "please make sure that you have erased"
    # "Delete the filter added above": the example before it adds it
    "AT+SYSMSGFILTERCFG=2,17,0": ["AT+SYSMSGFILTERCFG=1,17,0"],
    # a real module ships a client certificate there; a new flash file's mfg_nvs is empty
    "AT+SYSMFG": ['AT+SYSMFG=2,"client_cert","client_cert.0",8,1164'],
}
# What an example's comment says to enter after the prompt.
DATA = {
    "AT+SYSMSGFILTERCFG=1,17,0": b"^WIFI CONNECTED\r\n",
    "AT+SYSMSGFILTERCFG=2,17,0": b"^WIFI CONNECTED\r\n",
    'AT+SYSFLASH=1,"mfg_nvs",0,0x1C000': b"\xff" * 0x1C000,
    'AT+SYSMFG=2,"client_cert","client_cert.0",8,1164': b"-----BEGIN CERTIFICATE-----" * 43
    + b"---",  # 1164 bytes
}
# The fixed part of a shown line: up to its first value (a number, a version, a quote).
_FIXED = re.compile(r"^.*?(?=v?[0-9]|[{(\"]|$)")


# Commands whose example lines are alternatives, each for a module as it comes (erasing
# a namespace, then a key of it, would find the key gone): each line runs alone.
ALTERNATIVES = {"AT+SYSMFG", "AT+SAVETRANSLINK"}


def all_examples() -> list[rst.Example]:
    if not rst.available():
        return []
    found = [ex for chapter in rst.CHAPTERS for ex in rst.examples(chapter)]
    return [
        single
        for ex in found
        for single in (
            [rst.Example(ex.command, [step]) for step in ex.steps]
            if ex.command in ALTERNATIVES
            else [ex]
        )
    ]


def _id(example: rst.Example) -> str:
    return f"{example.command}:{example.steps[-1].line}"


async def _answer(at: At, line: str) -> bytes:
    """Send ``line``; its output without the echo, through its final result (with the
    data the example enters after a prompt)."""
    echo = line.encode() + b"\r\n"
    at.send(line)
    out = b""
    if line in DATA:
        out = await at.wait_for(b">")
        at.port.feed(DATA[line])
    out += await at.wait_for(b"\r\nOK\r\n", b"\r\nERROR\r\n")
    assert out.startswith(echo), out
    return out[len(echo) :]


@pytest.mark.parametrize("example", all_examples(), ids=_id)
async def test_every_example_answers_as_the_manual_says(example: rst.Example) -> None:
    if example.command in NOT_HERE:
        pytest.skip(NOT_HERE[example.command])
    if any('v6"' in step.line for step in example.steps):
        pytest.skip("the module is built without IPv6")  # AT+CIPV6 is not there
    line = example.steps[0].line
    if example.command in ALTERNATIVES and not line.startswith(example.command + "="):
        pytest.skip("a step of a longer scenario (its own command's example covers it)")
    if line.startswith("AT+SAVETRANSLINK=2,"):
        pytest.skip("Bluetooth LE is not implemented")
    flash = example.command in ("AT+SYSFLASH", "AT+SYSMFG")
    module, _ = await start_module(parse_scenario(WORLD, "examples.toml"), with_flash=flash)
    at = At(module)
    try:
        for line in SETUP.get(example.command, []) + SETUP.get(example.steps[0].line, []):
            assert (await _answer(at, line)).endswith(b"\r\nOK\r\n"), line
        for step in example.steps:
            out = await _answer(at, step.line)
            shown = [s for s in step.shown if s not in ("OK", "ERROR")]
            final = "ERROR" if "ERROR" in step.shown else "OK"
            assert out.endswith(f"\r\n{final}\r\n".encode()), (step.line, out)
            lines = [x.decode("utf-8", "replace") for x in out.split(b"\r\n")[:-3] if x]
            info = [x for x in lines if not x.startswith("WIFI ")]  # URCs of a join
            if shown:
                assert [_FIXED.match(x).group() for x in info] == [  # type: ignore[union-attr]
                    _FIXED.match(x).group()
                    for x in shown  # type: ignore[union-attr]
                ], (step.line, info, shown)
            for exact in (x for x in shown if x.startswith("ERR CODE")):
                assert exact in info, (step.line, info)
    finally:
        await module.close()
        await assert_no_tasks_left()


async def test_cmd_lists_every_command_of_the_two_chapters() -> None:
    module, at = await start_module()
    try:
        out = await at.cmd("AT+CMD?")
    finally:
        await module.close()
    listed = set(re.findall(rb'\+CMD:\d+,"([^"]+)"', out))
    manual = [name for chapter in rst.CHAPTERS for name in rst.listed_commands(chapter)]
    assert len(manual) > 50
    missing = [name for name in manual if name.encode() not in listed]
    assert sorted(missing) == sorted(NOT_HERE), missing
