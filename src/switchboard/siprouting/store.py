"""Where the routing table lives: one whole ``SipConfiguration`` under a revision number.

The table is small (at most 250 trunks and 250 routes) and changes rarely, so it is read and
written whole. ``replace`` is a compare-and-set on the revision: two nodes patching at once
never lose one another's change (the service reads again and retries).
"""

from __future__ import annotations

from typing import Protocol

from switchboard.siprouting.models import SipConfiguration


class SipRoutingStore(Protocol):
    async def load(self) -> tuple[int, SipConfiguration]:
        """The revision (0: never written) and the configuration."""
        ...

    async def replace(self, revision: int, config: SipConfiguration) -> int | None:
        """Write ``config`` if the stored revision is still ``revision``; the new revision,
        or None when another writer came first."""
        ...


class MemorySipRoutingStore:
    def __init__(self) -> None:
        self._revision = 0
        self._config = SipConfiguration()

    async def load(self) -> tuple[int, SipConfiguration]:
        return self._revision, self._config

    async def replace(self, revision: int, config: SipConfiguration) -> int | None:
        if revision != self._revision:
            return None
        self._revision += 1
        self._config = config
        return self._revision
