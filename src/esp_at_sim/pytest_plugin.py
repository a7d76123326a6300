"""A pytest plugin: a simulated ESP-AT module for your tests.

Installed with esp-at-sim (entry point ``pytest11``); needs pytest-asyncio. Fixtures:

- ``esp_module`` — a module started in-process (flash in memory, web server
  ready for ``AT+WEBSERVER`` on free loopback ports), closed after the test.
- ``esp_at`` — an :class:`esp_at_sim.client.AtClient` on its AT port.
- ``esp_harness`` — a byte-level :class:`esp_at_sim.testing.AtHarness` on the same port.
- ``esp_web_url`` — the module set up as in ESP-AT's web server example (station+SoftAP,
  ``pos_softap``, ``AT+CIPMUX=1``, ``AT+WEBSERVER=1,80,25``): the page's base URL.
- ``esp_events`` — every event of the module since it was made (a live list).
- ``esp_faults`` — run-time fault injection (:class:`esp_at_sim.device.faults.Faults`);
  on a radio backend without fault support the faults of the air raise
  :class:`~esp_at_sim.device.faults.FaultUnsupported`, which names the backend.
- ``esp_scenario`` — the scenario in use.
- ``esp_route`` — ``esp_route("api.example.com", 80, ("127.0.0.1", 8000))`` routes a
  name (or address) and port of the module's network to a server on this machine.
- ``esp_serve`` — ``await esp_serve(handler, "api.example.com", 80)`` starts a loopback
  TCP server (``handler(reader, writer)``, as for :func:`asyncio.start_server`), routes
  the name to it and closes it after the test.
- ``esp_fleet`` — ``n`` modules (``@pytest.mark.esp_fleet(n)``, default 2), each
  started as ``esp_module`` is, with the MAC addresses ``esp-at-sim fleet`` gives
  module ``i``: a list of :class:`FleetMember` (``index``, ``module``, ``at``, ``harness``,
  ``events``, ``faults``).

Choose the scenario, the time scale and the radio backend per test with markers, or for
the whole run with options::

    @pytest.mark.esp_scenario("tests/lab.toml")     # a path, TOML text or a Scenario
    @pytest.mark.esp_time_scale(0)                  # 0 (the default): no waiting at all
    @pytest.mark.esp_radio("sim")                   # the default backend
    @pytest.mark.esp_route("api.example.com:80", "127.0.0.1:8000")  # a fixed route
    async def test_join(esp_at): ...

    pytest --esp-scenario lab.toml --esp-time-scale 0.1 --esp-radio sim
"""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

# pytest loads this plugin in every run where esp-at-sim is installed, before coverage
# starts: the simulator itself is imported by the fixtures, only when a test uses them.
if TYPE_CHECKING:
    import asyncio

    from .client import AtClient
    from .core.events import Event
    from .device.faults import Faults
    from .device.module import Module
    from .scenario import Scenario
    from .testing import AtHarness, FleetMember, PortTee

HAVE_PYTEST_ASYNCIO = importlib.util.find_spec("pytest_asyncio") is not None
if HAVE_PYTEST_ASYNCIO:
    import pytest_asyncio

SEED_SETUP = (
    "AT+CWMODE=3",
    'AT+CWSAP="pos_softap","",11,0,3',
    "AT+CIPMUX=1",
    "AT+WEBSERVER=1,80,25",
)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("esp-at-sim", "simulated ESP-AT module")
    group.addoption(
        "--esp-scenario", metavar="FILE", help="scenario file for esp_module (default: home)"
    )
    group.addoption(
        "--esp-time-scale",
        type=float,
        default=None,
        metavar="F",
        help="time scale of esp_module's clock (default 0: simulated delays take no time)",
    )
    group.addoption(
        "--esp-radio", metavar="NAME", help="radio backend of esp_module (default: sim)"
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "esp_scenario(source): scenario for esp_module (path, TOML text, Scenario)"
    )
    config.addinivalue_line("markers", "esp_time_scale(scale): time scale for esp_module")
    config.addinivalue_line("markers", "esp_radio(name): radio backend for esp_module")
    config.addinivalue_line(
        "markers", "esp_route(dest, target): route NAME[:PORT] to HOST:PORT on this machine"
    )
    config.addinivalue_line("markers", "esp_fleet(n): how many modules esp_fleet starts")


