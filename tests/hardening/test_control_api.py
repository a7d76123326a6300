"""The control API (``run --control``) attacked as a web page and a careless client would:
no token or a wrong one, a foreign Origin (a ``text/plain`` POST needs no preflight),
bodies of the wrong shape or type, and a run told ``--host 0.0.0.0``. Each is refused
with a JSON error and changes nothing; nothing reaches the log as a traceback."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from childwait import Deadline, run_child
from esp_at_sim.client import SimControl, SimControlError
from esp_at_sim.core.events import Event
from esp_at_sim.device.module import Module
from esp_at_sim.factory import create_module
from esp_at_sim.testing import AtHarness
from esp_at_sim.web.control import ControlServer

from .conftest import ErrorLog, no_tasks_left
from .simproc import START_TIMEOUT, SimProcess

RUN = [sys.executable, "-m", "esp_at_sim", "run", "--time-scale", "0"]

TOKEN = "hardening-token-0123"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
JSON = {"Content-Type": "application/json"}


class Control:
    """A module at time scale 0 in mode 3 and its control server on loopback."""

    def __init__(self, module: Module, at: AtHarness, server: ControlServer) -> None:
        self.module, self.at, self.server = module, at, server
        self.session = aiohttp.ClientSession()
        self.events: list[Event] = []
        module.bus.subscribe(self.events.append)

    async def call(
        self, method: str, path: str, *, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> tuple[int, dict[str, Any]]:
        async with self.session.request(
            method, self.server.base + path, headers=headers, **kwargs
        ) as response:
            assert response.content_type == "application/json", await response.text()
            return response.status, await response.json()

    def faults_injected(self) -> list[str]:
        return [e.data["name"] for e in self.events if e.kind == "fault"]


@pytest.fixture
async def control() -> AsyncIterator[Control]:
    module = create_module(time_scale=0)
    at = AtHarness(module)
    await module.start()
    assert (await at.cmd("AT+CWMODE=3")).endswith(b"\r\nOK\r\n")
    server = ControlServer(module, TOKEN)
    await server.start("127.0.0.1", 0)
    made = Control(module, at, server)
    try:
        yield made
    finally:
        await made.session.close()
        await server.close()
        await module.close()
        await no_tasks_left()


# ---------------------------------------------------------------------- the token
@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-token-0123"},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": f"Bearer {TOKEN}x"},
        {"Authorization": "Bearer"},
    ],
    ids=["none", "wrong", "basic", "longer", "empty"],
)
async def test_every_request_needs_the_token(control: Control, headers: dict[str, str]) -> None:
    for method, path, body in (
        ("GET", "/status", None),
        ("GET", "/events?after=0", None),
        ("POST", "/faults/vanish", {"ap": "HomeNet"}),
        ("GET", "/nowhere", None),
    ):
        status, answer = await control.call(method, path, headers=headers, json=body)
        assert status == 401 and answer["ok"] is False and "token" in answer["error"]
    assert control.faults_injected() == []
    status, answer = await control.call("GET", "/status", headers=AUTH)
    assert status == 200 and answer["booted"] is True


async def test_sim_control_takes_the_token_or_the_url(control: Control) -> None:
    async with SimControl(control.server.url) as sim:
        assert (await sim.status())["boot_count"] == 1
    async with SimControl(control.server.base, token=TOKEN) as sim:
        assert (await sim.status())["boot_count"] == 1
    async with SimControl(control.server.base) as sim:
        with pytest.raises(SimControlError, match="token"):
            await sim.status()


# ---------------------------------------------------------------------- the Origin
async def test_a_web_page_cannot_make_an_ap_vanish(control: Control) -> None:
    """A ``text/plain`` POST is a "simple" request: a browser sends it cross-site without
    a preflight, with the page's Origin. Even with the right token it is refused."""
    for origin in ("http://evil.example", "null", f"http://evil.example:{control.server.port}"):
        for headers in ({"Origin": origin}, {"Origin": origin, **AUTH}):
            status, answer = await control.call(
                "POST",
                "/faults/vanish",
                headers={**headers, "Content-Type": "text/plain"},
                data=b'{"ap": "HomeNet"}',
            )
            assert status == 403 and "Origin" in answer["error"], answer
    assert control.faults_injected() == []
    own = {"Origin": f"http://127.0.0.1:{control.server.port}", **AUTH}
    status, answer = await control.call(
        "POST", "/faults/vanish", headers=own, json={"ap": "HomeNet"}
    )
    assert status == 200 and control.faults_injected() == ["vanish"]


