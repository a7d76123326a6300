"""Radio backends by name: which :class:`~esp_at_sim.radio.base.Radio` a module runs on.

A backend is registered in the entry-point group :data:`ENTRY_POINT_GROUP` by the package
that provides it, in its ``pyproject.toml``::

    [project.entry-points."esp_at_sim.radio"]
    mylab = "mylab_radio:LabRadio"

The object named there is called as ``factory(scenario, clock)`` and returns the radio
(a :class:`~esp_at_sim.radio.base.Radio` subclass is such a callable). esp-at-sim registers
its own ``sim`` backend the same way. A backend is imported only when it is chosen
(``esp-at-sim run --radio NAME``, ``create_module(radio=NAME)``), so a broken backend
package does not stop the others from working.

What a backend offers beyond :class:`~esp_at_sim.radio.base.Radio` it declares by
implementing the capability protocols of :mod:`esp_at_sim.radio.base`
(:class:`~esp_at_sim.radio.base.DhcpServerControl`,
:class:`~esp_at_sim.radio.base.FaultControl`); the module looks for them with
``isinstance`` and does without what is missing.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import TYPE_CHECKING, Protocol

from .base import Radio

if TYPE_CHECKING:
    from ..core.clock import Clock
    from .world import Scenario

ENTRY_POINT_GROUP = "esp_at_sim.radio"
DEFAULT_BACKEND = "sim"  # registered in esp-at-sim's own pyproject.toml


class RadioFactory(Protocol):
    """What an entry point of the group names: makes the radio of one module."""

    def __call__(self, scenario: Scenario, clock: Clock) -> Radio: ...


class RadioBackendError(ValueError):
    """No backend by that name, or its package failed to load."""


@dataclass(frozen=True)
class Backend:
    """One registered backend: its name and where it lives (``module:attribute``)."""

    name: str
    target: str
    entry_point: EntryPoint

    def load(self) -> RadioFactory:
        """Import the backend; :class:`RadioBackendError` when its package is broken."""
        try:
            factory = self.entry_point.load()
        except Exception as exc:  # whatever a third-party import raises
            raise RadioBackendError(
                f"radio backend {self.name!r} ({self.target}) failed to load: {exc}"
            ) from exc
        if not callable(factory):
            raise RadioBackendError(f"radio backend {self.name!r} ({self.target}) is not callable")
        return factory  # type: ignore[no-any-return]


# Reading the entry points opens the metadata of every installed package (some 15 ms
# with 80 packages): the last reading is kept with the state of ``sys.path`` it was made
# in, each entry with its modification time (installing a package adds a directory to
# one of them). A directory changed less than RACY_NS before the reading may change again
# within the same timestamp, so such a reading is not kept.
RACY_NS = 2_000_000_000
_last: tuple[tuple[tuple[str, int | None], ...], dict[str, Backend]] | None = None


def _path_state() -> tuple[tuple[str, int | None], ...]:
    state = []
    for entry in sys.path:
        try:
            mtime: int | None = os.stat(entry or ".").st_mtime_ns
        except OSError:
            mtime = None
        state.append((entry, mtime))
    return tuple(state)


def backends() -> dict[str, Backend]:
    """Every backend installed now, by name (read again whenever ``sys.path`` or one of
    its directories has changed since the last reading)."""
    global _last
    state = _path_state()
    if _last is not None and _last[0] == state:
        return dict(_last[1])
    found = entry_points(group=ENTRY_POINT_GROUP)
    known = {ep.name: Backend(ep.name, ep.value, ep) for ep in sorted(found, key=lambda e: e.name)}
    settled = time.time_ns() - RACY_NS
    if all(mtime is None or mtime < settled for _, mtime in state):
        _last = (state, known)
    return dict(known)


def backend_names() -> list[str]:
    """The names ``--radio`` accepts, sorted."""
    return list(backends())


def load_backend(name: str) -> RadioFactory:
    """The factory of backend ``name``; :class:`RadioBackendError` naming the known
    backends when there is none by that name."""
    known = backends()
    backend = known.get(name)
    if backend is None:
        raise RadioBackendError(
            f"unknown radio backend {name!r}; known: {', '.join(known) or 'none'}"
        )
    return backend.load()


def create_radio(
    name: str, scenario: Scenario, clock: Clock, factory: RadioFactory | None = None
) -> Radio:
    """Make the radio of backend ``name`` for ``scenario`` on ``clock`` (with ``factory``,
    that backend's :func:`load_backend` already done, as a fleet does once for all its
    modules); :class:`RadioBackendError` when the backend is unknown, broken or refuses
    to start."""
    factory = factory if factory is not None else load_backend(name)
    try:
        radio = factory(scenario, clock)
    except Exception as exc:  # whatever a third-party backend raises
        raise RadioBackendError(f"radio backend {name!r} failed to start: {exc}") from exc
    if not isinstance(radio, Radio):
        raise RadioBackendError(
            f"radio backend {name!r} made a {type(radio).__name__}, not a Radio"
        )
    return radio
