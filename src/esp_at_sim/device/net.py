"""TCP/IP settings of the module (connections themselves come with the TCP/IP commands)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..core.settings import Settings

MAX_LINKS = 5
# The servers AT+CIPDNS falls back to (its manual's list).
DEFAULT_DNS = ("208.67.222.222", "114.114.114.114", "8.8.8.8")


@dataclass(frozen=True)
class SslClientConfig:
    auth_mode: int = 0
    pki_number: int = 0
    ca_number: int = 0


@dataclass(frozen=True)
class TcpOptions:
    """AT+CIPTCPOPT's socket options of one link."""

    linger: int = -1
    nodelay: int = 0
    send_timeout: int = 0  # ms
    keep_alive: int = 0  # s

    def text(self) -> str:
        return f"{self.linger},{self.nodelay},{self.send_timeout},{self.keep_alive}"


@dataclass
class NetState:
    mux: bool = False  # AT+CIPMUX
    recv_mode: int = 0  # AT+CIPRECVMODE: 0 active (+IPD), 1 passive
    recv_types: list[int] = field(default_factory=lambda: [0] * (MAX_LINKS))  # per link
    dinfo: bool = False  # AT+CIPDINFO
    ssl_client: list[SslClientConfig] = field(
        default_factory=lambda: [SslClientConfig() for _ in range(MAX_LINKS)]
    )

    tcp_options: list[TcpOptions] = field(
        default_factory=lambda: [TcpOptions() for _ in range(MAX_LINKS)]
    )
    reconn_interval: int = 1  # AT+CIPRECONNINTV, in 100 ms
    dns_manual: bool = False  # AT+CIPDNS's <enable>
    dns_servers: tuple[str, ...] = DEFAULT_DNS

    def load(self, saved: Settings) -> None:
        interval = saved.get("reconnintv")
        self.reconn_interval = (
            interval if isinstance(interval, int) and 1 <= interval <= 36000 else 1
        )
        dns = saved.get("cipdns")
        self.dns_manual, self.dns_servers = False, DEFAULT_DNS
        if isinstance(dns, str) and dns.startswith("1;"):
            servers = tuple(s for s in dns[2:].split(",") if s)
            if 1 <= len(servers) <= 3:
                self.dns_manual, self.dns_servers = True, servers
        self.tcp_options = [TcpOptions() for _ in range(MAX_LINKS)]
        stored_opts = saved.get("tcpopt")
        if isinstance(stored_opts, str):
            for index, item in enumerate(stored_opts.split(";")[:MAX_LINKS]):
                parts = item.split(",")
                if len(parts) == 4 and all(p.lstrip("-").isdigit() for p in parts):
                    linger, nodelay, sndtimeo, keep = (int(p) for p in parts)
                    self.tcp_options[index] = TcpOptions(linger, nodelay, sndtimeo, keep)
        self.mux = False
        self.recv_mode = 0
        self.recv_types = [0] * MAX_LINKS
        self.dinfo = False
        self.ssl_client = [SslClientConfig() for _ in range(MAX_LINKS)]
        stored = saved.get("sslcconf")
        if isinstance(stored, str):
            for index, item in enumerate(stored.split(";")[:MAX_LINKS]):
                a, p, c = (int(x) for x in item.split(","))
                self.ssl_client[index] = SslClientConfig(a, p, c)

    def tcp_setting(self) -> str:
        return ";".join(options.text() for options in self.tcp_options)

    def ssl_setting(self) -> str:
        return ";".join(f"{c.auth_mode},{c.pki_number},{c.ca_number}" for c in self.ssl_client)

    def set_keep_alive(self, link_id: int, seconds: int) -> None:
        """AT+CIPSTART's ``<keep_alive>``: the same setting as AT+CIPTCPOPT's."""
        options = self.tcp_options[link_id]
        self.tcp_options[link_id] = TcpOptions(
            options.linger, options.nodelay, options.send_timeout, seconds
        )
