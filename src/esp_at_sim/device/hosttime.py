"""Time as the host on the AT port or a real socket lives it.

Some timeouts measure what happens outside the module: a server client that stays
silent (AT+CIPSTO), the pauses around ``+++``, the gap that ends a passthrough packet.
They run on the module's clock, except at time scale 0, where simulated time jumps
ahead whenever the module waits and would make every real pause look endless: there
they are counted in real seconds, as a connect to a routed destination is.
"""

from __future__ import annotations

import asyncio
from typing import Any

from ..core.clock import Clock


def host_now(clock: Clock) -> float:
    """Seconds on the scale these timeouts use."""
    return clock.now() if clock.scale > 0 else asyncio.get_running_loop().time()


async def host_sleep(clock: Clock, seconds: float) -> None:
    if clock.scale > 0:
        await clock.sleep(seconds)
    else:
        await asyncio.sleep(max(0.0, seconds))


async def host_wait(clock: Clock, aw: asyncio.Future[Any], seconds: float) -> bool:
    """Wait until ``aw`` is done or ``seconds`` pass; True if done (``aw`` keeps running)."""
    if clock.scale > 0:
        return await clock.wait_for(aw, seconds)
    done, _ = await asyncio.wait({aw}, timeout=max(0.0, seconds))
    return aw in done
