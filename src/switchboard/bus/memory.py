"""In-process Bus for a single node and for tests."""

from __future__ import annotations

from switchboard.bus.queue import QueueSubscription

__all__ = ["MemoryBus"]


class MemoryBus:
    """Delivers each message to every subscription of exactly that topic in this process."""

    def __init__(self) -> None:
        self._started = False
        self._topics: dict[str, set[QueueSubscription]] = {}

    async def start(self) -> None:
        self._started = True

    async def stop(self) -> None:
        self._started = False
        for subscriptions in self._topics.values():
            for subscription in subscriptions:
                subscription.end()
        self._topics.clear()

    async def publish(self, topic: str, message: bytes) -> None:
        self._require_started()
        for subscription in tuple(self._topics.get(topic, ())):
            subscription.put(message)

    async def subscribe(self, topic: str) -> QueueSubscription:
        self._require_started()
        subscription = QueueSubscription(topic, self._release)
        self._topics.setdefault(topic, set()).add(subscription)
        return subscription

    async def ping(self) -> bool:
        return self._started

    async def _release(self, subscription: QueueSubscription) -> None:
        subscriptions = self._topics.get(subscription.topic)
        if subscriptions is None:
            return
        subscriptions.discard(subscription)
        if not subscriptions:
            del self._topics[subscription.topic]

    def _require_started(self) -> None:
        if not self._started:
            raise RuntimeError("MemoryBus is not started")
