"""The chat store seam: reads, and one unit of work per change to a thread.

    ChatService ── async with store.thread_unit(thread_id) as unit ──▶ unit.thread (locked)
                                                                      unit.roster
                                                                      unit.add_message(...)
                                                                      unit.append_events(...)
                   exit without an exception ──▶ commit ──▶ (service) bus / outbox wake-up
                   exit by an exception ───────▶ nothing of the unit is kept

The event stream's sequence is allocated inside the unit (``allocate_seq``), so sequence
order is commit order and the stream has no gaps: a reader that saw ``seq`` has seen
everything before it. Implementations: SqlChatStore (chat/sql_store.py, SQLite and
PostgreSQL) and MemoryChatStore (chat/memory_store.py); tests/contract/test_chat_store_contract.py
holds both to the same behaviour.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Protocol

from switchboard.chat.domain_events import ChatEvent
from switchboard.chat.models import (
    Message,
    NewParticipant,
    Participant,
    ReadReceipt,
    RetentionPolicy,
    Thread,
)
from switchboard.core.errors import ThreadNotFoundError
from switchboard.core.events import IntegrationEvent


class ThreadUnit(Protocol):
    """One change to one thread: the thread locked for it, its roster, and the writes."""

    @property
    def thread(self) -> Thread:
        """The thread as locked (and as changed by this unit so far)."""
        ...

    @property
    def roster(self) -> Sequence[Participant]:
        """Every participant ever added (removed ones included), by (added_seq, user_id)."""
        ...

    async def allocate_seq(self) -> int:
        """The next position of the chat event stream (serialises stream writers)."""
        ...

    async def add_participants(
        self, added: Sequence[NewParticipant], now_ms: int, seq: int
    ) -> None:
        """Add (or bring back, with a new membership window) participants; updates roster."""
        ...

    async def remove_participant(self, user_id: str, now_ms: int, seq: int) -> None: ...

    async def update_thread(
        self,
        *,
        topic: str | None = None,
        deleted_ms: int | None = None,
        metadata: Mapping[str, str] | None = None,
        retention: RetentionPolicy | None = None,
    ) -> None:
        """Replace what is given (None: kept); ``metadata`` whole (the service merges), and
        the thread's ``expires_ms`` from ``retention``."""
        ...

    async def add_message(self, message: Message) -> None:
        """Insert a message and advance the thread's message sequence and id clock to it."""
        ...

    async def lock_message(self, message_id: str) -> Message | None: ...

    async def replace_message(self, message: Message) -> None:
        """Store an edited or deleted version of an existing message."""
        ...

    async def set_read_receipt(self, user_id: str, message_id: str, read_ms: int) -> None: ...

    async def append_events(self, events: Sequence[ChatEvent], now_ms: int) -> None:
        """Append to the event stream (seqs from ``allocate_seq``)."""
        ...

    async def add_integration_events(self, events: Sequence[IntegrationEvent]) -> None:
        """Into the Event Grid outbox, committed with this unit or never."""
        ...


class ChatStore(Protocol):
    def thread_unit(self, thread_id: str) -> AbstractAsyncContextManager[ThreadUnit]:
        """Lock a live thread for one change; ThreadNotFoundError if it is missing or deleted."""
        ...

    def new_thread_unit(self, thread: Thread) -> AbstractAsyncContextManager[ThreadUnit]:
        """Create ``thread`` (no participants yet) and make the first change to it."""
        ...

    async def get_thread(self, thread_id: str) -> Thread | None: ...

    async def get_participant(self, thread_id: str, user_id: str) -> Participant | None: ...

    async def list_participants(self, thread_id: str, skip: int, limit: int) -> list[Participant]:
        """Active participants by (added_seq, user_id)."""
        ...

    async def list_threads(
        self, user_id: str, start_ms: int | None, after: tuple[int, str] | None, limit: int
    ) -> list[Thread]:
        """Live threads the user is in, newest first; ``after`` = (created_ms, id) of the last
        seen; ``start_ms`` keeps those with activity (last message, else creation) since."""
        ...

    async def list_messages(
        self, viewer: Participant, start_ms: int | None, before_seq: int | None, limit: int
    ) -> list[Message]:
        """Messages the viewer may see, newest first, strictly before ``before_seq``."""
        ...

    async def get_message(self, thread_id: str, message_id: str) -> Message | None: ...

    async def list_read_receipts(self, thread_id: str, skip: int, limit: int) -> list[ReadReceipt]:
        """Receipts of active participants, by (read_ms, user_id)."""
        ...

    async def events_since(self, user_id: str, cursor: int, limit: int) -> list[ChatEvent]:
        """The user's durable events after ``cursor``, in order (membership windows apply)."""
        ...

    async def events_between(self, first: int, last: int) -> list[ChatEvent]:
        """Every event with first <= seq <= last (recipients recomputed from memberships)."""
        ...

    async def stream_bounds(self) -> tuple[int, int]:
        """(oldest retained seq - 1, last seq): a cursor below the first is beyond retention."""
        ...

    async def prune_events(self, older_than_ms: int) -> int: ...

    async def expired_threads(self, now_ms: int, limit: int) -> list[str]:
        """Ids of live threads whose retention policy has them deleted at or before now."""
        ...


def participants_seq_window(participants: Sequence[Participant], seq: int) -> tuple[str, ...]:
    """Recipients of event ``seq``: those whose membership window contains it."""
    return tuple(
        p.user_id
        for p in participants
        if p.added_seq <= seq and (p.removed_seq is None or p.removed_seq >= seq)
    )


async def live_thread(store: ChatStore, thread_id: str) -> Thread:
    """The thread, unless it is missing or deleted (ThreadNotFoundError)."""
    thread = await store.get_thread(thread_id)
    if thread is None or thread.deleted_ms is not None:
        raise ThreadNotFoundError(f"Thread '{thread_id}' was not found.", target="threadId")
    return thread
