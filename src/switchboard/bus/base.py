"""The Bus protocol: fire-and-forget publish/subscribe on named topics.

    publisher ──publish(topic, bytes)──▶ Bus ──▶ every Subscription on that topic,
                                                 on this node and (RedisBus) on every node

Delivery is at-most-once and ordered per publisher and topic; anything that must not be lost is
written to the database first and the bus only says "look again" (cache invalidation, wake-ups).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Protocol


class Subscription(Protocol):
    """Messages of one topic, in publish order, as an async iterator; close() to stop."""

    topic: str

    def __aiter__(self) -> AsyncIterator[bytes]: ...

    async def get(self) -> bytes:
        """The next message; waits for one."""
        ...

    async def close(self) -> None: ...


class Bus(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def publish(self, topic: str, message: bytes) -> None: ...

    async def subscribe(self, topic: str) -> Subscription:
        """Subscribe; messages published after this returns are delivered."""
        ...

    async def ping(self) -> bool:
        """True when the bus can carry messages (readiness)."""
        ...


# How a shell command gets the node's bus (app.open_bus), so running nodes hear its changes.
BusOpener = Callable[[], AbstractAsyncContextManager[Bus]]
