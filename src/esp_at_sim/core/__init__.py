"""Primitives below every other layer: the clock, the event bus, the settings-store
interface. They import nothing else of ours."""
