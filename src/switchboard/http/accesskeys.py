"""The resource's two access keys, kept in memory and reloaded when they may have rotated.

``switchboard keys rotate`` writes a new key to the database from another process; a server
notices on the next request that fails verification (at most one reload a second), so the
rotated key works at once and the other key never stops working.
"""

from __future__ import annotations

import asyncio
import base64
from typing import Protocol

from switchboard.core.clock import Clock


class KeySource(Protocol):
    async def access_keys(self) -> tuple[str, str]:
        """(primary, secondary), base64 text."""
        ...


class AccessKeyRing:
    def __init__(
        self,
        source: KeySource,
        *,
        clock: Clock,
        min_reload_interval: float = 1.0,
    ) -> None:
        self._source = source
        self._clock = clock
        self._min_reload_interval = min_reload_interval
        self._keys: tuple[bytes, ...] = ()
        self._loaded_at = float("-inf")
        self._lock = asyncio.Lock()

    @property
    def keys(self) -> tuple[bytes, ...]:
        return self._keys

    async def load(self) -> None:
        primary, secondary = await self._source.access_keys()
        self._keys = (base64.b64decode(primary), base64.b64decode(secondary))
        self._loaded_at = self._clock.now()

    async def reload_if_stale(self) -> bool:
        """Reload unless loaded within the last interval; True if the keys changed."""
        async with self._lock:
            if self._clock.now() - self._loaded_at < self._min_reload_interval:
                return False
            before = self._keys
            await self.load()
            return self._keys != before
