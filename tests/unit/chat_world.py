"""ChatService and ChatRosterService on a MemoryChatStore, a fake clock and an in-memory bus."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import msgspec
from sqlalchemy.ext.asyncio import AsyncConnection

from switchboard.bus.base import Subscription
from switchboard.bus.memory import MemoryBus
from switchboard.chat.changes import ChatChanges
from switchboard.chat.domain_events import ChatEvent, decode_data
from switchboard.chat.eventgrid import ChatEventGrid
from switchboard.chat.fanout import CHAT_EVENTS, BusEvent
from switchboard.chat.memory_store import MemoryChatStore
from switchboard.chat.models import ChatLimits
from switchboard.chat.roster import ChatRosterService
from switchboard.chat.rules import ChatRules
from switchboard.chat.service import ChatService
from switchboard.core.clock import FakeClock
from switchboard.core.events import IntegrationEvent
from switchboard.core.principal import Principal, PrincipalKind
from switchboard.events.outbox import PostCommitPublisher

_SENTINEL = b"end of what was published"


class Identities:
    """Every ACS user is live unless deleted here."""

    def __init__(self) -> None:
        self.deleted: set[str] = set()

    async def is_live(self, user_id: str) -> bool:
        return user_id not in self.deleted


class Wakeups:
    """An Outbox that counts its wake-ups (the rows go to the store's unit)."""

    def __init__(self) -> None:
        self.count = 0

    async def add(self, conn: AsyncConnection, events: Sequence[IntegrationEvent]) -> None:
        raise AssertionError("the memory store keeps integration events itself")

    async def notify(self) -> None:
        self.count += 1


class ChatWorld:
    def __init__(self, limits: ChatLimits | None = None) -> None:
        self.clock = FakeClock()
        self.store = MemoryChatStore()
        self.bus = MemoryBus()
        self.identities = Identities()
        self.wakeups = Wakeups()
        rules = ChatRules(limits or ChatLimits())
        changes = ChatChanges(
            self.store,
            PostCommitPublisher(self.bus, self.wakeups),
            clock=self.clock,
            integration=ChatEventGrid(),
        )
        self.chat = ChatService(self.store, changes, self.identities, rules)
        self.roster = ChatRosterService(self.store, changes, self.identities, rules)
        self._events: Subscription | None = None
        self._decode = msgspec.json.Decoder(BusEvent).decode

    async def start(self) -> ChatWorld:
        await self.bus.start()
        self._events = await self.bus.subscribe(CHAT_EVENTS)
        return self

    async def published(self) -> list[ChatEvent]:
        """Everything published since the last call (up to a sentinel sent now)."""
        assert self._events is not None
        await self.bus.publish(CHAT_EVENTS, _SENTINEL)
        out = []
        while (raw := await self._events.get()) != _SENTINEL:
            message = self._decode(raw)
            out.append(ChatEvent(message.seq, decode_data(message.data), tuple(message.recipients)))
        return out


def user(*scopes: str) -> Principal:
    raw = f"8:acs:{uuid.uuid4()}_{uuid.uuid4().hex[:8]}"
    return Principal(PrincipalKind.USER, raw, frozenset(scopes or {"chat"}))


def uid(principal: Principal) -> str:
    assert principal.user_id is not None
    return principal.user_id
