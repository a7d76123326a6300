"""Counting open file descriptors around a test, on either event loop."""

from __future__ import annotations

import asyncio
import os


async def settle_loop_fds() -> None:
    """Let the running loop open what it keeps for its whole life before fds are
    counted: libuv (uvloop) holds one descriptor in reserve from the first listening
    socket on, which is not a leak of the test."""
    server = await asyncio.start_server(lambda reader, writer: None, "127.0.0.1", 0)
    server.close()
    await server.wait_closed()


def open_fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))
