"""Is the TURN server we hand out actually there? (Only asked in the "unmanaged" TURN mode.)

Unmanaged means: URLs point at ``turn_host:turn_port``, a coturn that someone else runs with
our secret, or nothing at all (the zero-setup default without ``--turn``). Handing out a STUN/
TURN server that does not answer costs clients seconds (aiortc gathers every candidate before
its offer and waits for the STUN timeouts), so calling asks this probe first; the Network
Traversal API keeps answering as ACS does.

    every interval: TCP connect to host:port (coturn listens on TCP and UDP) ─▶ reachable
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from switchboard.core.tasks import TaskScope

log = logging.getLogger(__name__)

PROBE_INTERVAL_SECONDS = 10.0
CONNECT_TIMEOUT_SECONDS = 0.5


class TurnProbe:
    def __init__(self, host: str, port: int, *, interval: float = PROBE_INTERVAL_SECONDS) -> None:
        self._host = host
        self._port = port
        self._interval = interval
        self.reachable = False
        self._tasks = TaskScope("turn-probe")

    async def start(self) -> None:
        await self.check()
        await self._tasks.start()
        self._tasks.spawn(self._run(), name="turn-probe")

    async def stop(self) -> None:
        await self._tasks.stop()

    async def check(self) -> bool:
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT_SECONDS):
                _, writer = await asyncio.open_connection(self._host, self._port)
        except (OSError, TimeoutError):
            reachable = False
        else:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
            reachable = True
        if reachable != self.reachable:
            log.info(
                "TURN server at %s:%d is %s",
                self._host,
                self._port,
                "reachable" if reachable else "not reachable: calls get no ICE servers",
            )
        self.reachable = reachable
        return reachable

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            await self.check()
