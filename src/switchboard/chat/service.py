"""ChatService: the rules of chat, one unit of work per change, events after commit.

route ─▶ ChatService.op(principal, ...)
           ├─ scope + membership checks
           ├─ changes.thread(id): lock thread + roster, write rows, allocate stream seqs,
           │                      append events (+ Event Grid outbox, same transaction)
           └─ after commit: bus "chat.events" ─▶ every node's realtime hub ─▶ sockets
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import replace

from switchboard.chat import access
from switchboard.chat import event_schemas as shapes
from switchboard.chat.changes import ChatChange, ChatChanges
from switchboard.chat.domain_events import (
    ChatActor,
    ChatMessageFacts,
    ChatParticipant,
    MessageDeleted,
    MessageEdited,
    MessageReceived,
    ThreadCreated,
    ThreadDeleted,
    ThreadPropertiesUpdated,
)
from switchboard.chat.models import (
    Message,
    MessageType,
    NewParticipant,
    Participant,
    RetentionPolicy,
    Thread,
)
from switchboard.chat.participants import (
    IdentityDirectory,
    InvalidParticipant,
    find_participant,
    validate_new_participants,
)
from switchboard.chat.rules import ChatRules
from switchboard.chat.store import ChatStore, live_thread
from switchboard.core.errors import (
    MessageNotFoundError,
    PermissionDeniedError,
    ThreadNotFoundError,
)
from switchboard.core.principal import Principal


class ChatService:
    """Threads and messages. Participants, typing and receipts: ChatRosterService."""

    def __init__(
        self,
        store: ChatStore,
        changes: ChatChanges,
        identities: IdentityDirectory,
        rules: ChatRules,
    ) -> None:
        self._store = store
        self._changes = changes
        self._identities = identities
        self._rules = rules
        self.limits = rules.limits
        self.rules = rules
        self.messages_sent = 0  # committed sends through this node, for metrics

    # ---- threads -------------------------------------------------------------------------

    async def create_thread(
        self,
        principal: Principal,
        topic: str,
        participants: Sequence[NewParticipant],
        *,
        metadata: Mapping[str, str] | None = None,
        retention: RetentionPolicy | None = None,
    ) -> tuple[Thread, list[InvalidParticipant]]:
        creator = access.caller(principal)
        access.require_thread_admin(principal)
        self._rules.check_topic(topic)
        self._rules.check_metadata(metadata)
        for participant in participants:
            self._rules.check_metadata(participant.metadata)
        valid, invalid = await validate_new_participants(self._identities, participants)
        if all(p.user_id != creator for p in valid):
            valid.insert(0, NewParticipant(creator))
        self._rules.check_roster_size(len(valid))
        now = self._changes.now_ms()
        thread = Thread(f"19:{secrets.token_hex(16)}@thread.v2", topic, now, creator).updated(
            metadata=metadata, retention=retention
        )
        async with self._changes.new_thread(thread) as change:
            seq = await change.unit.allocate_seq()
            await change.unit.add_participants(valid, now, seq)
            everyone = change.roster
            # As ACS records it: participantAdded (sequence 1), then topicUpdated with the
            # thread's first topic (2), so the first message a user sends is sequence 3.
            await change.add_system_message(
                MessageType.PARTICIPANT_ADDED,
                creator,
                participants=[shapes.participant_json(p) for p in everyone],
            )
            await change.add_system_message(MessageType.TOPIC_UPDATED, creator, topic=topic)
            await change.emit(
                ThreadCreated(
                    thread.id,
                    ChatActor.among(creator, everyone),
                    now,
                    topic,
                    tuple(ChatParticipant.of(p) for p in everyone),
                    dict(thread.metadata or {}),
                ),
                seq=seq,
            )
        return thread, invalid

    async def get_thread(self, principal: Principal, thread_id: str) -> Thread:
        user = access.caller(principal)
        thread = await live_thread(self._store, thread_id)
        access.require_reader(await self._store.get_participant(thread_id, user), thread_id)
        return thread

    async def list_threads(
        self, principal: Principal, start_ms: int | None, after: tuple[int, str] | None, limit: int
    ) -> list[Thread]:
        return await self._store.list_threads(access.caller(principal), start_ms, after, limit)

    async def update_topic(self, principal: Principal, thread_id: str, topic: str) -> None:
        await self.update_thread(principal, thread_id, topic=topic)

    async def update_thread(
        self,
        principal: Principal,
        thread_id: str,
        *,
        topic: str | None = None,
        metadata: Mapping[str, str] | None = None,
        retention: RetentionPolicy | None = None,
    ) -> None:
        """PATCH a thread: ``metadata`` is merged into the thread's (as ACS's recording of
        "updates the thread metadata" shows); a new topic also leaves a topicUpdated message."""
        user = access.caller(principal)
        access.require_thread_admin(principal)
        if topic is not None:
            self._rules.check_topic(topic)
        if topic is None and metadata is None and retention is None:
            return  # an empty PATCH changes nothing (and announces nothing)
        async with self._changes.thread(thread_id) as change:
            everyone = change.roster
            access.require_active(find_participant(everyone, user), thread_id)
            merged = None
            if metadata is not None:
                merged = {**(change.thread.metadata or {}), **metadata}
                self._rules.check_metadata(merged)
            await change.unit.update_thread(topic=topic, metadata=merged, retention=retention)
            if topic is not None:
                await change.add_system_message(MessageType.TOPIC_UPDATED, user, topic=topic)
            thread = change.thread
            await change.emit(
                ThreadPropertiesUpdated(
                    thread_id,
                    ChatActor.among(user, everyone),
                    change.now_ms,
                    thread.topic,
                    dict(thread.metadata or {}),
                )
            )

    async def delete_expired_threads(self, limit: int = 100) -> int:
        """The retention sweeper's round: delete each live thread whose retention policy has
        run out (as its creator, who chose the policy). Returns how many were deleted."""
        now = self._changes.now_ms()
        deleted = 0
        for thread_id in await self._store.expired_threads(now, limit):
            try:
                async with self._changes.thread(thread_id) as change:
                    thread = change.thread
                    if thread.expires_ms is None or thread.expires_ms > change.now_ms:
                        continue  # its policy changed since it was listed
                    await change.unit.update_thread(deleted_ms=change.now_ms)
                    await change.emit(
                        ThreadDeleted(
                            thread_id,
                            ChatActor.among(thread.created_by, change.roster),
                            change.now_ms,
                        )
                    )
                deleted += 1
            except ThreadNotFoundError:
                continue  # deleted by a user (or another node's sweeper) meanwhile
        return deleted

    async def delete_thread(self, principal: Principal, thread_id: str) -> None:
        user = access.caller(principal)
        access.require_thread_admin(principal)
        async with self._changes.thread(thread_id) as change:
            everyone = change.roster
            access.require_active(find_participant(everyone, user), thread_id)
            await change.unit.update_thread(deleted_ms=change.now_ms)
            await change.emit(
                ThreadDeleted(thread_id, ChatActor.among(user, everyone), change.now_ms)
            )

    # ---- messages ------------------------------------------------------------------------

    async def send_message(
        self,
        principal: Principal,
        thread_id: str,
        content: str,
        message_type: str,
        sender_display_name: str | None,
        metadata: Mapping[str, str] | None,
    ) -> Message:
        user = access.caller(principal)
        kind = self._rules.message_type(message_type)
        self._rules.check_content(content)
        self._rules.check_metadata(metadata)
        async with self._changes.thread(thread_id) as change:
            access.require_active(find_participant(change.roster, user), thread_id)
            message = await change.add_message(
                kind,
                content=content,
                sender_id=user,
                sender_display_name=sender_display_name,
                metadata=metadata,
            )
            await change.emit(MessageReceived(thread_id, ChatMessageFacts.of(message)))
        self.messages_sent += 1
        return message

    async def get_message(self, principal: Principal, thread_id: str, message_id: str) -> Message:
        viewer = await self._reader(principal, thread_id)
        message = await self._store.get_message(thread_id, message_id)
        if message is None or not viewer.can_see(message.created_ms):
            raise MessageNotFoundError(f"Message '{message_id}' was not found.", target="messageId")
        return message

    async def list_messages(
        self,
        principal: Principal,
        thread_id: str,
        start_ms: int | None,
        before_seq: int | None,
        limit: int,
    ) -> list[Message]:
        viewer = await self._reader(principal, thread_id)
        return await self._store.list_messages(viewer, start_ms, before_seq, limit)

    async def update_message(
        self,
        principal: Principal,
        thread_id: str,
        message_id: str,
        content: str | None,
        metadata: Mapping[str, str] | None,
    ) -> None:
        user = access.caller(principal)
        if content is not None:
            self._rules.check_content(content)
        self._rules.check_metadata(metadata)
        async with self._changes.thread(thread_id) as change:
            access.require_active(find_participant(change.roster, user), thread_id)
            message = await self._own_message(change, message_id, user)
            now = change.now_ms
            edited = replace(
                message,
                content=message.content if content is None else content,
                metadata=(
                    message.metadata
                    if metadata is None
                    else {**(message.metadata or {}), **metadata}
                ),
                edited_ms=now,
                version_ms=now,
            )
            await change.unit.replace_message(edited)
            await change.emit(MessageEdited(thread_id, ChatMessageFacts.of(edited)))

    async def delete_message(self, principal: Principal, thread_id: str, message_id: str) -> None:
        user = access.caller(principal)
        async with self._changes.thread(thread_id) as change:
            access.require_active(find_participant(change.roster, user), thread_id)
            message = await self._own_message(change, message_id, user)
            if message.deleted_ms is not None:
                return  # deleting twice is harmless, and announces nothing new
            deleted = replace(message, deleted_ms=change.now_ms, version_ms=change.now_ms)
            await change.unit.replace_message(deleted)
            await change.emit(MessageDeleted(thread_id, ChatMessageFacts.of(deleted)))

    # ---- internals -----------------------------------------------------------------------

    async def _reader(self, principal: Principal, thread_id: str) -> Participant:
        user = access.caller(principal)
        await live_thread(self._store, thread_id)
        return access.require_reader(await self._store.get_participant(thread_id, user), thread_id)

    async def _own_message(self, change: ChatChange, message_id: str, user: str) -> Message:
        message = await change.unit.lock_message(message_id)
        if message is None:
            raise MessageNotFoundError(f"Message '{message_id}' was not found.", target="messageId")
        if message.sender_id != user:
            raise PermissionDeniedError(
                "Only the sender of a message can edit or delete it.", code="NotMessageSender"
            )
        return message
