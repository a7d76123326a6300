"""TCP/IP settings of the module (connections themselves come with the TCP/IP commands)."""

from __future__ import annotations

from dataclasses import astuple, dataclass, field

from ..core.settings import Settings
from .settings_schema import CIPDNS, RECONN_INTV, SSL_CCONF, TCP_OPT, Entry

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


@dataclass(frozen=True, slots=True)
class SendLConfig:
    """AT+CIPSENDLCFG: how often AT+CIPSENDL reports, how much it sends at a time."""

    report_size: int = 1024
    transmit_size: int = 2920


_DEFAULT_SSL_CLIENT = SslClientConfig()
_DEFAULT_TCP = TcpOptions()


@dataclass(slots=True)
class NetState:
    mux: bool = False  # AT+CIPMUX
    recv_mode: int = 0  # AT+CIPRECVMODE: 0 active (+IPD), 1 passive
    recv_types: list[int] = field(default_factory=lambda: [0] * (MAX_LINKS))  # per link
    # AT+CIPRECVTYPE's <data_len_report_mode>, per link: 1 reports a UDP link's next datagram
    recv_reports: list[int] = field(default_factory=lambda: [0] * (MAX_LINKS))
    dinfo: bool = False  # AT+CIPDINFO
    # per link; the configurations are immutable, so links at defaults share one
    ssl_client: list[SslClientConfig] = field(
        default_factory=lambda: [_DEFAULT_SSL_CLIENT] * MAX_LINKS
    )
    tcp_options: list[TcpOptions] = field(default_factory=lambda: [_DEFAULT_TCP] * MAX_LINKS)
    reconn_interval: int = 1  # AT+CIPRECONNINTV, in 100 ms
    dns_manual: bool = False  # AT+CIPDNS's <enable>
    dns_servers: tuple[str, ...] = DEFAULT_DNS
    sendl: SendLConfig = SendLConfig()
    # AT+CIPCONNPERSIST: per link, 1 keeps it open when the station loses its network
    conn_persist: list[int] = field(default_factory=lambda: [0] * MAX_LINKS)

    def load(self, saved: Settings) -> None:
        self.reconn_interval = RECONN_INTV.read(saved)
        servers = CIPDNS.read(saved)
        self.dns_manual, self.dns_servers = bool(servers), servers or DEFAULT_DNS
        self.tcp_options = [_DEFAULT_TCP] * MAX_LINKS
        for index, numbers in enumerate(TCP_OPT.read(saved) or ()):
            self.tcp_options[index] = TcpOptions(*numbers)
        self.mux = False
        self.sendl = SendLConfig()
        self.conn_persist = [0] * MAX_LINKS
        self.recv_mode = 0
        self.recv_types = [0] * MAX_LINKS
        self.recv_reports = [0] * MAX_LINKS
        self.dinfo = False
        self.ssl_client = [_DEFAULT_SSL_CLIENT] * MAX_LINKS
        for index, numbers in enumerate(SSL_CCONF.read(saved) or ()):
            self.ssl_client[index] = SslClientConfig(*numbers)

    def dns_entry(self) -> Entry:
        return CIPDNS.entry(self.dns_servers if self.dns_manual else ())

    def tcp_entry(self) -> Entry:
        return TCP_OPT.entry(tuple(astuple(options) for options in self.tcp_options))

    def ssl_entry(self) -> Entry:
        return SSL_CCONF.entry(tuple(astuple(config) for config in self.ssl_client))

    def set_keep_alive(self, link_id: int, seconds: int) -> None:
        """AT+CIPSTART's ``<keep_alive>``: the same setting as AT+CIPTCPOPT's."""
        options = self.tcp_options[link_id]
        self.tcp_options[link_id] = TcpOptions(
            options.linger, options.nodelay, options.send_timeout, seconds
        )
