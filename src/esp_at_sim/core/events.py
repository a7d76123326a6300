"""The module's event bus: everything the module does, as typed records.

Subscribers (the event-log writer, tests, the inspector) see each event as it happens.
Secrets never enter an event: producers mask passwords before emitting.
"""

from __future__ import annotations

from collections.abc import Callable
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


class EventBus:
    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Add a subscriber; returns a function that removes it."""
        self._subscribers.append(subscriber)

        def unsubscribe() -> None:
            if subscriber in self._subscribers:
                self._subscribers.remove(subscriber)

        return unsubscribe

    def emit(self, event: Event) -> None:
        for subscriber in list(self._subscribers):
            subscriber(event)
