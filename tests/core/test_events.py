"""The event bus: subscribers by kind, and producers that skip what nobody would see."""

from __future__ import annotations

import pytest

from esp_at_sim.core.events import Event, EventBus
from esp_at_sim.testing import start_module


def test_subscribers_get_the_kinds_they_asked_for() -> None:
    bus = EventBus()
    everything: list[str] = []
    uart: list[str] = []
    bus.subscribe(lambda e: everything.append(e.kind))
    stop_uart = bus.subscribe(lambda e: uart.append(e.kind), kinds=("uart",))
    for kind in ("uart", "at.cmd", "uart"):
        bus.emit(Event(kind, 0.0))
    assert everything == ["uart", "at.cmd", "uart"]
    assert uart == ["uart", "uart"]
    stop_uart()
    bus.emit(Event("uart", 1.0))
    assert uart == ["uart", "uart"]


def test_listening_follows_subscriptions() -> None:
    bus = EventBus()
    assert not bus.listening("uart")
    stop_uart = bus.subscribe(lambda e: None, kinds=("uart", "boot.ready"))
    assert bus.listening("uart") and bus.listening("boot.ready")
    assert not bus.listening("at.cmd")
    stop_all = bus.subscribe(lambda e: None)
    assert bus.listening("at.cmd")
    stop_all()
    stop_all()  # twice is harmless
    assert not bus.listening("at.cmd") and bus.listening("uart")
    stop_uart()
    assert not bus.listening("uart")


async def test_no_masking_and_no_events_when_nobody_listens(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    module, at = await start_module()
    masked: list[bytes] = []
    real_mask = module.table.mask

    def counting_mask(line: bytes, mask: bytes = b"***") -> bytes:
        masked.append(line)
        return real_mask(line, mask)

    monkeypatch.setattr(module.table, "mask", counting_mask)
    built: list[str] = []
    monkeypatch.setattr(
        "esp_at_sim.device.module.Event",
        lambda kind, t, data: built.append(kind) or Event(kind, t, data),
    )
    try:
        await at.cmd('AT+CWJAP="HomeNet","sunflower42"')
        await at.cmd("AT")
        assert masked == [] and not [k for k in built if k.startswith("at.")]
        events: list[Event] = []
        module.bus.subscribe(events.append, kinds=("at.out",))
        await at.cmd('AT+CWJAP="HomeNet","sunflower42"')
        assert masked  # the echo in at.out is masked
        out = "".join(e.data["data"] for e in events)
        assert 'AT+CWJAP="HomeNet",***' in out and "sunflower42" not in out
        assert "at.cmd" not in built  # still nobody for at.cmd
    finally:
        await module.close()