# ----------------------------------------------------------------------- bodies
@pytest.mark.parametrize(
    ("fault", "body", "message"),
    [
        ("phone_join", {"mac": 123}, "phone_join: mac must be a string or null, not 123"),
        ("stall_upload", {"on": "no"}, 'stall_upload: on must be true or false, not "no"'),
        ("refuse_joins", {"ap": "HomeNet", "count": "1"}, "count must be a whole number"),
        ("refuse_joins", {"ap": "HomeNet", "count": 1.5}, "count must be a whole number"),
        ("refuse_joins", {"ap": "HomeNet", "count": True}, "count must be a whole number"),
        ("drop_link", {"reason": None}, "reason must be a whole number, not null"),
        ("vanish", {}, "vanish needs ap"),
        ("vanish", {"ap": "HomeNet", "when": 1}, "vanish takes no argument 'when'"),
        ("vanish", ["HomeNet"], "must be a JSON object"),
        ("vanish", "HomeNet", "must be a JSON object"),
        ("explode", {}, "unknown fault 'explode'"),
        ("phone_join", {"mac": "zz:zz"}, "phone"),
        ("change_password", {"ap": "HomeNet", "password": "short"}, "password"),
        ("smartconfig", {"ssid": "HomeNet", "protocol": "wechat"}, "smartconfig"),
        ("smartconfig", {"password": "x"}, "smartconfig needs ssid"),
        ("wps_button", {"ap": "HomeNet"}, "no WPS"),
        ("wps_button", {"ap": "Nowhere"}, "no access point"),
    ],
)
async def test_bad_bodies_get_a_clear_400_and_change_nothing(
    control: Control, error_log: ErrorLog, fault: str, body: object, message: str
) -> None:
    status, answer = await control.call("POST", f"/faults/{fault}", headers=AUTH, json=body)
    assert status == 400 and answer["ok"] is False and message in answer["error"], answer
    assert control.faults_injected() == []
    assert error_log.messages() == []


@pytest.mark.parametrize(
    ("headers", "data", "status", "message"),
    [
        (JSON, b"{", 400, "the body is not JSON"),
        (JSON, b"\xff\xfe", 400, "the body is not JSON"),
        ({"Content-Type": "text/plain"}, b'{"ap": "HomeNet"}', 415, "Content-Type"),
        ({"Content-Type": "application/x-www-form-urlencoded"}, b"ap=HomeNet", 415, "JSON"),
        (JSON, b'{"ap": "' + b"x" * 70_000 + b'"}', 413, "Too Large"),
    ],
)
async def test_bodies_that_are_not_json_objects(
    control: Control,
    error_log: ErrorLog,
    headers: dict[str, str],
    data: bytes,
    status: int,
    message: str,
) -> None:
    got, answer = await control.call(
        "POST", "/faults/vanish", headers={**headers, **AUTH}, data=data
    )
    assert got == status and message in answer["error"], answer
    assert control.faults_injected() == [] and error_log.messages() == []


async def test_other_refusals_are_json_too(control: Control) -> None:
    assert (await control.call("GET", "/nowhere", headers=AUTH))[0] == 404
    status, answer = await control.call("GET", "/faults/vanish", headers=AUTH)
    assert status == 405 and answer["ok"] is False
    for after in ("-1", "x", "1e9", "9" * 40):
        status, answer = await control.call("GET", f"/events?after={after}", headers=AUTH)
        assert status == 400 and "after" in answer["error"]


