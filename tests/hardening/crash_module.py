"""Child process of the module-level crash tests (and of ``bench/soak_crash.py``).

Where ``tests/flash`` kills the flash library in the middle of an operation, this kills
a whole module (AT engine, web server, flash) doing the operation the way a host does
it: an OTA upload through ``POST /setotadata`` then ``AT+RST``; an otadata switch with
``AT+SYSROLLBACK`` then ``AT+RST``; a run of settings saves (``AT+CWMODE``,
``AT+CWSAP``, ``AT+CWJAP``, ``AT+CWHOSTNAME``...). It reuses the write counter and the
SIGKILL of ``tests/flash/crash_child.py``.

``crash_module.py prepare OP BASE`` makes the flash file an operation starts from.
``crash_module.py count OP FLASH`` runs it to the end and prints ``writes=N`` and the
settings stored after each step (one JSON list on the ``states=`` line).
``crash_module.py plan OP BASE PROBE`` does both: prepares BASE, counts on a copy PROBE.
``crash_module.py kill OP LIMIT:TEAR:FLASH ...`` forks once per argument; each fork runs
``OP`` on its ``FLASH`` and SIGKILLs itself just before raw write ``LIMIT`` (after half
of it when ``TEAR`` is 1). For every fork it prints ``FLASH``, the signal that ended it
and its exit status.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
import traceback
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "flash"))

import aiohttp
from crash_child import arm

from esp_at_sim.device.module import Module
from esp_at_sim.factory import create_module
from esp_at_sim.flash import build_app_image
from esp_at_sim.testing import AtHarness
from esp_at_sim.web import WebConfig, install_web

OPS = ("ota", "rollback", "settings")
FACTORY = "v4.1.1.0"  # the built-in scenario's firmware, in ota_0 of a new flash file
UPDATE = "v9.0.0"
IMAGE = build_app_image(UPDATE, size=48_000)
SETTINGS_STEPS = (
    "AT+CWMODE=3",
    'AT+CWSAP="crash_ap","crashpass1",6,3',
    'AT+CWJAP="HomeNet","sunflower42"',
    'AT+CWHOSTNAME="crashy"',
    "AT+CWAUTOCONN=0",
    "AT+CWMODE=1",
)


# The stored settings after each step of a counting run (``None``: not recording).
STATES: list[dict[str, Any]] | None = None


def record(module: Module) -> None:
    if STATES is not None:
        STATES.append(plain(module.store.load()))


def plain(settings: dict[str, Any]) -> dict[str, Any]:
    """Settings as JSON can carry them (bytes in hex)."""
    return {k: v.hex() if isinstance(v, bytes) else v for k, v in sorted(settings.items())}


async def boot(path: Path) -> tuple[Module, AtHarness]:
    module = create_module(time_scale=0, flash=path)
    install_web(module, WebConfig(port_map={80: 0, 53: 0}, announce=lambda line: None))
    at = AtHarness(module)
    await module.start()
    await at.wait_for(b"ready\r\n")
    record(module)
    return module, at


async def ok(module: Module, at: AtHarness, line: str) -> bytes:
    answer = await at.cmd(line)
    if not answer.endswith(b"\r\nOK\r\n"):
        raise RuntimeError(f"{line}: {answer!r}")
    record(module)
    return answer


async def reset(module: Module, at: AtHarness) -> None:
    await ok(module, at, "AT+RST")
    await at.wait_for(b"ready\r\n")
    await at.settle()
    record(module)


async def upload(module: Module, at: AtHarness) -> None:
    await ok(module, at, "AT+CWMODE=3")
    await ok(module, at, "AT+WEBSERVER=1,80,25")
    assert module.web is not None and module.web.url is not None
    url = module.web.url.rstrip("/") + "/setotadata"
    async with aiohttp.ClientSession() as session:
        chunks = (IMAGE[at_ : at_ + 4096] for at_ in range(0, len(IMAGE), 4096))

        async def body() -> Any:
            for chunk in chunks:
                yield chunk

        headers = {"Object": "ota", "Content-Length": str(len(IMAGE))}
        async with session.post(url, data=body(), headers=headers) as answer:
            if answer.status != 200:
                raise RuntimeError(f"upload refused: {answer.status}")
    record(module)


async def operate(op: str, path: Path) -> None:
    module, at = await boot(path)
    try:
        if op == "ota":
            await upload(module, at)
            await reset(module, at)
        elif op == "rollback":
            await ok(module, at, "AT+SYSROLLBACK")
            await reset(module, at)
        elif op == "settings":
            for line in SETTINGS_STEPS:
                await ok(module, at, line)
        else:
            raise ValueError(op)
    finally:
        await module.close()


async def prepare(op: str, path: Path) -> None:
    """A flash that booted the factory firmware (and for ``rollback``: that then took
    the update and runs it, confirmed)."""
    if op == "rollback":
        await operate("ota", path)
    else:
        module, _ = await boot(path)
        await module.close()


def main() -> None:
    global STATES
    mode, op = sys.argv[1], sys.argv[2]
    if mode == "prepare":
        asyncio.run(prepare(op, Path(sys.argv[3])))
        return
    if mode == "plan":
        base, probe = Path(sys.argv[3]), Path(sys.argv[4])
        asyncio.run(prepare(op, base))
        shutil.copyfile(base, probe)
        mode = "count"
        sys.argv[3] = str(probe)
    if mode == "count":
        count = arm(-1, False)
        STATES = []
        asyncio.run(operate(op, Path(sys.argv[3])))
        print(f"writes={count[0]}")
        print("states=" + json.dumps(STATES))
        return
    for spec in sys.argv[3:]:
        limit, tear, path = spec.split(":", 2)
        sys.stdout.flush()
        pid = os.fork()
        if pid == 0:
            arm(int(limit), tear == "1")
            code = 0
            try:
                asyncio.run(operate(op, Path(path)))
            except BaseException:
                traceback.print_exc()
                code = 1
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        died = os.WTERMSIG(status) if os.WIFSIGNALED(status) else 0
        print(path, died, os.WEXITSTATUS(status) if os.WIFEXITED(status) else -1)


if __name__ == "__main__":
    main()
