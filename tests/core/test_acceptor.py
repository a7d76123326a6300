"""The acceptor waits for clients without a task and accepts every one that comes."""

from __future__ import annotations

import asyncio
from typing import ClassVar

from esp_at_sim.core.acceptor import Acceptor, listen


class _Greeter(asyncio.Protocol):
    made: ClassVar[list[_Greeter]] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.WriteTransport)
        transport.write(b"hi\n")
        _Greeter.made.append(self)


async def _greeted(port: int) -> asyncio.StreamWriter:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    assert await reader.readline() == b"hi\n"
    return writer


async def test_clients_at_once_and_later_are_all_accepted_and_idle_costs_no_task() -> None:
    _Greeter.made = []
    sock = listen("127.0.0.1", 0)
    port = sock.getsockname()[1]
    acceptor = Acceptor(sock, _Greeter, "test port")
    acceptor.start()
    assert acceptor._task is None and acceptor._watching  # waiting, by a reader only
    writers = list(await asyncio.gather(*(_greeted(port) for _ in range(5))))
    for _ in range(10):  # the accepting task ends once nobody waits
        if acceptor._task is None:
            break
        await asyncio.sleep(0.01)
    assert acceptor._task is None and acceptor._watching
    writers.append(await _greeted(port))  # and the next client still gets in
    assert len(_Greeter.made) == 6
    await acceptor.close()
    assert not acceptor._watching and sock.fileno() == -1
    for writer in writers:
        writer.close()
        await writer.wait_closed()


async def test_close_while_accepting_stops_the_task() -> None:
    _Greeter.made = []
    sock = listen("127.0.0.1", 0)
    acceptor = Acceptor(sock, _Greeter, "test port")
    acceptor.start()
    _, writer = await asyncio.open_connection("127.0.0.1", sock.getsockname()[1])
    acceptor._client_waits()  # as if the loop had seen the client: a task accepts
    task = acceptor._task
    assert task is not None and not acceptor._watching
    await acceptor.close()
    assert task.done() and acceptor._task is None and not acceptor._watching
    writer.close()
    await writer.wait_closed()
