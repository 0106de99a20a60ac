"""Which events any subscription wants, known on every node without a database read.

Producers ask ``wants(type)`` before building events, so a resource without subscriptions (or
without one for that type) pays nothing for events: chat's per-recipient events are many.
``would_deliver(target)`` goes further, through every filter of every subscription (subject
and advanced filters too): calling asks it whether an app wants IncomingCall for a callee.

    PUT/DELETE subscription ─▶ this node: reload now
                            └─ bus "events.subscriptions" ─▶ other nodes: reload
    every events_poll_seconds ─▶ reload (a lost bus message heals)

Until the first load it wants everything (and would deliver everything). Trap: an event
produced on another node in the moment between a subscription's creation and that node's
reload is not delivered to it (as with Event Grid, a new subscription gets events published
after it is active); likewise ``would_deliver`` answers from the last reload.
"""

from __future__ import annotations

import asyncio
import logging

from switchboard.bus.base import Bus, Subscription
from switchboard.bus.queue import SubscriptionClosed
from switchboard.core.tasks import TaskScope
from switchboard.events.filters import FilterTarget
from switchboard.events.models import EventSubscription
from switchboard.events.subscriptions import SubscriptionStore

log = logging.getLogger(__name__)

SUBSCRIPTIONS_TOPIC = "events.subscriptions"


class SubscriptionInterest:
    def __init__(self, store: SubscriptionStore, bus: Bus, *, refresh_seconds: float) -> None:
        self._store = store
        self._bus = bus
        self._refresh_seconds = refresh_seconds
        self._everything = True
        self._loaded = False
        self._types: frozenset[str] = frozenset()
        self._subscriptions: tuple[EventSubscription, ...] = ()
        self._changes: Subscription | None = None
        self._tasks = TaskScope("SubscriptionInterest")

    def wants(self, event_type: str) -> bool:
        return self._everything or event_type.casefold() in self._types

    def would_deliver(self, event: FilterTarget) -> bool:
        """Whether some subscription's filters (types, subject, advanced) all pass."""
        if not self._loaded:
            return True
        return self.wants(event.type) and any(s.matches(event) for s in self._subscriptions)

    async def reload(self) -> None:
        everything, types, after = False, set[str](), None
        subscriptions: list[EventSubscription] = []
        while True:
            page = await self._store.list(after, 500)
            for subscription in page.items:
                everything |= not subscription.included_event_types
                types.update(t.casefold() for t in subscription.included_event_types)
            subscriptions += page.items
            if page.next_cursor is None:
                break
            after = page.next_cursor
        self._everything, self._types = everything, frozenset(types)
        self._subscriptions, self._loaded = tuple(subscriptions), True

    async def changed(self) -> None:
        """After a subscription changed here: reload, and tell the other nodes."""
        await self.reload()
        try:
            await self._bus.publish(SUBSCRIPTIONS_TOPIC, b"")
        except Exception:  # they reload within their poll anyway
            log.warning("could not announce a subscription change", exc_info=True)

    async def start(self) -> None:
        self._changes = await self._bus.subscribe(SUBSCRIPTIONS_TOPIC)
        await self.reload()
        await self._tasks.start()
        self._tasks.spawn(self._follow(self._changes), name="SubscriptionInterest")

    async def stop(self) -> None:
        await self._tasks.stop()
        if self._changes is not None:
            await self._changes.close()

    async def _follow(self, changes: Subscription) -> None:
        while True:
            try:
                await asyncio.wait_for(changes.get(), self._refresh_seconds)
            except TimeoutError:
                pass
            except SubscriptionClosed:
                return
            try:
                await self.reload()
            except Exception:  # a database blip; the next round retries
                log.warning("reloading event subscriptions failed", exc_info=True)
