"""The ``port`` fixture: a booted module on each transport, checked for leaks after."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator

import pytest

from loopfds import open_fds, settle_loop_fds

from .helpers import KINDS, Port, close_port, open_port

_open_fds = open_fds


@pytest.fixture(params=KINDS)
async def port(request: pytest.FixtureRequest) -> AsyncIterator[Port]:
    """A booted module on each transport; the client has seen ``ready``."""
    await settle_loop_fds()
    fds = _open_fds()
    threads = threading.active_count()
    port, extra = await open_port(request.param)
    try:
        await port.module.start()
        assert await port.read_until(b"ready\r\n") == b"\r\nready\r\n"
        yield port
    finally:
        await close_port(port, extra)
    for _ in range(10):  # the clock's driver task ends on its own
        await asyncio.sleep(0)
    leftover = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    assert leftover == [], f"tasks left running: {leftover}"
    assert threading.active_count() == threads, "threads left running"
    assert _open_fds() <= fds, f"fds left open: {_open_fds() - fds}"
