"""Basic and system AT commands: AT, ATE, AT+RST, AT+GMR, AT+CMD, AT+GSLP, AT+RESTORE,
AT+SYSSTORE, AT+SYSLOG, AT+SYSMSG, AT+UART_CUR/DEF, AT+SYSRAM, AT+SYSTIMESTAMP, AT+SLEEP;
:data:`COMMANDS` also lists those of :mod:`.basic_msg` (message filters) and
:mod:`.basic_hw` (RF power and calibration, wake-up pin, registers) in the manual's order."""

from __future__ import annotations

import asyncio
import hashlib
from typing import TYPE_CHECKING

from ..at.errors import exec_fail, para_invalid
from ..at.table import Args, Command, IntParam, Result
from ..device.settings_schema import SYSMSG, uart_entries
from ..device.system import UartConfig
from . import basic_hw, basic_msg

if TYPE_CHECKING:
    from ..device.module import Module

# Heap figures of a freshly booted ESP32 running ESP-AT (bytes), and what a started
# SoftAP or station interface costs; AT+SYSRAM reports from this model.
HEAP_TOTAL = 294_912
HEAP_AT_BOOT = 171_460
HEAP_PER_INTERFACE = 9_216


def _ok(module: Module, args: Args) -> None:
    return None


def _echo(module: Module, args: Args) -> None:
    value = args.integer(0)
    if value not in (0, 1):
        raise para_invalid(0)
    module.engine.echo = bool(value)


def _restart(module: Module, args: Args) -> None:
    module.schedule_restart()


