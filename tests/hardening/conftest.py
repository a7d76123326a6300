"""Fixtures of the hardening tests: an in-process module with its web server (time scale
0, loopback, ephemeral ports), and checks that a test leaves no task, thread or file
descriptor behind."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from esp_at_sim.device.module import Module
from esp_at_sim.factory import create_module
from esp_at_sim.testing import AtHarness, assert_no_tasks_left
from esp_at_sim.web import WebConfig, WebServer, install_web


def open_fds() -> set[int]:
    return {int(name) for name in os.listdir("/proc/self/fd")}


@pytest.fixture(autouse=True)
def no_leaked_threads_or_fds() -> Iterator[None]:
    threads = set(threading.enumerate())
    fds = open_fds()
    yield
    left = [t for t in threading.enumerate() if t not in threads and t.is_alive()]
    for thread in left:  # asyncio.to_thread workers end with their loop; give them a moment
        thread.join(2)
    left = [t for t in left if t.is_alive()]
    assert not left, f"threads left running: {left}"
    extra = open_fds() - fds
    if extra:  # the garbage collector may still hold closed-over sockets
        import gc

        gc.collect()
        extra = open_fds() - fds
    assert not extra, f"file descriptors left open: {sorted(extra)}"


class ErrorLog(logging.Handler):
    """Collects every record of ours at WARNING or above."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def messages(self) -> list[str]:
        return [self.format(r) for r in self.records]


@pytest.fixture
def error_log() -> Iterator[ErrorLog]:
    """Warnings and errors logged by esp_at_sim and aiohttp during the test."""
    handler = ErrorLog()
    loggers = [logging.getLogger(name) for name in ("esp_at_sim", "aiohttp")]
    for logger in loggers:
        logger.addHandler(handler)
    try:
        yield handler
    finally:
        for logger in loggers:
            logger.removeHandler(handler)


@dataclass
class WebModule:
    module: Module
    at: AtHarness
    server: WebServer
    lines: list[str] = field(default_factory=list)

    @property
    def port(self) -> int:
        assert self.server.http_port is not None
        return self.server.http_port

    @property
    def dns_port(self) -> int:
        assert self.server.dns_port is not None
        return self.server.dns_port


async def start_web_module(
    *,
    flash: bool = False,
    flash_file: str | os.PathLike[str] | None = None,
    time_scale: float = 0,
    **config: Any,
) -> WebModule:
    """A module at ``time_scale`` (default 0) in mode 3 with ``AT+WEBSERVER=1,80,25``
    done, with a temporary flash (``flash``), the flash file ``flash_file``, or none;
    ``config``: more fields of its :class:`WebConfig`."""
    module = create_module(
        time_scale=time_scale, with_flash=flash or flash_file is not None, flash=flash_file
    )
    lines: list[str] = []
    server = install_web(
        module, WebConfig(port_map={80: 0, 53: 0}, announce=lines.append, **config)
    )
    at = AtHarness(module)
    await module.start()
    assert at.take() == b"\r\nready\r\n"
    assert (await at.cmd("AT+CWMODE=3")).endswith(b"\r\nOK\r\n")
    assert (await at.cmd("AT+WEBSERVER=1,80,25")).endswith(b"\r\nOK\r\n")
    return WebModule(module, at, server, lines)


@pytest.fixture
async def web_module() -> AsyncIterator[WebModule]:
    made = await start_web_module(flash=True)
    try:
        yield made
    finally:
        await made.module.close()
        await no_tasks_left()


async def no_tasks_left() -> None:
    await assert_no_tasks_left()
