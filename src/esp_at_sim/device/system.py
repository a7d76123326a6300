"""System state of the module: store mode, system messages, UART configuration."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..core.settings import Settings

# ESP32 UART: APB clock 80 MHz, divider with a 4-bit fraction.
_UART_CLOCK = 80_000_000


@dataclass(frozen=True)
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

    def as_setting(self) -> str:
        return f"{self.baudrate},{self.databits},{self.stopbits},{self.parity},{self.flow_control}"

    @classmethod
    def from_setting(cls, text: str) -> UartConfig:
        b, d, s, p, f = (int(x) for x in text.split(","))
        return cls(b, d, s, p, f)

    def char_time(self) -> float:
        """Seconds one character takes on the wire (start bit, data, parity, stop)."""
        stop = {1: 1.0, 2: 1.5, 3: 2.0}.get(self.stopbits, 1.0)
        bits = 1 + self.databits + (1 if self.parity else 0) + stop
        return bits / self.baudrate


@dataclass
class SystemState:
    """Settings of the basic and system command groups."""

    store_mode: bool = True  # AT+SYSSTORE
    sysmsg: int = 0  # AT+SYSMSG bits
    uart_default: UartConfig = field(default_factory=UartConfig)
    uart_current: UartConfig = field(default_factory=UartConfig)
    sleep_mode: int = 1  # AT+SLEEP: modem sleep (DTIM) is the firmware's default
    timestamp_base: int = 0  # AT+SYSTIMESTAMP value set...
    timestamp_set_at: float = 0.0  # ...at this simulated time
    heap_minimum: int = 0  # lowest free heap reported since boot (0: none yet)

    def load(self, saved: Settings) -> None:
        """Apply stored settings at boot (everything else returns to its default)."""
        self.store_mode = True
        sysmsg = saved.get("sysmsg")
        self.sysmsg = sysmsg if isinstance(sysmsg, int) else 0
        uart = saved.get("uart_def")
        self.uart_default = UartConfig.from_setting(uart) if isinstance(uart, str) else UartConfig()
        self.uart_current = self.uart_default
        self.sleep_mode = 1
        self.timestamp_base = 0
        self.timestamp_set_at = 0.0
        self.heap_minimum = 0
