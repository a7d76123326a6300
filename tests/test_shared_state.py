"""What modules of one process share (the command table, the layout, the factory image
and its verification) stays shared only where it is the same for all: one module's
changes never reach another."""

from __future__ import annotations

import random

import pytest

from esp_at_sim.at.table import Command
from esp_at_sim.commands import build_table, shared_table
from esp_at_sim.flash.flashfile import load_layout
from esp_at_sim.radio.network import network_of
from esp_at_sim.radio.simnet import SimNetwork
from esp_at_sim.radio.world import ModuleConfig
from esp_at_sim.scenario import default_scenario
from esp_at_sim.testing import start_module


async def test_modules_share_one_frozen_command_table() -> None:
    one, at_one = await start_module(with_flash=True)
    two, at_two = await start_module(with_flash=True)
    try:
        assert one.table is two.table is shared_table()
        with pytest.raises(TypeError, match="frozen"):
            one.table.add(Command("AT+NEW"))
        assert one.table.get("AT+NEW") is None
        # what the commands change is each module's own
        assert await at_one.cmd("ATE0") == b"ATE0\r\n\r\nOK\r\n"
        assert await at_one.cmd("AT+SYSLOG=1") == b"\r\nOK\r\n"
        assert await at_two.cmd("AT+SYSLOG?") == b"AT+SYSLOG?\r\n+SYSLOG:0\r\n\r\nOK\r\n"
        assert await at_two.cmd("AT+FAKE") == b"AT+FAKE\r\n\r\nERROR\r\n"
        assert await at_one.cmd("AT+FAKE") == b"ERR CODE:0x01090000\r\n\r\nERROR\r\n"
    finally:
        await one.close()
        await two.close()


def test_a_built_table_is_private_and_open() -> None:
    table = build_table()
    assert table is not shared_table() and not table.frozen
    table.add(Command("AT+NEW"))
    assert shared_table().get("AT+NEW") is None
    assert len(table) == len(shared_table()) + 1


def test_builtin_layouts_are_parsed_once() -> None:
    assert load_layout("esp32") is load_layout("esp32")
    assert load_layout("esp32c3") is not load_layout("esp32")
    assert load_layout("esp32", chip="esp32c3").chip == "esp32c3"


async def test_an_idle_module_makes_its_queues_and_dice_at_first_use() -> None:
    module, at = await start_module(with_flash=True)
    try:
        network = network_of(module.radio)
        assert isinstance(network, SimNetwork)
        assert network._rng is None
        expected = random.Random(0x5EED)  # the same throws as dice made at construction
        assert [network.rng.random() for _ in range(3)] == [expected.random() for _ in range(3)]
        # the engine queues nothing until a line has to wait
        assert module.engine._pending is None and module.engine._urcs is None
        assert await at.cmd("AT") == b"AT\r\n\r\nOK\r\n"
        module.engine.receive_data(b"AT\r\nAT+GMR\r\n")  # two lines at once: queued
        assert module.engine._pending is not None
    finally:
        await module.close()


def test_the_running_identity_is_the_scenarios_own_until_an_image_says_otherwise() -> None:
    identity = ModuleConfig()
    same = identity.running(
        bin_version=identity.bin_version,
        sdk_version=identity.sdk_version,
        compile_time=identity.compile_time,
    )
    assert same is identity
    other = identity.running(
        bin_version="v9.9.9.9",
        sdk_version=identity.sdk_version,
        compile_time="Jan  1 2030 00:00:00",
    )
    assert other is not identity and other.bin_version == "v9.9.9.9"
    assert other.compile_time == "Jan  1 2030 00:00:00" and identity.bin_version != "v9.9.9.9"


async def test_a_module_booted_from_its_factory_image_keeps_the_scenarios_identity() -> None:
    module, at = await start_module(with_flash=True)
    try:
        assert module.identity is default_scenario().module
        assert (await at.cmd("AT+GMR")).count(b"\r\n") > 4
    finally:
        await module.close()