def _scenario_from(source: object) -> Scenario:
    from .scenario import Scenario, load_scenario, parse_scenario

    if isinstance(source, Scenario):
        return source
    if isinstance(source, Path):
        return load_scenario(source)
    if isinstance(source, str):
        if "\n" in source or "=" in source:
            return parse_scenario(source, "<esp_scenario marker>")
        return load_scenario(source)
    raise TypeError(f"esp_scenario takes a path, TOML text or a Scenario, not {source!r}")


@pytest.fixture
def esp_scenario(request: pytest.FixtureRequest) -> Scenario:
    """The scenario of this test's module."""
    from .scenario import default_scenario, load_scenario

    marker = request.node.get_closest_marker("esp_scenario")
    if marker is not None:
        return _scenario_from(marker.args[0])
    option = request.config.getoption("--esp-scenario")
    return load_scenario(option) if option else default_scenario()


def _time_scale(request: pytest.FixtureRequest) -> float:
    marker = request.node.get_closest_marker("esp_time_scale")
    if marker is not None:
        return float(marker.args[0])
    option = request.config.getoption("--esp-time-scale")
    return 0.0 if option is None else float(option)


def _radio(request: pytest.FixtureRequest) -> str:
    marker = request.node.get_closest_marker("esp_radio")
    if marker is not None:
        return str(marker.args[0])
    option = request.config.getoption("--esp-radio")
    return str(option) if option else "sim"


class _Session:
    """What the fixtures of one test share about its module."""

    def __init__(self, module: Module) -> None:
        from .testing import PortTee

        self.module = module
        self.events: list[Event] = []
        module.bus.subscribe(self.events.append)
        self.port: PortTee = PortTee(module)
        self.web_lines: list[str] = []


_SESSIONS: dict[int, _Session] = {}
Handler = Callable[["asyncio.StreamReader", "asyncio.StreamWriter"], Awaitable[None]]
Serve = Callable[[Handler, str, int], Awaitable["asyncio.Server"]]


def _route(module: Module, dest: str, port: int | None, target: tuple[str, int]) -> str:
    from .radio.network import RouteControl, network_of

    network = network_of(module.radio)
    if not isinstance(network, RouteControl):
        raise RuntimeError(f"the {module.radio_name} radio takes no routes")
    return network.add_route(dest, port, target)


def _session(module: Module) -> _Session:
    return _SESSIONS[id(module)]


def _make_module(
    request: pytest.FixtureRequest, scenario: Scenario, *, fleet: bool = False
) -> Module:
    """A module for a fixture, not started: its session kept, its web server on free
    loopback ports (in a fleet every device port takes a free one)."""
    from .factory import create_module
    from .web import WebConfig, install_web

    module = create_module(scenario, time_scale=_time_scale(request), radio=_radio(request))
    session = _SESSIONS[id(module)] = _Session(module)
    install_web(
        module,
        WebConfig(
            port_map={80: 0, 53: 0, 3339: 0},
            announce=session.web_lines.append,
            free_ports=fleet,
        ),
    )
    module.servers.expose("127.0.0.1", lambda port: 0, session.web_lines.append)
    return module


def _fleet_size(request: pytest.FixtureRequest) -> int:
    marker = request.node.get_closest_marker("esp_fleet")
    size = marker.args[0] if marker is not None and marker.args else 2
    if not isinstance(size, int) or size < 1:
        raise TypeError(f"esp_fleet takes a number of modules >= 1, not {size!r}")
    return size


