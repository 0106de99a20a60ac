"""Chat pushes are owed from chat's durable event stream (app/chat_pushes.py, docs/push.md):

- messages committed while no node owed their pushes (the node died after the commit, before
  the bus or the push outbox heard of them) are owed when nodes start again, each push once
  however many nodes read the stream;
- an event delivered live is owed at once, never to its sender.

Real chat parts (MemoryChatStore, ChatHub on a MemoryBus) and a real PushService on the
in-memory push stores.
"""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import pytest

from switchboard.app.chat_pushes import ChatPushes, ChatPushLimiter
from switchboard.bus.memory import MemoryBus
from switchboard.chat.domain_events import (
    ChatActor,
    ChatEvent,
    ChatMessageFacts,
    MessageReceived,
    ThreadCreated,
)
from switchboard.chat.hub import ChatHub
from switchboard.chat.memory_store import MemoryChatStore
from switchboard.chat.models import Message, MessageType, NewParticipant, Thread
from switchboard.core.clock import SystemClock
from switchboard.push.models import PushKind, Registration
from switchboard.push.service import PushService
from switchboard.push.store_memory import MemoryPushOutbox, MemoryRegistrationStore

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _user() -> str:
    return f"8:acs:{uuid.uuid4()}"


@dataclass
class Shared:
    """What the nodes share: chat's database, push's database."""

    chat: MemoryChatStore
    registrations: MemoryRegistrationStore
    outbox: MemoryPushOutbox
    thread: Thread
    alice: str
    bob: str
    carol: str

    async def say(self, text: str) -> int:
        """Alice's message committed (its stream row written), published to no bus."""
        async with self.chat.thread_unit(self.thread.id) as unit:
            thread = unit.thread
            now_ms = int(SystemClock().now() * 1000)
            id_ms = max(now_ms, thread.last_message_id_ms + 1)
            message = Message(
                thread.id, str(id_ms), thread.message_seq + 1, MessageType.TEXT, now_ms, id_ms,
                text, self.alice,
            )  # fmt: skip
            await unit.add_message(message)
            seq = await unit.allocate_seq()
            facts = ChatMessageFacts.of(message)
            event = ChatEvent.made(seq, MessageReceived(thread.id, facts), ())
            await unit.append_events([event], now_ms)
        return seq

    async def owed(self) -> dict[str, list[str]]:
        """Each user's pushes in the outbox: the texts."""
        found: dict[str, list[str]] = {}
        for job in await self.outbox.claim(2**62, 1000, 1):
            found.setdefault(job.user_id, []).append(job.notification.data["messageBody"])
        return found


@pytest.fixture
async def shared() -> Shared:
    chat = MemoryChatStore()
    alice, bob, carol = _user(), _user(), _user()
    thread = Thread(f"19:{secrets.token_hex(16)}@thread.v2", "topic", 1, alice)
    async with chat.new_thread_unit(thread) as unit:
        seq = await unit.allocate_seq()
        await unit.add_participants([NewParticipant(u) for u in (alice, bob, carol)], 1, seq)
        created = ThreadCreated(thread.id, ChatActor(alice), 1, "topic", ())
        await unit.append_events([ChatEvent.made(seq, created, ())], 1)
    registrations = MemoryRegistrationStore()
    for user in (bob, carol):
        endpoint = f"https://push.example/{user}"
        await registrations.put(
            Registration(user, "phone", PushKind.WEBPUSH, endpoint, "", "k", "a", 0, 2**62)
        )
    return Shared(chat, registrations, MemoryPushOutbox(), thread, alice, bob, carol)


@asynccontextmanager
async def node(shared: Shared) -> AsyncIterator[tuple[ChatPushes, ChatHub]]:
    """One node's chat hub and chat pushes, started as build_node starts them."""
    clock = SystemClock()
    bus = MemoryBus()
    await bus.start()
    hub = ChatHub(shared.chat, bus)
    await hub.start()

    async def no_check(url: str) -> None:
        return None

    push = PushService(
        shared.registrations, shared.outbox, kinds={PushKind.WEBPUSH}, clock=clock,
        check_url=no_check,
    )  # fmt: skip
    pushes = ChatPushes(push, hub, shared.chat, ChatPushLimiter(0.0, 1000), clock=clock)
    await pushes.start()
    try:
        yield pushes, hub
    finally:
        await pushes.stop()
        await hub.stop()
        await bus.stop()


async def _reached(pushes: ChatPushes, seq: int) -> None:
    async with asyncio.timeout(10):
        while pushes.position < seq:  # noqa: ASYNC110 - the reader's state, no event
            await asyncio.sleep(0.01)


async def test_messages_committed_before_a_crash_are_owed_once_when_nodes_start(
    shared: Shared,
) -> None:
    async with node(shared):
        pass  # the node ran (its position is stored) and died
    await shared.say("one")
    last = await shared.say("two")  # committed; the node died before owing their pushes

    async with node(shared) as (first, _), node(shared) as (second, _):  # two nodes read the stream
        await _reached(first, last)
        await _reached(second, last)

    owed = await shared.owed()
    assert owed == {shared.bob: ["one", "two"], shared.carol: ["one", "two"]}


async def test_a_live_event_is_owed_at_once_and_never_to_its_sender(shared: Shared) -> None:
    async with node(shared) as (pushes, hub):
        seq = await shared.say("hello")
        assert pushes.position < seq
        (event,) = await shared.chat.events_between(seq, seq)
        hub.accept(event)  # what the bus brings after the commit
        await _reached(pushes, seq)
        owed = await shared.owed()
    assert owed == {shared.bob: ["hello"], shared.carol: ["hello"]}
    assert shared.alice not in owed
