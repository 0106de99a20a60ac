"""Which node owns (and hosts the media of) each group call: one ``if`` picks local or Redis.

    device on node B ─joinGroupCall─▶ B: placement.claim("group:<id>", B)
        ─▶ Redis SET NX (first claimer wins; the key expires unless renewed) ─▶ owner A
        ─▶ B routes the request to A ("calling.node.A"), as for every call request
    last member leaves A ─▶ placement.release (only if A still holds it)

A node renews its claims while it hosts the call; if it dies, the key lapses after
``CLAIM_SECONDS`` and the next join places the call afresh (its media restarts there).
"""

from __future__ import annotations

from typing import Protocol

from redis.asyncio import Redis

CLAIM_SECONDS = 60


class Placement(Protocol):
    async def claim(self, call_id: str, node_id: str) -> str:
        """The call's owner: ``node_id`` if it had none, else the node that has it."""
        ...

    async def renew(self, call_ids: list[str], node_id: str) -> None: ...

    async def release(self, call_id: str, node_id: str) -> None: ...

    async def close(self) -> None: ...


class LocalPlacement:
    """One node: it owns every call."""

    async def claim(self, call_id: str, node_id: str) -> str:
        return node_id

    async def renew(self, call_ids: list[str], node_id: str) -> None:
        return None

    async def release(self, call_id: str, node_id: str) -> None:
        return None

    async def close(self) -> None:
        return None


_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
# Renew only a claim this node still holds: a node whose claim lapsed (a long pause) must
# not take back a call another node has placed since (SET XX would overwrite its owner).
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return 0
"""


class RedisPlacement:
    def __init__(self, url: str, namespace: str) -> None:
        self._redis: Redis = Redis.from_url(url)
        self._prefix = f"{namespace}:calling:owner:"

    async def claim(self, call_id: str, node_id: str) -> str:
        key = self._prefix + call_id
        await self._redis.set(key, node_id, nx=True, ex=CLAIM_SECONDS)
        owner = await self._redis.get(key)
        if owner is None:  # released between the two commands: try once more
            await self._redis.set(key, node_id, nx=True, ex=CLAIM_SECONDS)
            owner = await self._redis.get(key)
        return owner.decode() if isinstance(owner, bytes) else str(owner or node_id)

    async def renew(self, call_ids: list[str], node_id: str) -> None:
        for call_id in call_ids:
            await self._redis.eval(_RENEW, 1, self._prefix + call_id, node_id, CLAIM_SECONDS)

    async def release(self, call_id: str, node_id: str) -> None:
        await self._redis.eval(_RELEASE, 1, self._prefix + call_id, node_id)

    async def close(self) -> None:
        await self._redis.aclose()
