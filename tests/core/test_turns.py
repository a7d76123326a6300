"""TurnBudget: at most so many admissions per turn of the loop, first come first served.
PriorityInput: an input other work serves first when bytes wait on it."""

from __future__ import annotations

import asyncio
import socket

import pytest

from esp_at_sim.core.turns import TurnBudget, give_priority, serve_first


class TurnCounter:
    """Counts turns of the running loop (a callback that queues itself again)."""

    def __init__(self) -> None:
        self.turn = 0
        self._handle = asyncio.get_running_loop().call_soon(self._tick)

    def _tick(self) -> None:
        self.turn += 1
        self._handle = asyncio.get_running_loop().call_soon(self._tick)

    def stop(self) -> None:
        self._handle.cancel()


async def test_admissions_are_spread_over_turns_in_order() -> None:
    budget = TurnBudget(4)
    counter = TurnCounter()
    admitted: list[tuple[int, int]] = []  # (caller, turn)

    async def caller(index: int) -> None:
        await budget.admit()
        admitted.append((index, counter.turn))

    try:
        await asyncio.gather(*(caller(i) for i in range(18)))
    finally:
        counter.stop()
    assert [index for index, _ in admitted] == list(range(18))  # first come first served
    per_turn: dict[int, int] = {}
    for _, turn in admitted:
        per_turn[turn] = per_turn.get(turn, 0) + 1
    assert max(per_turn.values()) <= 4
    assert len(per_turn) >= 5  # 18 callers at 4 a turn


async def test_a_cancelled_waiter_gives_its_place_up() -> None:
    budget = TurnBudget(1)
    admitted, first, second = (asyncio.ensure_future(budget.admit()) for _ in range(3))
    await asyncio.sleep(0)  # one turn: the first caller is let in, two wait
    assert admitted.done() and not first.done() and not second.done()
    first.cancel()
    await asyncio.wait_for(second, 1.0)
    assert first.cancelled()


def test_a_budget_needs_room_for_one() -> None:
    with pytest.raises(ValueError):
        TurnBudget(0)


# ------------------------------------------------------------ the priority input
class Owner:
    """Stands for a module: whatever object the input is registered for."""


def test_a_priority_input_is_served_only_when_bytes_wait() -> None:
    owner = Owner()
    ours, theirs = socket.socketpair()
    served: list[bytes] = []

    def serve() -> None:
        served.append(ours.recv(100))

    try:
        ours.setblocking(False)
        revoke = give_priority(owner, ours.fileno(), serve)
        serve_first(owner)
        assert served == []  # nothing waits: not even a read
        theirs.send(b"AT\r\n")
        serve_first(owner)
        assert served == [b"AT\r\n"]
        serve_first(owner)
        assert served == [b"AT\r\n"]  # read: nothing waits any more
        revoke()
        theirs.send(b"AT\r\n")
        serve_first(owner)
        assert served == [b"AT\r\n"]  # taken back: the loop's own read gets it
        revoke()  # twice is harmless
        serve_first(Owner())  # an owner without a priority input
    finally:
        ours.close()
        theirs.close()


def test_a_new_priority_input_replaces_the_old_one_and_survives_its_revoke() -> None:
    owner = Owner()
    first, first_peer = socket.socketpair()
    second, second_peer = socket.socketpair()
    served: list[str] = []
    try:
        revoke_first = give_priority(owner, first.fileno(), lambda: served.append("first"))
        give_priority(owner, second.fileno(), lambda: served.append("second"))
        revoke_first()  # (a client that left after the next one came)
        first_peer.send(b"x")
        second_peer.send(b"x")
        serve_first(owner)
        assert served == ["second"]
    finally:
        for sock in (first, first_peer, second, second_peer):
            sock.close()


async def test_take_admits_at_once_while_the_turn_has_room() -> None:
    budget = TurnBudget(2)
    assert budget.take() and budget.take()
    assert not budget.take()  # this turn is full
    waiting = asyncio.ensure_future(budget.admit())
    assert not budget.take()  # nor while someone waits
    await asyncio.wait_for(waiting, 1.0)  # a later turn lets the waiter in
    assert budget.take()
