"""A fleet closes its modules and transports through one exit-stack entry each: every one
is closed, last first, and a failure is raised only once the rest are closed."""

from __future__ import annotations

import pytest

from esp_at_sim.cli.fleet import _close_each


class _Thing:
    def __init__(self, name: str, closed: list[str], fails: bool = False) -> None:
        self.name, self._closed, self._fails = name, closed, fails

    async def close(self) -> None:
        self._closed.append(self.name)
        if self._fails:
            raise RuntimeError(f"{self.name} failed to close")


async def test_every_one_is_closed_last_first() -> None:
    closed: list[str] = []
    await _close_each([_Thing(n, closed) for n in "abc"])
    assert closed == ["c", "b", "a"]


async def test_a_failure_is_raised_after_the_rest_are_closed() -> None:
    closed: list[str] = []
    things = [_Thing("a", closed, fails=True), _Thing("b", closed), _Thing("c", closed, True)]
    with pytest.raises(RuntimeError, match="c failed"):
        await _close_each(things)
    assert closed == ["c", "b", "a"]
