"""The Subscription both bus backends hand out: an unbounded queue fed by the bus."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

__all__ = ["QueueSubscription", "SubscriptionClosed"]


class SubscriptionClosed(Exception):
    """get() on a subscription that was closed or whose bus stopped."""


class QueueSubscription:
    """Messages of one topic, queued in arrival order until the owner reads them.

    The bus calls put() to deliver and end() when it stops; the owner calls close(), which ends
    the subscription and tells the bus (through ``on_close``) to stop delivering to it.
    """

    def __init__(
        self, topic: str, on_close: Callable[[QueueSubscription], Awaitable[None]]
    ) -> None:
        self.topic = topic
        self._on_close = on_close
        # Unbounded on purpose: the bus must never block on a slow reader; None marks the end.
        self._queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._ended = False

    @property
    def ended(self) -> bool:
        return self._ended

    def put(self, message: bytes) -> None:
        if not self._ended:
            self._queue.put_nowait(message)

    def end(self) -> None:
        """Stop iteration; queued messages are dropped (at-most-once delivery allows it)."""
        if self._ended:
            return
        self._ended = True
        self._queue.put_nowait(None)

    async def get(self) -> bytes:
        """The next message; raises SubscriptionClosed once the subscription has ended."""
        if self._ended:
            raise SubscriptionClosed(self.topic)
        message = await self._queue.get()
        if message is None or self._ended:
            # Pass the end marker on so every other task waiting in get() wakes up too.
            self._queue.put_nowait(None)
            raise SubscriptionClosed(self.topic)
        return message

    async def close(self) -> None:
        if self._ended:
            return
        self.end()
        await self._on_close(self)

    def __aiter__(self) -> QueueSubscription:
        return self

    async def __anext__(self) -> bytes:
        try:
            return await self.get()
        except SubscriptionClosed:
            raise StopAsyncIteration from None

    def __repr__(self) -> str:
        state = "ended" if self._ended else "open"
        return f"<QueueSubscription topic={self.topic!r} {state}>"
