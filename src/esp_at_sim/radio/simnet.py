"""The simulated network: the :class:`~esp_at_sim.radio.network.Network` of a scenario.

Connections are real asyncio sockets on this machine, but only where the scenario's
``[net]`` routes lead (:class:`~esp_at_sim.radio.netconfig.NetConfig`). A destination
without a route, or any destination while the joined AP has ``internet = false``, acts as
a host that never answers: the connect waits out its timeout on the module's clock and no
socket is ever opened. The joined AP's ``latency`` (seconds, each way), ``bandwidth``
(bytes/s, outgoing) and ``loss`` (0..1, outgoing UDP) shape the traffic.

Run-time faults: :meth:`SimNetwork.refuse`, :meth:`~SimNetwork.blackhole` (connects
hang, data vanishes), :meth:`~SimNetwork.stall` (data is held back until the connection
ends) and :meth:`~SimNetwork.close_all`.

Real sockets take real time: a connect to a routed destination is bounded by its
timeout in real seconds scaled as the clock is (in real seconds at time scale 0).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import random
import ssl
from collections.abc import Callable
from dataclasses import dataclass

from esp_at_sim.core.clock import Clock
from esp_at_sim.radio.netconfig import Endpoint, NetConfig, parse_endpoint
from esp_at_sim.radio.network import (
    AcceptCallback,
    DatagramEvents,
    NetError,
    NetFailure,
    StreamEvents,
)
from esp_at_sim.radio.tasks import TaskSet

_READ_SIZE = 2920  # what the module's stack hands up at most at a time


@dataclass(frozen=True)
class LinkConditions:
    """How the joined access point shapes traffic."""

    internet: bool = True
    latency: float = 0.0
    bandwidth: int = 0  # bytes/s; 0: unlimited
    loss: float = 0.0


ConditionsSource = Callable[[], LinkConditions | None]


def _matches(rules: list[Endpoint], ip: str, port: int | None) -> bool:
    return any(r.ip == ip and (r.port is None or r.port == port) for r in rules)


class SimStream:
    """One TCP/TLS connection on the simulated network (asyncio streams underneath)."""

    def __init__(
        self,
        net: SimNetwork,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        remote: tuple[str, int],
    ) -> None:
        self._net = net
        self._reader = reader
        self._writer = writer
        self.remote = remote
        sock = writer.get_extra_info("sockname")
        self.local_port: int = sock[1] if sock else 0
        self._events: StreamEvents | None = None
        self._readable = asyncio.Event()
        self._readable.set()
        self._closed = False
        self._gone = asyncio.Event()
        self._reader_task: asyncio.Task[None] | None = None

    def start(self, events: StreamEvents) -> None:
        self._events = events
        self._reader_task = self._net.tasks.spawn(self._read_loop())

    async def _read_loop(self) -> None:
        try:
            while True:
                await self._readable.wait()
                data = await self._reader.read(_READ_SIZE)
                if not data:
                    break
                latency = self._net.conditions().latency
                if latency > 0:
                    await self._net.clock.sleep(latency)
                if self._closed:
                    return
                self._net.count("rx", len(data))
                assert self._events is not None
                self._events.on_data(data)
        except (ConnectionError, OSError, ssl.SSLError):
            pass
        if not self._closed:
            self._finish()
            assert self._events is not None
            self._events.on_closed()

    async def send(self, data: bytes) -> None:
        if self._closed:
            raise NetError(NetFailure.CLOSED, "connection closed")
        ip, port = self.remote
        if self._net.is_blackholed(ip, port):
            return
        if self._net.is_stalled(ip, port):
            await self._gone.wait()
            raise NetError(NetFailure.CLOSED, "connection closed while stalled")
        conditions = self._net.conditions()
        if conditions.bandwidth:
            await self._net.clock.sleep(len(data) / conditions.bandwidth)
        try:
            self._writer.write(data)
            await self._writer.drain()
        except (ConnectionError, OSError, RuntimeError) as exc:
            raise NetError(NetFailure.CLOSED, str(exc)) from exc
        self._net.count("tx", len(data))

    def pause_reading(self) -> None:
        self._readable.clear()

    def resume_reading(self) -> None:
        self._readable.set()

    def close(self) -> None:
        if self._closed:
            return
        self._finish()
        task = self._reader_task
        if task is not None and task is not asyncio.current_task():
            task.cancel()

    def drop(self) -> None:
        """End the connection as a fault does: the module hears ``on_closed``."""
        if self._closed:
            return
        self.close()
        if self._events is not None:
            self._events.on_closed()

    def _finish(self) -> None:
        self._closed = True
        self._gone.set()
        self._net.streams.pop(self, None)
        self._writer.close()
        self._net.tasks.spawn(self._wait_closed())

    async def _wait_closed(self) -> None:
        with contextlib.suppress(Exception):
            await self._writer.wait_closed()


class _UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, owner: SimDatagram) -> None:
        self._owner = owner

    def datagram_received(self, data: bytes, addr: tuple[str | object, int]) -> None:
        self._owner.received(data, str(addr[0]), int(addr[1]))


class SimDatagram:
    """A UDP socket on the simulated network."""

    def __init__(self, net: SimNetwork, events: DatagramEvents, local_port: int) -> None:
        self._net = net
        self._events = events
        self.local_port = local_port
        self._transport: asyncio.DatagramTransport | None = None
        self._peers: dict[tuple[str, int], tuple[str, int]] = {}  # real → module's view

    async def open(self) -> None:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: _UdpProtocol(self), local_addr=(self._net.bind_address(), 0)
        )
        self._transport = transport

    def received(self, data: bytes, host: str, port: int) -> None:
        ip, mport = self._peers.get((host, port)) or self._net.module_view(host, port)
        self._net.count("rx", len(data))
        latency = self._net.conditions().latency
        if latency > 0:
            self._net.tasks.spawn(self._deliver_later(latency, data, ip, mport))
        else:
            self._events.on_datagram(data, ip, mport)

    async def _deliver_later(self, delay: float, data: bytes, ip: str, port: int) -> None:
        await self._net.clock.sleep(delay)
        if self._transport is not None:
            self._events.on_datagram(data, ip, port)

    async def send(self, data: bytes, ip: str, port: int) -> None:
        if self._transport is None:
            raise NetError(NetFailure.CLOSED, "socket closed")
        conditions = self._net.conditions()
        if conditions.bandwidth:
            await self._net.clock.sleep(len(data) / conditions.bandwidth)
        target = self._net.target(ip, port)
        if target is None or self._net.is_blackholed(ip, port) or self._net.is_stalled(ip, port):
            return  # a datagram into the void
        if conditions.loss and self._net.rng.random() < conditions.loss:
            return
        self._peers[target] = (ip, port)
        self._transport.sendto(data, target)
        self._net.count("tx", len(data))

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None


class SimListener:
    def __init__(self, server: asyncio.Server, address: tuple[str, int]) -> None:
        self._server = server
        self.address = address

    def close(self) -> None:
        self._server.close()


def default_port_map(port: int) -> int:
    """Where a listener for ``port`` really listens: privileged ports move up by 8000."""
    return port + 8000 if port < 1024 else port


class SimNetwork:
    """The sandboxed network of one simulated module."""

    __slots__ = (
        "_blackholed",
        "_conditions",
        "_refused",
        "_rng",
        "_stalled",
        "clock",
        "config",
        "counters",
        "listen_host",
        "port_map",
        "sockets_opened",
        "streams",
        "tasks",
    )

    def __init__(
        self,
        config: NetConfig,
        clock: Clock,
        conditions: ConditionsSource,
        port_map: Callable[[int], int] | None = None,
        listen_host: str = "127.0.0.1",
    ) -> None:
        self.config = config
        self.clock = clock
        self._conditions = conditions
        self.port_map = port_map or default_port_map
        self.listen_host = listen_host
        self.tasks = TaskSet()
        self.streams: dict[SimStream, None] = {}  # open streams, in opening order
        self._rng: random.Random | None = None
        self._refused: list[Endpoint] = []
        self._blackholed: list[Endpoint] = []
        self._stalled: list[Endpoint] = []
        self.counters = {"tx": 0, "rx": 0}
        self.sockets_opened = 0  # every real socket this network asked the OS for

    @property
    def rng(self) -> random.Random:
        """The loss dice, seeded alike for every network (made at the first throw)."""
        if self._rng is None:
            self._rng = random.Random(0x5EED)
        return self._rng

    # -- conditions and rules -------------------------------------------------------------
    def conditions(self) -> LinkConditions:
        return self._conditions() or LinkConditions()

    def count(self, direction: str, size: int) -> None:
        self.counters[direction] += size

    def target(self, ip: str, port: int) -> tuple[str, int] | None:
        """Where ``ip:port`` really is on this machine, ``None`` when unreachable."""
        if not self.conditions().internet:
            return None
        return self.config.route(ip, port)

    def module_view(self, host: str, port: int) -> tuple[str, int]:
        """The address the module sees for a real ``host:port`` (a route's destination)."""
        for dest, target in self.config.routes:
            if target.ip == host and (target.port is None or target.port == port):
                return dest.ip, dest.port if dest.port is not None else port
        return host, port

    def bind_address(self) -> str:
        loopback = (
            all(_is_loopback(target.ip) for _, target in self.config.routes)
            and not self.config.bridge
        )
        return "127.0.0.1" if loopback else "0.0.0.0"

    def is_blackholed(self, ip: str, port: int | None) -> bool:
        return _matches(self._blackholed, ip, port)

    def is_stalled(self, ip: str, port: int | None) -> bool:
        return _matches(self._stalled, ip, port)

    # -- faults ------------------------------------------------------------------------------
    def refuse(self, dest: str, on: bool = True) -> None:
        """Connections to ``ADDR[:PORT]`` are refused (as by a closed port)."""
        self._toggle(self._refused, dest, on)

    def blackhole(self, dest: str, on: bool = True) -> None:
        """``ADDR[:PORT]`` stops answering: connects time out, data vanishes."""
        self._toggle(self._blackholed, dest, on)

    def stall(self, dest: str, on: bool = True) -> None:
        """Sends to ``ADDR[:PORT]`` hang until the connection ends."""
        self._toggle(self._stalled, dest, on)

    @staticmethod
    def _toggle(rules: list[Endpoint], dest: str, on: bool) -> None:
        endpoint = parse_endpoint("destination", dest)
        if endpoint in rules:
            rules.remove(endpoint)
        if on:
            rules.append(endpoint)

    def close_all(self) -> int:
        streams = list(self.streams)
        for stream in streams:
            stream.drop()
        return len(streams)

    # -- the Network capability -----------------------------------------------------------
    async def resolve(self, name: str) -> str | None:
        try:
            return str(ipaddress.IPv4Address(name))
        except ValueError:
            pass
        found = self.config.resolve(name)
        if found is not None or not self.config.bridge:
            return found
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(name, None, family=2)  # AF_INET
        except OSError:
            return None
        return str(infos[0][4][0]) if infos else None

    async def open_stream(
        self,
        ip: str,
        port: int,
        events: StreamEvents,
        *,
        timeout: float,
        tls: ssl.SSLContext | None = None,
        server_hostname: str | None = None,
    ) -> SimStream:
        conditions = self.conditions()
        target = self.target(ip, port)
        if target is None or self.is_blackholed(ip, port):
            await self.clock.sleep(timeout)
            raise NetError(NetFailure.UNREACHABLE, f"{ip}:{port} does not answer")
        if conditions.latency > 0:
            await self.clock.sleep(2 * conditions.latency)
        if _matches(self._refused, ip, port):
            raise NetError(NetFailure.REFUSED, f"{ip}:{port} refused the connection")
        real_timeout = timeout * self.clock.scale if self.clock.scale > 0 else timeout
        self.sockets_opened += 1
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(
                    target[0],
                    target[1],
                    ssl=tls,
                    server_hostname=(server_hostname or ip) if tls is not None else None,
                ),
                real_timeout,
            )
        except ssl.SSLError as exc:
            raise NetError(NetFailure.TLS, str(exc)) from exc
        except TimeoutError as exc:
            raise NetError(NetFailure.UNREACHABLE, f"{ip}:{port} did not answer") from exc
        except OSError as exc:
            raise NetError(NetFailure.REFUSED, str(exc)) from exc
        stream = SimStream(self, reader, writer, (ip, port))
        self.streams[stream] = None
        stream.start(events)
        return stream

    async def ping(self, ip: str, timeout: float, *, local: bool = False) -> float | None:
        """An echo answers after the joined AP's latency both ways when ``ip`` is routed
        (on any port) or ``local``; nothing ever leaves this machine."""
        conditions = self.conditions()
        routed = local or (
            conditions.internet
            and (self.config.bridge or any(dest.ip == ip for dest, _ in self.config.routes))
        )
        if not routed or self.is_blackholed(ip, None):
            await self.clock.sleep(timeout)
            return None
        rtt = 2 * conditions.latency
        await self.clock.sleep(rtt)
        return rtt

    async def open_datagram(self, local_port: int, events: DatagramEvents) -> SimDatagram:
        datagram = SimDatagram(self, events, local_port)
        self.sockets_opened += 1
        await datagram.open()
        return datagram

    def add_route(self, dest: str, port: int | None, target: tuple[str, int]) -> str:
        """Route ``dest`` on ``port`` to ``target``; a name gets an address of
        198.18.0.0/15 (set aside for tests) unless ``hosts`` already has one."""
        try:
            ip = str(ipaddress.IPv4Address(dest))
        except ValueError:
            ip = self.config.resolve(dest) or self._free_test_address()
        self.config = self.config.with_route(dest, ip, port, Endpoint(*target))
        return ip

    def _free_test_address(self) -> str:
        used = {ip for _, ip in self.config.hosts} | {d.ip for d, _ in self.config.routes}
        for host in ipaddress.IPv4Network("198.18.0.0/15").hosts():
            if str(host) not in used:
                return str(host)
        raise ValueError("no test address left")  # pragma: no cover - 131070 routes

    def expose(self, host: str, port_map: Callable[[int], int]) -> None:
        """Listeners go on ``host``, on the host port ``port_map`` gives (0: any free)."""
        self.listen_host = host
        self.port_map = port_map

    async def listen(
        self, port: int, accept: AcceptCallback, *, tls: ssl.SSLContext | None = None
    ) -> SimListener:
        def connected(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            peer = writer.get_extra_info("peername") or ("0.0.0.0", 0)
            stream = SimStream(self, reader, writer, (str(peer[0]), int(peer[1])))
            self.streams[stream] = None
            events = accept(stream, str(peer[0]), int(peer[1]))
            if events is None:
                stream.close()
            else:
                stream.start(events)

        host_port = self.port_map(port)
        self.sockets_opened += 1
        server = await asyncio.start_server(connected, self.listen_host, host_port, ssl=tls)
        bound = server.sockets[0].getsockname()
        return SimListener(server, (str(bound[0]), int(bound[1])))

    async def close(self) -> None:
        for stream in list(self.streams):
            stream.close()
        await self.tasks.close()


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"
