"""Nothing secret in logs or event files: known passwords go through provisioning,
``AT+CWJAP`` and ``AT+CWSAP`` (and the ways a host gets those lines wrong); the event
file of ``esp-at-sim run --events``, its standard error, the module's event bus and
Python logging at DEBUG level never show them."""

from __future__ import annotations

import json
import logging
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from childwait import run_child
from esp_at_sim.cli.main import main
from esp_at_sim.core.events import Event
from esp_at_sim.testing import start_module

from .conftest import no_tasks_left, start_web_module
from .simproc import SimProcess

ROUTER_PASSWORD = "sunflower42"  # HomeNet's, in the built-in scenario
SECRETS = (
    "SoftApSecret99",
    "WrongSecret77",
    "BadProvPass55",
    "OldStyle2468",
    "Spaced1357",
    ROUTER_PASSWORD,
    "PskSecret4242",
    b"PskSecret4242".hex(),  # the same key as AT+CIPSSLCPSKHEX? shows it
    "c0ffee5ec2e7",
)
# Lines with a space or tab where the firmware's parser does not take one: refused, logged
# all the same, and masked like the lines it accepts.
SPACED_LINES = [
    'AT+CWJAP ="HomeNet","Spaced1357"',
    'AT+ CWJAP="HomeNet","Spaced1357"',
    'AT+CWJAP\t="HomeNet","Spaced1357"',
    'AT+CWJAP= "HomeNet","Spaced1357"',
    'AT+CWJAP="HomeNet" ,"Spaced1357"',
    'AT+CWJAP="HomeNet", "Spaced1357"',
    'AT+CWSAP ="pos_softap","Spaced1357",5,3',
]

# (line, terminator): right and wrong ways of sending a password on the AT port
AT_LINES: list[tuple[str, bytes]] = [
    ('AT+CWSAP="pos_softap","SoftApSecret99",5,3', b"\r\n"),
    ("AT+CWSAP?", b"\r\n"),
    ('AT+CWJAP="HomeNet","WrongSecret77"', b"\r\n"),
    ('AT+CWJAP="HomeNet","sunflower42"', b"\r\n"),
    ('AT+CWJAP="HomeNet","sunflower42",', b"\r\n"),  # a parameter error
    ('AT+CWJAP="HomeNet","sunflower42"', b"\n"),  # no CR: refused by framing
    ("AT+CWJAP=HomeNet,sunflower42", b"\r\n"),  # unquoted
    ('AT+CWJAP="HomeNet","sunflower42', b"\r\n"),  # unterminated string
    ('AT+CWJAP_CUR="HomeNet","OldStyle2468"', b"\r\n"),  # ESP-AT 1.x command names
    ('AT+CWSAP_DEF="pos_softap","OldStyle2468",5,3', b"\r\n"),
    ('at+cwjap="HomeNet","OldStyle2468"', b"\r\n"),  # lower case
    ('AT+CIPSSLCPSK="PskSecret4242","a-hint"', b"\r\n"),  # a TLS pre-shared key
    ("AT+CIPSSLCPSK?", b"\r\n"),
    ("AT+CIPSSLCPSKHEX?", b"\r\n"),
    ('AT+CIPSSLCPSKHEX="c0ffee5ec2e7","a-hint"', b"\r\n"),
    ('\x00AT+CWJAP="HomeNet","OldStyle2468"', b"\r\n"),  # line noise before AT
    ('AT+CWJEAP="Office",0,"id","user","OldStyle2468",0', b"\r\n"),
    *((line, b"\r\n") for line in SPACED_LINES),
]


def leaks(text: str) -> list[str]:
    return [secret for secret in SECRETS if secret in text]


# ------------------------------------------------------------------ out of process
def http(url: str, method: str = "GET", body: bytes | None = None) -> tuple[int, bytes]:
    req = urllib.request.Request(url, data=body, method=method)
    try:
        with urllib.request.urlopen(req, timeout=5) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def provision(base: str, ssid: str, password: str) -> int:
    """The stock page's flow; returns the final ``state`` it saw (1 or 2)."""
    body = json.dumps({"ssid": ssid, "password": password}).encode()
    assert http(f"{base}/setstainfo", "POST", body) == (200, b'{"state": 0}')
    for _ in range(200):
        _, info = http(f"{base}/getstainfo")
        state = int(json.loads(info)["state"])
        if state in (1, 2):
            break
    assert http(f"{base}/getresult", "POST", b"received=1")[0] == 200
    return state


