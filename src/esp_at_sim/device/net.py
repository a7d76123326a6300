"""TCP/IP settings of the module (connections themselves come with the TCP/IP commands)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..core.settings import Settings

MAX_LINKS = 5


@dataclass(frozen=True)
class SslClientConfig:
    auth_mode: int = 0
    pki_number: int = 0
    ca_number: int = 0


@dataclass
class NetState:
    mux: bool = False  # AT+CIPMUX
    recv_mode: int = 0  # AT+CIPRECVMODE: 0 active (+IPD), 1 passive
    dinfo: bool = False  # AT+CIPDINFO
    ssl_client: list[SslClientConfig] = field(
        default_factory=lambda: [SslClientConfig() for _ in range(MAX_LINKS)]
    )

    def load(self, saved: Settings) -> None:
        self.mux = False
        self.recv_mode = 0
        self.dinfo = False
        self.ssl_client = [SslClientConfig() for _ in range(MAX_LINKS)]
        stored = saved.get("sslcconf")
        if isinstance(stored, str):
            for index, item in enumerate(stored.split(";")[:MAX_LINKS]):
                a, p, c = (int(x) for x in item.split(","))
                self.ssl_client[index] = SslClientConfig(a, p, c)

    def ssl_setting(self) -> str:
        return ";".join(f"{c.auth_mode},{c.pki_number},{c.ca_number}" for c in self.ssl_client)

    def link_count(self) -> int:
        """Open connections (none until the TCP/IP commands open any)."""
        return 0
