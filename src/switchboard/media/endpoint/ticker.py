"""EndpointTicker: one task ticks every media endpoint of the node every 20 ms.

The schedule is absolute (deadline += 20 ms), so ticks do not drift; a wake-up that comes
late runs the missed ticks at once (at most five: 100 ms of audio), and a longer stall
(a blocked loop) resynchronises instead of bursting seconds of audio.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from switchboard.core.tasks import TaskScope

log = logging.getLogger(__name__)

TICK_SECONDS = 0.020
MAX_CATCH_UP = 5


class Tickable(Protocol):
    def tick(self) -> None: ...


class EndpointTicker:
    def __init__(self) -> None:
        self._endpoints: list[Tickable] = []
        self._scope = TaskScope("media endpoint ticker")
        self.late_ticks = 0  # ticks run late, in catch-up (for benchmarks)

    async def start(self) -> None:
        await self._scope.start()
        self._scope.spawn(self._run(), name="media endpoint ticker")

    async def stop(self) -> None:
        await self._scope.stop()

    def add(self, endpoint: Tickable) -> None:
        self._endpoints.append(endpoint)

    def remove(self, endpoint: Tickable) -> None:
        if endpoint in self._endpoints:
            self._endpoints.remove(endpoint)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time()
        while True:
            deadline += TICK_SECONDS
            await asyncio.sleep(max(0.0, deadline - loop.time()))
            behind = int((loop.time() - deadline) / TICK_SECONDS)
            if behind > MAX_CATCH_UP:
                deadline = loop.time()  # a stall: start afresh rather than burst
                behind = 0
            self.late_ticks += behind
            for _ in range(1 + behind):
                for endpoint in list(self._endpoints):
                    try:
                        endpoint.tick()
                    except Exception:  # one endpoint's fault must not stop the others
                        log.exception("media endpoint tick failed")
