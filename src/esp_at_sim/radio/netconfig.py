"""The network the module sees: names it can resolve and where its connections really go.

A scenario's ``[net]`` table (and ``run --route`` / ``--net-bridge``) gives:

- ``hosts``: name → IPv4 address, what AT+CIPDOMAIN and a name in AT+CIPSTART resolve;
- ``routes``: ``ADDR[:PORT]`` → ``HOST[:PORT]``, where a connection to that destination is
  really opened on this machine (a route without a port keeps the destination's port);
- ``bridge``: whether a destination without a route goes to that same address (and a name
  without a ``hosts`` entry to this machine's resolver).

Nothing else is reachable: the network is sandboxed by default.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass

from esp_at_sim.radio.fields import FieldError, describe


@dataclass(frozen=True)
class Endpoint:
    """An IPv4 address with an optional port (``None``: any port / the same port)."""

    ip: str
    port: int | None = None

    def __str__(self) -> str:
        return self.ip if self.port is None else f"{self.ip}:{self.port}"


def parse_endpoint(key: str, text: object, *, host_ok: bool = False) -> Endpoint:
    """``ADDR`` or ``ADDR:PORT``; with ``host_ok`` the address may be a host name too."""
    if not isinstance(text, str) or not text:
        raise FieldError(key, f"must be ADDR or ADDR:PORT, got {describe(text)}")
    if host_ok and (text.startswith("[") or text.count(":") > 1):
        return _ipv6_target(key, text)
    addr, sep, port_text = text.rpartition(":")
    if not sep:
        addr, port_text = text, ""
    port: int | None = None
    if sep:
        if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
            raise FieldError(key, f"port must be 1..65535, got {describe(port_text)}")
        port = int(port_text)
    try:
        return Endpoint(str(ipaddress.IPv4Address(addr)), port)
    except ValueError:
        if host_ok and addr and all(part.isalnum() or "-" in part for part in addr.split(".")):
            return Endpoint(addr.lower(), port)
        raise FieldError(key, f"not an IPv4 address: {describe(addr)}") from None


def _ipv6_target(key: str, text: str) -> Endpoint:
    """A route's target on this machine as ``::1`` or ``[::1]:PORT``."""
    addr, port = text, None
    if text.startswith("["):
        addr, sep, rest = text[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise FieldError(key, f"must be [IPV6]:PORT, got {describe(text)}")
        if rest:
            port = parse_endpoint(key, f"0.0.0.0{rest}").port
    try:
        return Endpoint(str(ipaddress.IPv6Address(addr)), port)
    except ValueError:
        raise FieldError(key, f"not an IPv6 address: {describe(addr)}") from None


@dataclass(frozen=True)
class NetConfig:
    """The ``[net]`` table: ``hosts``, ``routes`` and ``bridge``."""

    hosts: tuple[tuple[str, str], ...] = ()
    routes: tuple[tuple[Endpoint, Endpoint], ...] = ()
    bridge: bool = False

    @classmethod
    def from_table(cls, raw: Mapping[str, object]) -> NetConfig:
        """Build from a TOML table; :class:`FieldError` names the bad key."""
        for key in raw:
            if key not in ("hosts", "routes", "bridge"):
                raise FieldError(f"net.{key}", "unknown key (known: hosts, routes, bridge)")
        hosts_raw = raw.get("hosts", {})
        routes_raw = raw.get("routes", {})
        bridge = raw.get("bridge", False)
        if not isinstance(hosts_raw, dict):
            raise FieldError("net.hosts", f"must be a table, got {describe(hosts_raw)}")
        if not isinstance(routes_raw, dict):
            raise FieldError("net.routes", f"must be a table, got {describe(routes_raw)}")
        if not isinstance(bridge, bool):
            raise FieldError("net.bridge", f"must be true or false, got {describe(bridge)}")
        hosts: list[tuple[str, str]] = []
        for name, addr in hosts_raw.items():
            key = f"net.hosts.{name}"
            if not name or len(name) > 64:
                raise FieldError(key, "a name must be 1..64 characters")
            endpoint = parse_endpoint(key, addr)
            if endpoint.port is not None:
                raise FieldError(key, f"must be an IPv4 address without a port, got {addr}")
            hosts.append((name.lower(), endpoint.ip))
        routes = [
            (
                parse_endpoint(f"net.routes.{dest}", dest),
                parse_endpoint(f"net.routes.{dest}", target, host_ok=True),
            )
            for dest, target in routes_raw.items()
        ]
        return cls(tuple(hosts), tuple(routes), bridge)

    def with_routes(self, routes: Mapping[str, str], bridge: bool = False) -> NetConfig:
        """This configuration with command-line routes added (they win over the file's)."""
        extra = [
            (parse_endpoint("--route", d), parse_endpoint("--route", t, host_ok=True))
            for d, t in routes.items()
        ]
        return NetConfig(self.hosts, (*extra, *self.routes), self.bridge or bridge)

    def with_route(self, name: str, ip: str, port: int | None, target: Endpoint) -> NetConfig:
        """This configuration with ``name`` resolving to ``ip`` (unless ``name`` is
        ``ip``) and ``ip[:port]`` routed to ``target``, ahead of the other routes."""
        hosts = self.hosts
        if name.lower() != ip:
            hosts = ((name.lower(), ip), *(h for h in hosts if h[0] != name.lower()))
        return NetConfig(hosts, ((Endpoint(ip, port), target), *self.routes), self.bridge)

    def resolve(self, name: str) -> str | None:
        """The address ``hosts`` gives a name (case-insensitive), or ``None``."""
        wanted = name.lower()
        return next((addr for host, addr in self.hosts if host == wanted), None)

    def route(self, ip: str, port: int) -> tuple[str, int] | None:
        """Where a connection to ``ip:port`` really goes: an exact ``ADDR:PORT`` route
        first, then an ``ADDR`` route, then the bridge; ``None`` when nowhere."""
        for dest, target in self.routes:
            if dest.ip == ip and dest.port == port:
                return target.ip, target.port if target.port is not None else port
        for dest, target in self.routes:
            if dest.ip == ip and dest.port is None:
                return target.ip, target.port if target.port is not None else port
        return (ip, port) if self.bridge else None


def parse_route_option(text: str) -> tuple[str, str]:
    """``ADDR[:PORT]=HOST[:PORT]`` from the command line, checked; ``ValueError`` if bad."""
    dest, sep, target = text.partition("=")
    if not sep:
        raise ValueError(f"--route must be ADDR[:PORT]=HOST[:PORT], got {text!r}")
    try:
        parse_endpoint("--route", dest)
        parse_endpoint("--route", target, host_ok=True)
    except FieldError as exc:
        raise ValueError(f"--route {text}: {exc.message}") from None
    return dest, target