async def test_status_time_has_no_float_noise(control: Control) -> None:
    clock = control.module.clock
    times = []
    for step in (0.1, 0.2, 0.1, 0.7):  # from 0.8 s: 1.2000000000000002, 1.9000000000000001
        await clock.sleep(step)
        _, status = await control.call("GET", "/status", headers=AUTH)
        times.append(status["time"])
        assert len(repr(status["time"]).partition(".")[2]) <= 6, status["time"]
    assert times[-1] == round(clock.now(), 6)


# ------------------------------------------------------------------- the address
def listening_addresses(pid: int, port: int) -> set[str]:
    """The local addresses ``pid`` listens on at TCP ``port`` (from /proc, IPv4 only)."""
    found = set()
    for line in Path(f"/proc/{pid}/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, _, hex_port = local.partition(":")
        if state == "0A" and int(hex_port, 16) == port:  # LISTEN
            found.add(".".join(str(b) for b in reversed(bytes.fromhex(address))))
    return found


def test_run_keeps_the_control_api_on_loopback(tmp_path: Path) -> None:
    """``--host`` moves the module's services; the control API stays on 127.0.0.1 (here
    ``--host 127.0.0.2``, so that the test itself stays on loopback), with a token."""
    out = tmp_path / "stdout.txt"
    with open(out, "wb") as stdout:
        proc = subprocess.Popen(
            [*RUN, "--at", "tcp:127.0.0.1:0", "--host", "127.0.0.2", "--control", "0"],
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=subprocess.DEVNULL,
        )
    try:
        deadline = Deadline(START_TIMEOUT, proc.pid)
        while "AT port:" not in out.read_text() and not deadline.expired():
            assert proc.poll() is None
            time.sleep(0.02)
        found = re.search(
            r"Control: http://127\.0\.0\.1:(\d+)/#token=[\w-]{24,}\n", out.read_text()
        )
        assert found, out.read_text()
        assert listening_addresses(proc.pid, int(found.group(1))) == {"127.0.0.1"}
    finally:
        proc.terminate()
        proc.wait(START_TIMEOUT)


def test_run_takes_the_token_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_token = "from-the-environment"
    monkeypatch.setenv("ESP_AT_SIM_CONTROL_TOKEN", env_token)
    sim = SimProcess(tmp_path, "--control", "0")
    try:
        assert f"/#token={env_token}\n" in sim.stdout_path.read_text()
    finally:
        sim.stop()


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--control", "0", "--control-token", "short"], None, "8 to 256 characters"),
        (["--control", "0", "--control-token", "has space in it"], None, "8 to 256"),
        (["--control", "0"], "bad token with spaces", "ESP_AT_SIM_CONTROL_TOKEN"),
    ],
)
def test_bad_tokens_are_refused(args: list[str], env: str | None, message: str) -> None:
    environment = dict(os.environ)
    if env is not None:
        environment["ESP_AT_SIM_CONTROL_TOKEN"] = env
    done = run_child(
        [*RUN, "--at", "tcp:0", *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=30,
        env=environment,
    )
    assert done.returncode == 2 and message in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def test_every_run_gets_its_own_token(tmp_path: Path) -> None:
    tokens = []
    for n in range(2):
        sim = SimProcess(tmp_path / str(n), "--control", "0")
        try:
            text = sim.stdout_path.read_text()
            tokens.append(text.split("#token=")[1].split()[0])
        finally:
            sim.stop()
    assert tokens[0] != tokens[1] and all(len(t) >= 24 for t in tokens)


async def test_smartconfig_through_the_control_api(control: Control) -> None:
    assert (await control.at.cmd("AT+CWMODE=1")).endswith(b"\r\nOK\r\n")
    assert (await control.at.cmd("AT+CWSTARTSMART")).endswith(b"\r\nOK\r\n")
    body = {"ssid": "HomeNet", "password": "sunflower42", "protocol": "airkiss"}
    status, answer = await control.call("POST", "/faults/smartconfig", headers=AUTH, json=body)
    assert status == 200 and answer["result"] is True, answer
    assert (await control.at.wait_for(b"smartconfig connected wifi\r\n")).startswith(
        b"smartconfig type:AIRKISS\r\nSmart get wifi info\r\nssid:HomeNet\r\n"
    )
    assert control.faults_injected() == ["smartconfig"]