def _short_hash(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()[:8]


def _gmr(module: Module, args: Args) -> list[str]:
    ident = module.identity
    chip = ident.chip.upper().replace("ESP32C3", "ESP32-C3")
    return [
        f"AT version:{ident.at_version}(s-{_short_hash(ident.at_version)[:7]} - {chip} - "
        f"{ident.compile_time})",
        f"SDK version:{ident.sdk_version}",
        f"compile time({_short_hash(ident.bin_version)}):{ident.compile_time}",
        f"Bin version:{ident.bin_version}({ident.name})",
    ]


def _cmd_list(module: Module, args: Args) -> list[str]:
    return module.table.cmd_lines()


def _deep_sleep(module: Module, args: Args) -> Result:
    ms = args.integer(0)
    module.schedule_restart(sleep=ms / 1000)
    return Result((str(ms),))


def _restore(module: Module, args: Args) -> None:
    module.schedule_restart(erase_settings=True)


def _sysstore_query(module: Module, args: Args) -> list[str]:
    return [f"+SYSSTORE:{int(module.system.store_mode)}"]


def _sysstore_set(module: Module, args: Args) -> None:
    module.system.store_mode = bool(args.integer(0))


def _syslog_query(module: Module, args: Args) -> list[str]:
    return [f"+SYSLOG:{int(module.engine.syslog)}"]


def _syslog_set(module: Module, args: Args) -> None:
    module.engine.syslog = bool(args.integer(0))


def _sysmsg_query(module: Module, args: Args) -> list[str]:
    return [f"+SYSMSG:{module.system.sysmsg}"]


def _sysmsg_set(module: Module, args: Args) -> None:
    module.system.sysmsg = args.integer(0)
    module.persist(SYSMSG.entry(module.system.sysmsg))


def _uart_args(args: Args) -> UartConfig:
    return UartConfig(*(args.integer(i) for i in range(5)))


def _apply_uart_later(module: Module, config: UartConfig) -> None:
    """The new line settings apply once the OK has left at the old ones."""

    def apply() -> None:
        module.system.uart_current = config
        module.emit("uart", config=config.text())

    asyncio.get_running_loop().call_soon(apply)


def _uart_cur_query(module: Module, args: Args) -> list[str]:
    cfg = module.system.uart_current
    return [
        f"+UART_CUR:{cfg.actual_baudrate()},{cfg.databits},{cfg.stopbits},{cfg.parity},"
        f"{cfg.flow_control}"
    ]


def _uart_cur_set(module: Module, args: Args) -> None:
    _apply_uart_later(module, _uart_args(args))


def _uart_def_query(module: Module, args: Args) -> list[str]:
    cfg = module.system.uart_default
    return [f"+UART_DEF:{cfg.text()}"]


def _uart_def_set(module: Module, args: Args) -> None:
    config = _uart_args(args)
    module.persist(*uart_entries(config.numbers()), always=True)
    module.system.uart_default = config
    _apply_uart_later(module, config)


def _heap_free(module: Module) -> int:
    interfaces = {0: 0, 1: 1, 2: 1, 3: 2}.get(module.wifi.mode, 0)
    return HEAP_AT_BOOT - interfaces * HEAP_PER_INTERFACE


def _sysram_query(module: Module, args: Args) -> list[str]:
    free = _heap_free(module)
    module.system.heap_minimum = min(module.system.heap_minimum or free, free)
    return [f"+SYSRAM:{free},{module.system.heap_minimum}"]


def _sysram_set(module: Module, args: Args) -> list[str]:
    caps = args.integer(0)
    if caps < 0:
        raise para_invalid(0)
    free = _heap_free(module)
    module.system.heap_minimum = min(module.system.heap_minimum or free, free)
    largest = min(free, 110_592)
    return [f"+SYSRAM:{largest},{free},{module.system.heap_minimum},{HEAP_TOTAL}"]


def _timestamp_query(module: Module, args: Args) -> list[str]:
    return [f"+SYSTIMESTAMP:{int(module.sntp.wall_time())}"]


def _timestamp_set(module: Module, args: Args) -> None:
    module.sntp.set_wall_time(args.integer(0))


def _sleep_query(module: Module, args: Args) -> list[str]:
    return [f"+SLEEP:{module.system.sleep_mode}"]


def _sleep_set(module: Module, args: Args) -> None:
    mode = args.integer(0)
    wifi_mode = module.wifi.mode
    if mode in (1, 3) and wifi_mode not in (0, 1):
        raise exec_fail(reason="modem sleep needs station-only Wi-Fi mode")
    if mode == 2 and wifi_mode in (2, 3):
        raise exec_fail(reason="light sleep is not possible with the SoftAP on")
    module.system.sleep_mode = mode
    # light sleep wakes on the pin AT+SLEEPWKCFG set (without one a module never wakes)
    wake = module.system.wakeup_gpio if mode == 2 else None
    module.emit("sleep.mode", mode=mode, wakeup_gpio=list(wake) if wake else None)


_UART_PARAMS = (
    IntParam("baudrate", 80, 5_000_000),
    IntParam("databits", 5, 8),
    IntParam("stopbits", 1, 3),
    IntParam("parity", 0, 2),
    IntParam("flow control", 0, 3),
)

COMMANDS: list[Command[Module]] = [
    Command("AT", execute=_ok),
    Command("AT+RST", execute=_restart),
    Command("AT+GMR", execute=_gmr),
    Command("AT+CMD", query=_cmd_list),
    Command("AT+GSLP", set=_deep_sleep, params=(IntParam("time", 0, 2**31 - 1),)),
    Command("ATE", execute=_echo),
    Command("AT+RESTORE", execute=_restore),
    Command("AT+UART_CUR", query=_uart_cur_query, set=_uart_cur_set, params=_UART_PARAMS),
    Command("AT+UART_DEF", query=_uart_def_query, set=_uart_def_set, params=_UART_PARAMS),
    Command("AT+SLEEP", query=_sleep_query, set=_sleep_set, params=(IntParam("mode", 0, 3),)),
    Command(
        "AT+SYSRAM", query=_sysram_query, set=_sysram_set, params=(IntParam("caps", 0, 2**31 - 1),)
    ),
    Command("AT+SYSMSG", query=_sysmsg_query, set=_sysmsg_set, params=(IntParam("state", 0, 7),)),
    *basic_msg.COMMANDS,
    *basic_hw.RF_COMMANDS,
    Command(
        "AT+SYSTIMESTAMP",
        query=_timestamp_query,
        set=_timestamp_set,
        params=(IntParam("timestamp", 0, 2**31 - 1),),
    ),
    Command("AT+SYSLOG", query=_syslog_query, set=_syslog_set, params=(IntParam("status", 0, 1),)),
    *basic_hw.WAKE_COMMANDS,
    Command(
        "AT+SYSSTORE",
        query=_sysstore_query,
        set=_sysstore_set,
        params=(IntParam("store_mode", 0, 1),),
    ),
    *basic_hw.REG_COMMANDS,
]
