"""Building a ready-to-start module from a scenario: identity, clock, radio, settings,
firmware and the command table.

This is where the layers are put together, so it sits above them all but the command
line: the device layer never imports the command groups, it is handed their table.
"""

from __future__ import annotations

import os
from dataclasses import replace

from .commands import shared_table
from .core.clock import Clock
from .core.settings import SettingsStore
from .device.firmware import FactoryFirmware, Firmware
from .device.module import Module
from .device.settings_schema import UART_RATE, uart_stored
from .device.system import UartConfig
from .radio.addresses import offset_mac
from .radio.fields import softap_mac_for
from .radio.registry import DEFAULT_BACKEND, RadioFactory, create_radio
from .radio.world import ModuleConfig
from .scenario import Scenario, default_scenario

# The UART rate of ESP-AT's factory parameters (what a module boots with).
FACTORY_BAUD = 115200
# Addresses an ESP32 takes from its base MAC: station, SoftAP, Bluetooth, Ethernet.
MACS_PER_CHIP = 4


def factory_firmware(identity: ModuleConfig) -> FactoryFirmware:
    """The image a new flash file starts with: the scenario's version strings."""
    date, _, time = identity.compile_time.rpartition(" ")
    return FactoryFirmware(
        version=identity.bin_version, idf_ver=identity.sdk_version, date=date, time=time
    )


def fleet_member(scenario: Scenario | None, index: int) -> Scenario:
    """The scenario of module ``index`` (0-based) of a fleet: the same air, the module's
    MAC addresses moved up by ``index`` chips (:data:`MACS_PER_CHIP` addresses each, as
    consecutive chips of a reel are numbered), so that no two modules share one. A SoftAP
    MAC the scenario leaves to be derived is derived from the new station MAC.
    :class:`ValueError` when the addresses run out of the vendor's block."""
    scenario = scenario if scenario is not None else default_scenario()
    if index == 0:
        return scenario
    identity = scenario.module
    step = MACS_PER_CHIP * index
    sta = offset_mac(identity.sta_mac, step)
    derived = identity.ap_mac == softap_mac_for(identity.sta_mac)
    ap = softap_mac_for(sta) if derived else offset_mac(identity.ap_mac, step)
    return replace(scenario, module=replace(identity, sta_mac=sta, ap_mac=ap))


def create_module(
    scenario: Scenario | None = None,
    *,
    time_scale: float = 1.0,
    store: SettingsStore | None = None,
    baud: int | None = None,
    flash: str | os.PathLike[str] | None = None,
    layout: str | os.PathLike[str] = "esp32",
    with_flash: bool = True,
    radio: str = DEFAULT_BACKEND,
    radio_factory: RadioFactory | None = None,
) -> Module:
    """A module on the scenario's air (the built-in "home" when ``None``), not started.

    ``time_scale`` multiplies every simulated delay (0: immediate). The module runs the
    firmware in its flash: the file ``flash`` (created on first use for the partition
    ``layout``: ``esp32``, ``esp32c3`` or a directory with the CSVs), or one in memory;
    ``with_flash=False`` gives a module without flash (settings in ``store`` or in
    memory, identity from the scenario). ``store`` overrides where settings live.
    ``baud`` is the UART rate the module boots with, as if its factory parameters said
    so: it applies at every boot unless a stored ``AT+UART_DEF`` overrides it. ``radio``
    names the radio backend (:mod:`esp_at_sim.radio.registry`; ``sim`` is the scenario's
    simulated air); ``radio_factory``, when given, is that backend already loaded (many
    modules made at once look the backend up once).

    Raises :class:`~esp_at_sim.radio.registry.RadioBackendError` for an unknown or broken
    backend and :class:`~esp_at_sim.flash.errors.FlashError` for an unusable flash file.
    """
    scenario = scenario if scenario is not None else default_scenario()
    clock = Clock(time_scale)
    identity = scenario.module
    firmware = None
    if with_flash:
        firmware = Firmware.open(
            flash, layout=layout, chip=scenario.module.chip, factory=factory_firmware(identity)
        )
    try:
        backend = create_radio(radio, scenario, clock, radio_factory)
    except BaseException:
        if firmware is not None:
            firmware.close()
        raise
    module = Module(
        radio=backend,
        radio_name=radio,
        clock=clock,
        table=shared_table(),
        identity=identity,
        store=store,
        firmware=firmware,
    )
    if baud is not None and baud != FACTORY_BAUD:
        factory = replace(UartConfig(), baudrate=baud)

        def apply_factory_uart() -> None:
            # the factory rate stands in for a stored rate that is missing or unusable
            if not uart_stored(module.saved) or UART_RATE.stored(module.saved) is None:
                config = replace(module.system.uart_default, baudrate=factory.baudrate)
                module.system.uart_default = config
                module.system.uart_current = config

        module.on_boot(apply_factory_uart)
    return module
