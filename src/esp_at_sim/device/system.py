"""System state of the module: store mode, system messages, UART configuration."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..core.settings import Settings
from .msgfilter import MessageFilters
from .settings_schema import SYSMSG, uart_numbers

# ESP32 UART: APB clock 80 MHz, divider with a 4-bit fraction.
_UART_CLOCK = 80_000_000


@dataclass(frozen=True, slots=True)
class UartConfig:
    baudrate: int = 115200
    databits: int = 8
    stopbits: int = 1
    parity: int = 0
    flow_control: int = 0

    def actual_baudrate(self) -> int:
        """The rate the divider really produces (what the query commands print)."""
        divider = (_UART_CLOCK * 16) // self.baudrate
        return (_UART_CLOCK * 16) // divider

    def numbers(self) -> tuple[int, int, int, int, int]:
        """Rate, data bits, stop bits, parity, flow control, as AT+UART_DEF? prints them."""
        return (self.baudrate, self.databits, self.stopbits, self.parity, self.flow_control)

    def text(self) -> str:
        return ",".join(str(n) for n in self.numbers())

    def char_time(self) -> float:
        """Seconds one character takes on the wire (start bit, data, parity, stop)."""
        stop = {1: 1.0, 2: 1.5, 3: 2.0}.get(self.stopbits, 1.0)
        bits = 1 + self.databits + (1 if self.parity else 0) + stop
        return bits / self.baudrate


@dataclass(slots=True)
class SystemState:
    """Settings of the basic and system command groups."""

    store_mode: bool = True  # AT+SYSSTORE
    sysmsg: int = 0  # AT+SYSMSG bits
    uart_default: UartConfig = field(default_factory=UartConfig)
    uart_current: UartConfig = field(default_factory=UartConfig)
    sleep_mode: int = 1  # AT+SLEEP: modem sleep (DTIM) is the firmware's default
    # The system time (AT+SYSTIMESTAMP, SNTP): Unix seconds set at a simulated time. The
    # RTC keeps it across a software reset.
    timestamp_base: float = 0.0
    timestamp_set_at: float = 0.0
    heap_minimum: int = 0  # lowest free heap reported since boot (0: none yet)
    wakeup_gpio: tuple[int, int] | None = None  # AT+SLEEPWKCFG=2,<pin>,<level>
    registers: dict[int, int] = field(default_factory=dict)  # AT+SYSREG's writes
    msg_filters: MessageFilters = field(default_factory=MessageFilters)  # AT+SYSMSGFILTER

    def load(self, saved: Settings) -> None:
        """Apply stored settings at boot (everything else returns to its default)."""
        self.store_mode = True
        self.sysmsg = SYSMSG.read(saved)
        self.uart_default = UartConfig(*uart_numbers(saved, UartConfig().numbers()))
        self.uart_current = self.uart_default
        self.sleep_mode = 1
        self.heap_minimum = 0
        self.wakeup_gpio = None
        self.registers = {}
        self.msg_filters.reset()