@pytest.fixture
def sim_with_events(tmp_path: Path) -> Iterator[tuple[SimProcess, Path]]:
    events = tmp_path / "events.jsonl"
    proc = SimProcess(tmp_path / "sim", "--events", str(events))
    try:
        yield proc, events
    finally:
        proc.stop()


def test_event_file_and_stderr_never_show_a_password(
    sim_with_events: tuple[SimProcess, Path],
) -> None:
    sim, events = sim_with_events
    answers = b"".join(sim.at(line, end=end) for line, end in AT_LINES)
    assert b"SoftApSecret99" in answers  # the host sees what it asks for (AT+CWSAP?)
    assert provision(sim.url, "HomeNet", "BadProvPass55") == 2
    assert provision(sim.url, "HomeNet", ROUTER_PASSWORD) == 1
    assert sim.stop() == 0
    text = events.read_text()
    records = [json.loads(line) for line in text.splitlines()]
    lines = [r["line"] for r in records if r["kind"] == "at.cmd"]
    assert 'AT+CWJAP="HomeNet",***' in lines  # the commands are there, masked
    assert any(r["kind"] == "web.provisioning" for r in records)
    assert leaks(text) == []
    assert leaks(sim.stderr()) == []


# ---------------------------------------------------------------------- in process
class Everything(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(logging.Formatter().format(record))


@pytest.fixture
def debug_log() -> Iterator[Everything]:
    handler = Everything()
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


async def test_python_logging_and_events_never_show_a_password(debug_log: Everything) -> None:
    logging.getLogger("esp_at_sim.tests").debug("the capture works")  # on any event loop
    web = await start_web_module()
    events: list[Event] = []
    web.module.bus.subscribe(events.append)
    base = f"http://127.0.0.1:{web.port}"
    try:
        for line, end in AT_LINES:
            web.at.port.feed(line.encode() + end)
            await web.at.wait_for(b"\r\nOK\r\n", b"\r\nERROR\r\n")
        async with aiohttp.ClientSession() as session:
            for password, final in (("BadProvPass55", 2), (ROUTER_PASSWORD, 1)):
                body = json.dumps({"ssid": "HomeNet", "password": password})
                async with session.post(f"{base}/setstainfo", data=body) as r:
                    assert r.status == 200
                for _ in range(200):  # polled once a simulated second, as the page does
                    async with session.get(f"{base}/getstainfo") as r:
                        state = json.loads(await r.read())["state"]
                    if state in (1, 2):
                        break
                    await web.module.clock.sleep(1.0)
                assert state == final
                async with session.post(f"{base}/getresult", data="received=1") as r:
                    assert r.status == 200
    finally:
        await web.module.close()
        await no_tasks_left()
    assert debug_log.lines, "the capture saw nothing"
    assert leaks("\n".join(debug_log.lines)) == []
    assert leaks(repr([(e.kind, e.data) for e in events])) == []


# ------------------------------------------------------------- how lines are masked
BSSID = '"c0:ff:ee:00:00:01"'


@pytest.mark.parametrize(
    ("line", "logged"),
    [
        ('AT+CWJAP="HomeNet","sunflower42"', 'AT+CWJAP="HomeNet",***'),
        ('AT+CWJAP="HomeNet","sunflower42","c0:ff:ee:00:00:01"', f'AT+CWJAP="HomeNet",***,{BSSID}'),
        ('AT+CWSAP="pos_softap","SoftApSecret99",5,3', 'AT+CWSAP="pos_softap",***,5,3'),
        ('AT+CWJAP= "HomeNet","Spaced1357"', 'AT+CWJAP= "HomeNet",***'),
        ('AT+CWJAP="HomeNet" ,"Spaced1357"', "AT+CWJAP=***"),  # does not split
        ('AT+CWJAP ="HomeNet","Spaced1357"', "AT+CWJAP***"),
        ('AT+ CWJAP="HomeNet","Spaced1357"', "AT+***"),
        ('AT+CWJAP\t="HomeNet","Spaced1357"', "AT+CWJAP***"),
        ('AT+CWJAP="HomeNet","sunflower42', "AT+CWJAP=***"),
        ('AT+CWJAP_CUR="HomeNet","OldStyle2468"', "AT+CWJAP_CUR=***"),
        ('at+cwjap="HomeNet","OldStyle2468"', "at+cwjap***"),
        ('AT+CIPSSLCPSK="PskSecret4242","a-hint"', 'AT+CIPSSLCPSK=***,"a-hint"'),
        ('AT+CIPSSLCPSK=0,"PskSecret4242","a-hint"', 'AT+CIPSSLCPSK=0,***,"a-hint"'),
        ('AT+CIPSSLCPSKHEX="c0ffee5ec2e7",""', 'AT+CIPSSLCPSKHEX=***,""'),
        ("AT+CWMODE=3", "AT+CWMODE=3"),
        ("AT+CWJAP?", "AT+CWJAP?"),
    ],
)  # fmt: skip
async def test_what_the_parser_takes_as_a_secret_is_masked(line: str, logged: str) -> None:
    """One rule: the parameters the command table parses as secret are masked; a line it
    cannot take apart shows no parameters. The echo in the output log follows it."""
    web = await start_web_module()
    events: list[Event] = []
    web.module.bus.subscribe(events.append)
    try:
        web.at.port.feed(line.encode() + b"\r\n")
        answer = await web.at.wait_for(b"\r\nOK\r\n", b"\r\nERROR\r\n")
        assert answer.startswith(line.encode())  # the host's own echo is untouched
    finally:
        await web.module.close()
        await no_tasks_left()
    commands = [e.data["line"] for e in events if e.kind == "at.cmd"]
    assert commands == [logged]
    output = "".join(e.data["data"] for e in events if e.kind == "at.out")
    assert output.startswith(logged + "\r\n")
    assert leaks(repr([(e.kind, e.data) for e in events])) == []


def test_script_transcript_never_shows_a_password(tmp_path: Path) -> None:
    script = "AT+CWMODE=3\n" + "".join(f"-{line}\n" for line in SPACED_LINES)
    script += 'AT+CWJAP="HomeNet","sunflower42"\nATE0\nAT+CWJAP="HomeNet","sunflower42"\n'
    script += 'AT+CWJAP="HomeNet","WrongSecret77"\n'  # fails: the run stops here
    (tmp_path / "secrets.at").write_text(script)
    run = [sys.executable, "-m", "esp_at_sim", "run", "--at", "tcp:127.0.0.1:0"]
    run += ["--time-scale", "0", "--script", str(tmp_path / "secrets.at")]
    result = run_child(run, capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 1  # the last line failed
    transcript = result.stdout
    # a space after the comma, echo on, echo off, the failing line
    assert transcript.count('AT+CWJAP="HomeNet",***\n') == 4
    assert "AT+CWJAP***\n" in transcript and "AT+***\n" in transcript
    assert leaks(transcript) == []
    assert leaks(result.stderr) == []
    assert 'script line failed: AT+CWJAP="HomeNet",***' in result.stderr


async def test_flash_info_masks_stored_passwords_unless_asked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "m.flash"
    module, at = await start_module(flash=path)
    try:
        for line in ("AT+CWMODE=3", f'AT+CWJAP="HomeNet","{ROUTER_PASSWORD}"'):
            assert (await at.cmd(line)).endswith(b"\r\nOK\r\n")
        assert (await at.cmd('AT+CWSAP="pos_softap","SoftApSecret99",5,3')).endswith(b"OK\r\n")
    finally:
        await module.close()
    hexed = tuple(secret.encode().hex() for secret in ("SoftApSecret99", ROUTER_PASSWORD))
    assert main(["flash", "info", str(path)]) == 0
    shown = capsys.readouterr().out
    for key in ("sta.pswd", "sta.pmk", "ap.passwd", "ap.pmk_info"):
        assert f"nvs.net80211.{key} = *** (BLOB)" in shown, shown
    assert not any(h in shown for h in hexed) and leaks(shown) == []
    assert main(["flash", "info", "--show-secrets", str(path)]) == 0
    revealed = capsys.readouterr().out
    assert all(h in revealed for h in hexed), revealed
