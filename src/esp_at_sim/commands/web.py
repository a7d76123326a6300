"""Web server AT commands (placeholder: being written)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..at.table import Command

if TYPE_CHECKING:
    from ..device.module import Module

COMMANDS: list[Command[Module]] = []
