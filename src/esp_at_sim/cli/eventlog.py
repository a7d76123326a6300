"""``run --events FILE``: the module's events as JSON lines."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from ..core.events import Event, EventBus


class EventLog:
    """Writes every event on the module's bus as one JSON object per line:
    ``{"t": simulated seconds, "kind": ..., <the event's details>}``."""

    def __init__(self, path: str) -> None:
        self._file = open(path, "w", encoding="utf-8", buffering=1)  # noqa: SIM115
        self._unsubscribe: Callable[[], None] | None = None

    def attach(self, bus: EventBus) -> None:
        """Log the events of ``bus`` from now on."""
        self._unsubscribe = bus.subscribe(self.write)

    def write(self, event: Event) -> None:
        record: dict[str, Any] = {"t": round(event.t, 6), "kind": event.kind}
        for key, value in event.data.items():
            record[key if key not in record else f"data_{key}"] = value
        self._file.write(json.dumps(record, default=str, ensure_ascii=False) + "\n")

    def close(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
        self._file.close()
