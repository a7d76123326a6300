"""Wi-Fi station and SoftAP state (placeholder: being written)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .settings import Settings

if TYPE_CHECKING:
    from .module import Module


class Wifi:
    def __init__(self, module: Module) -> None:
        self.module = module

    def load(self, saved: Settings) -> None:
        pass

    def after_boot(self) -> None:
        pass

    def shutdown(self) -> None:
        pass