if HAVE_PYTEST_ASYNCIO:

    @pytest_asyncio.fixture
    async def esp_module(
        request: pytest.FixtureRequest, esp_scenario: Scenario
    ) -> AsyncIterator[Module]:
        """A simulated module, booted (``ready`` already printed)."""
        module = _make_module(request, esp_scenario)
        for marker in request.node.iter_markers("esp_route"):
            dest, target = (str(arg) for arg in marker.args)
            name, _, port = dest.partition(":")
            host, _, target_port = target.rpartition(":")
            _route(module, name, int(port) if port else None, (host, int(target_port)))
        try:
            await module.start()
            yield module
        finally:
            await module.close()
            _SESSIONS.pop(id(module), None)

    @pytest_asyncio.fixture
    async def esp_harness(esp_module: Module) -> AtHarness:
        """Byte-level access to the module's AT port."""
        from .testing import AtHarness

        return AtHarness(esp_module, _session(esp_module).port)

    @pytest_asyncio.fixture
    async def esp_at(esp_module: Module) -> AsyncIterator[AtClient]:
        """An AT client on the module's AT port."""
        from .client import AtClient

        client = await AtClient.open(_session(esp_module).port)
        try:
            yield client
        finally:
            await client.close()

    @pytest_asyncio.fixture
    async def esp_web_url(esp_module: Module) -> str:
        """Set the module up as in ESP-AT's web server example; the page's base URL."""
        from .testing import AtHarness

        harness = AtHarness(esp_module, _session(esp_module).port)
        harness.take()
        for line in SEED_SETUP:
            answer = await harness.cmd(line)
            if not answer.endswith(b"\r\nOK\r\n"):
                raise RuntimeError(f"{line} failed: {answer!r}")
        url = esp_module.web.url if esp_module.web is not None else None
        if url is None:
            raise RuntimeError("the web server did not start")
        return url

    @pytest.fixture
    def esp_events(esp_module: Module) -> list[Event]:
        """Every event of the module so far; the list grows as the test goes on."""
        return _session(esp_module).events

    @pytest.fixture
    def esp_route(esp_module: Module) -> Callable[[str, int | None, tuple[str, int]], str]:
        """``esp_route(dest, port, (host, port))``: the module's connections to ``dest``
        (a name or an address) on ``port`` (``None``: any) go to ``host:port`` on this
        machine; returns the address the module sees for ``dest``."""

        def route(dest: str, port: int | None, target: tuple[str, int]) -> str:
            return _route(esp_module, dest, port, target)

        return route

    @pytest_asyncio.fixture
    async def esp_serve(esp_module: Module) -> AsyncIterator[Serve]:
        """``await esp_serve(handler, name, port)``: a loopback TCP server the module
        reaches as ``name:port``; closed after the test, with every connection it took
        that the handler left open (else Python 3.12's ``wait_closed`` waits for them,
        and their transports would be left unclosed)."""
        import asyncio
        import contextlib

        servers: list[asyncio.Server] = []
        writers: set[asyncio.StreamWriter] = set()

        async def serve(handler: Handler, dest: str, port: int) -> asyncio.Server:
            async def tracked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
                writers.add(writer)
                await handler(reader, writer)

            server = await asyncio.start_server(tracked, "127.0.0.1", 0)
            servers.append(server)
            _route(esp_module, dest, port, ("127.0.0.1", server.sockets[0].getsockname()[1]))
            return server

        try:
            yield serve
        finally:
            for server in servers:
                server.close()
            for writer in writers:
                writer.close()
                with contextlib.suppress(OSError, TimeoutError):
                    await asyncio.wait_for(writer.wait_closed(), 5)
            for server in servers:
                await server.wait_closed()

    @pytest.fixture
    def esp_faults(esp_module: Module) -> Faults:
        """Fault injection for the module."""
        return esp_module.faults

    @pytest_asyncio.fixture
    async def esp_fleet(
        request: pytest.FixtureRequest, esp_scenario: Scenario
    ) -> AsyncIterator[list[FleetMember]]:
        """``@pytest.mark.esp_fleet(n)`` modules, booted, each with an AT client."""
        from .client import AtClient
        from .factory import fleet_member
        from .testing import AtHarness, FleetMember

        members: list[FleetMember] = []
        modules: list[Module] = []
        try:
            for index in range(_fleet_size(request)):
                scenario = fleet_member(esp_scenario, index)
                modules.append(_make_module(request, scenario, fleet=True))
            await asyncio.gather(*(module.start() for module in modules))
            for index, module in enumerate(modules):
                session = _session(module)
                client = await AtClient.open(session.port)
                harness = AtHarness(module, session.port)
                members.append(FleetMember(index, module, client, harness, session.events))
            yield members
        finally:
            for member in members:
                await member.at.close()
            for module in modules:
                await module.close()
                _SESSIONS.pop(id(module), None)
