"""Coverage-guided fuzzing (atheris, libFuzzer) of the parsers that take bytes from
outside: the AT engine's framing with the command table's parser, the captive DNS
responder, and the web API's body parsers. A crash is an exception other than the
component's own refusal (AtError, BadRequest), or a DNS reply that breaks its bounds.

Kept out of the test suite: instrumentation and a useful run take minutes.
Usage: python bench/soak_atheris.py [seconds] [libFuzzer options...]   (default 60 s)
Needs ``pip install atheris`` (a binary wheel for CPython on Linux x86-64)."""

from __future__ import annotations

import contextlib
import sys

try:
    import atheris
except ImportError:  # pragma: no cover - depends on the machine
    sys.exit("soak_atheris: atheris is not installed (pip install atheris)")

with atheris.instrument_imports(include=["esp_at_sim"]):
    from esp_at_sim.at.engine import AtEngine, BadLine, CommandLine, DataReceived
    from esp_at_sim.at.errors import AtError
    from esp_at_sim.at.params import split_params
    from esp_at_sim.commands import build_table
    from esp_at_sim.web.dns import MAX_REPLY, MAX_REQUEST, answer
    from esp_at_sim.web.provisioning import parse_credentials
    from esp_at_sim.web.wire import BadRequest, form_arg, json_string

TABLE = build_table()
SOFTAP = "192.168.4.1"


def fuzz_at(data: bytes) -> None:
    engine = AtEngine()
    engine.receive_data(data)
    while (event := engine.next_event()) is not None:
        if isinstance(event, CommandLine):
            try:
                command, op, _ = TABLE.resolve(event.line)
            except AtError as exc:
                engine.fail(exc)
                continue
            assert command.handler(op) is not None
            engine.finish()
        elif isinstance(event, BadLine | DataReceived):
            engine.finish_silently()
    engine.data_to_send()
    with contextlib.suppress(AtError):
        split_params(data)


def fuzz_dns(data: bytes) -> None:
    reply = answer(data, SOFTAP)
    if reply is not None:
        answers = int.from_bytes(reply[6:8], "big")
        assert len(data) <= MAX_REQUEST
        assert len(reply) <= min(MAX_REPLY, len(data) + 16 * answers), (data, reply)
        assert reply[:2] == data[:2]


def fuzz_web(data: bytes) -> None:
    with contextlib.suppress(BadRequest):
        parse_credentials(data)
    form_arg(data, "received")
    json_string(data)


TARGETS = (fuzz_at, fuzz_dns, fuzz_web)


def test_one_input(data: bytes) -> None:
    if not data:
        return
    TARGETS[data[0] % len(TARGETS)](data[1:])


def main() -> None:
    seconds = 60
    args = sys.argv[1:]
    if args and args[0].isdigit():
        seconds = int(args.pop(0))
    atheris.Setup(
        [sys.argv[0], f"-max_total_time={seconds}", "-rss_limit_mb=2048", *args], test_one_input
    )
    atheris.Fuzz()


if __name__ == "__main__":
    main()
