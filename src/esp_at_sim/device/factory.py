"""Building a ready-to-start module from a scenario: identity, clock, radio, settings."""

from __future__ import annotations

from dataclasses import replace

from ..radio.sim import SimRadio
from ..scenario import ModuleConfig, Scenario, default_scenario
from .clock import Clock
from .module import Identity, Module
from .settings import SettingsStore
from .system import UartConfig

# The UART rate of ESP-AT's factory parameters (what a module boots with).
FACTORY_BAUD = 115200


def identity_for(config: ModuleConfig) -> Identity:
    """What the module reports about itself (AT+GMR, MACs, host name) per its scenario."""
    return Identity(
        at_version=config.at_version,
        sdk_version=config.sdk_version,
        bin_version=config.bin_version,
        module_name=config.name,
        chip=config.chip,
        sta_mac=config.sta_mac,
        ap_mac=config.ap_mac,
        hostname=config.hostname,
        country=config.country,
    )


def create_module(
    scenario: Scenario | None = None,
    *,
    time_scale: float = 1.0,
    store: SettingsStore | None = None,
    baud: int | None = None,
) -> Module:
    """A module on the scenario's air (the built-in "home" when ``None``), not started.

    ``time_scale`` multiplies every simulated delay (0: immediate). ``store`` keeps the
    settings (in memory when ``None``). ``baud`` is the UART rate the module boots with,
    as if its factory parameters said so: it applies at every boot unless a stored
    ``AT+UART_DEF`` overrides it.
    """
    scenario = scenario if scenario is not None else default_scenario()
    clock = Clock(time_scale)
    radio = SimRadio(scenario, clock)
    module = Module(radio=radio, clock=clock, identity=identity_for(scenario.module), store=store)
    if baud is not None and baud != FACTORY_BAUD:
        factory = replace(UartConfig(), baudrate=baud)

        def apply_factory_uart() -> None:
            if "uart_def" not in module.saved:
                module.system.uart_default = factory
                module.system.uart_current = factory

        module.on_boot(apply_factory_uart)
    return module
