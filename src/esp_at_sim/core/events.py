"""The module's event bus: everything the module does, as typed records.

Subscribers (the event-log writer, tests, the inspector) see each event as it happens.
Secrets never enter an event: producers mask passwords before emitting. A subscriber may
name the kinds it wants; producers ask :meth:`EventBus.listening` before building an
event (and masking what goes into it) that nobody would see.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

Subscriber = Callable[["Event"], None]


@dataclass(frozen=True)
class Event:
    """One thing that happened: ``kind`` (``at.in``, ``at.out``, ``urc``, ``radio``,
    ``boot``, ``http``, ``flash``…), simulated time ``t`` and details."""

    kind: str
    t: float
    data: dict[str, Any] = field(default_factory=dict)


# Every module subscribes the same few kinds: their sets (and unions) are shared.
@functools.lru_cache(maxsize=256)
def _kind_set(kinds: tuple[str, ...]) -> frozenset[str]:
    return frozenset(kinds)


@functools.lru_cache(maxsize=256)
def _union(sets: tuple[frozenset[str], ...]) -> frozenset[str]:
    return frozenset().union(*sets)


class EventBus:
    __slots__ = ("_everything", "_kinds", "_subscribers")

    def __init__(self) -> None:
        # each subscriber with the kinds it wants (None: every kind)
        self._subscribers: list[tuple[Subscriber, frozenset[str] | None]] = []
        self._everything = False
        self._kinds: frozenset[str] = frozenset()

    def subscribe(
        self, subscriber: Subscriber, kinds: Iterable[str] | None = None
    ) -> Callable[[], None]:
        """Add a subscriber for every event, or only for those of ``kinds``; returns a
        function that removes it."""
        entry = (subscriber, None if kinds is None else _kind_set(tuple(kinds)))
        self._subscribers.append(entry)
        self._index()

        def unsubscribe() -> None:
            if entry in self._subscribers:
                self._subscribers.remove(entry)
                self._index()

        return unsubscribe

    def _index(self) -> None:
        wanted = [kinds for _, kinds in self._subscribers]
        self._everything = None in wanted
        self._kinds = _union(tuple(kinds for kinds in wanted if kinds is not None))

    def listening(self, kind: str) -> bool:
        """Whether an event of ``kind`` would reach any subscriber."""
        return self._everything or kind in self._kinds

    def emit(self, event: Event) -> None:
        for subscriber, kinds in list(self._subscribers):
            if kinds is None or event.kind in kinds:
                subscriber(event)
