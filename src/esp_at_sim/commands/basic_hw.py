"""Basic commands that reach the chip itself: AT+RFPOWER, AT+RFCAL, AT+SLEEPWKCFG and
AT+SYSREG.

- AT+RFPOWER works while Wi-Fi is on (initialized, mode 1..3) and keeps the power in the
  chip's steps (:func:`esp_at_sim.device.phy.tx_power_step`); Bluetooth LE is never
  initialized here (AT+BLEINIT is not implemented), so its three fields read 0 and
  setting them is ``ERROR``, as on a module before AT+BLEINIT.
- AT+SLEEPWKCFG takes a GPIO wake-up (source 2) on a pin that can wake the chip; sources
  0 and 1 are reserved.
- AT+SYSREG reads and writes a register file of the simulated chip: registers read 0
  until written. AT does not check the address, and neither do we beyond what the CPU
  does: an unaligned address, or one where nothing is mapped, makes the chip panic and
  reboot (no answer; ``ready`` once it is up again).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..at.errors import exec_fail, para_invalid, para_num
from ..at.table import Args, Command, IntParam, Result
from ..device.phy import tx_power_step
from .wifi_common import ensure, wifi_on

if TYPE_CHECKING:
    from ..device.module import Module
    from ..device.wifi import Wifi

RFCAL_TIME = 0.25  # seconds a full RF calibration takes
_BLE_LEVELS = {"esp32": 7, "esp32c3": 15}
# Pins that can wake the chip from light sleep.
_WAKE_PINS = {
    "esp32": frozenset(range(40)) - {20, 24, 28, 29, 30, 31},
    "esp32c3": frozenset(range(22)),
}
# Where something is mapped for a 32-bit load or store (peripherals, RTC memory, DRAM).
_MAPPED = {
    "esp32": (
        (0x3FF00000, 0x3FF82000),
        (0x3FFAE000, 0x40000000),
        (0x50000000, 0x50002000),
        (0x60000000, 0x600C0000),
    ),
    "esp32c3": ((0x3FC80000, 0x3FCE0000), (0x50000000, 0x50002000), (0x60000000, 0x600D1000)),
}


def _radio_on(m: Module) -> Wifi:
    wifi = wifi_on(m)
    ensure(wifi.mode != 0, exec_fail(reason="Wi-Fi is off (mode 0)"))
    return wifi


# ------------------------------------------------------------------------- RFPOWER
def _rfpower_query(m: Module, a: Args) -> list[str]:
    return [f"+RFPOWER:{_radio_on(m).phy.tx_power},0,0,0"]


def _rfpower_set(m: Module, a: Args) -> None:
    ble = [i for i in (1, 2, 3) if a.given(i)]
    if not a.given(0) and not ble:
        raise para_num(4, 0)
    top = _BLE_LEVELS.get(m.identity.chip, 7)
    for index in ble:
        ensure(a.integer(index) <= top, para_invalid(index, f"BLE power level 0..{top}"))
    ensure(not ble, exec_fail(reason="Bluetooth LE is not initialized (AT+BLEINIT)"))
    wifi = _radio_on(m)
    wifi.phy.tx_power = tx_power_step(m.identity.chip, a.integer(0))


async def _rfcal_execute(m: Module, a: Args) -> None:
    await m.clock.sleep(RFCAL_TIME)


# -------------------------------------------------------------------- SLEEPWKCFG
def _wkcfg_set(m: Module, a: Args) -> None:
    source = a.integer(0)
    ensure(source == 2, para_invalid(0, "wake-up sources 0 and 1 are reserved"))
    pin = a.integer(1)
    ensure(pin in _WAKE_PINS.get(m.identity.chip, frozenset()), para_invalid(1, "no such pin"))
    if not a.given(2):
        raise para_num(3, 2)
    m.system.wakeup_gpio = (pin, a.integer(2))


# ------------------------------------------------------------------------- SYSREG
def _mapped(chip: str, address: int) -> bool:
    regions = _MAPPED.get(chip, ())
    return address % 4 == 0 and any(lo <= address < hi for lo, hi in regions)


def _sysreg_set(m: Module, a: Args) -> Result | None:
    write, address = a.integer(0) == 1, a.integer(1)
    if write != a.given(2):
        raise para_num(3 if write else 2, len(a))
    if not _mapped(m.identity.chip, address):
        m.emit("boot.panic", reason=f"{'store' if write else 'load'} at 0x{address:08x}")
        m.schedule_restart()
        return Result(final="")  # the chip resets before it can answer
    registers = m.system.registers
    if write:
        registers[address] = a.integer(2)
        return None
    return Result((f"+SYSREG:0x{registers.get(address, 0):x}",))


_UINT32 = 0xFFFFFFFF

RF_COMMANDS: list[Command[Module]] = [
    Command(
        "AT+RFPOWER",
        query=_rfpower_query,
        set=_rfpower_set,
        params=(
            IntParam("wifi_power", 40, 84, optional=True),
            IntParam("ble_adv_power", 0, 15, optional=True),
            IntParam("ble_scan_power", 0, 15, optional=True),
            IntParam("ble_conn_power", 0, 15, optional=True),
        ),
    ),
    Command("AT+RFCAL", execute=_rfcal_execute),
]
WAKE_COMMANDS: list[Command[Module]] = [
    Command(
        "AT+SLEEPWKCFG",
        set=_wkcfg_set,
        params=(
            IntParam("wakeup_source", 0, 2),
            IntParam("param1", 0, 255),
            IntParam("param2", 0, 1, optional=True),
        ),
    )
]
REG_COMMANDS: list[Command[Module]] = [
    Command(
        "AT+SYSREG",
        set=_sysreg_set,
        params=(
            IntParam("direct", 0, 1),
            IntParam("address", 0, _UINT32),
            IntParam("write_value", 0, _UINT32, optional=True),
        ),
    )
]
