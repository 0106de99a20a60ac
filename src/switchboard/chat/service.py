"""ChatService: the rules of chat, one transaction per change, events after commit.

route ─▶ ChatService.op(principal, ...)
           ├─ scope + membership checks
           ├─ store.transaction(): lock thread, write rows, allocate stream seqs,
           │                       append events (+ Event Grid outbox, same transaction)
           └─ after commit: bus "chat.events" ─▶ every node's realtime hub ─▶ sockets
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from switchboard.chat import access
from switchboard.chat import event_schemas as shapes
from switchboard.chat.models import (
    ChatEvent,
    ChatEventName,
    Message,
    MessageType,
    NewParticipant,
    Participant,
    Thread,
)
from switchboard.chat.participants import (
    IdentityDirectory,
    InvalidParticipant,
    find_participant,
    validate_new_participants,
)
from switchboard.chat.rules import ChatRules
from switchboard.chat.store import SqlChatStore
from switchboard.chat.transaction import ChatTransaction
from switchboard.chat.writer import ChatWriter
from switchboard.core.errors import (
    MessageNotFoundError,
    PermissionDeniedError,
)
from switchboard.core.principal import Principal


class ChatService:
    """Threads and messages. Participants, typing and receipts: ChatRosterService."""

    def __init__(
        self,
        store: SqlChatStore,
        writer: ChatWriter,
        identities: IdentityDirectory,
        rules: ChatRules,
    ) -> None:
        self._store = store
        self._writer = writer
        self._identities = identities
        self._rules = rules
        self.limits = rules.limits

    # ---- threads -------------------------------------------------------------------------

    async def create_thread(
        self, principal: Principal, topic: str, participants: Sequence[NewParticipant]
    ) -> tuple[Thread, list[InvalidParticipant]]:
        creator = access.caller(principal)
        access.require_thread_admin(principal)
        self._rules.check_topic(topic)
        valid, invalid = await validate_new_participants(self._identities, participants)
        if all(p.user_id != creator for p in valid):
            valid.insert(0, NewParticipant(creator))
        self._rules.check_roster_size(len(valid))
        now = self._writer.now_ms()
        thread = Thread(f"19:{secrets.token_hex(16)}@thread.v2", topic, now, creator)
        async with self._writer.transaction() as tx:
            await tx.insert_thread(thread)
            seq = await tx.allocate_seqs(1)
            await tx.upsert_participants(thread.id, valid, now, seq)
            everyone = await tx.participants(thread.id)
            event = ChatEvent(
                seq,
                thread.id,
                ChatEventName.THREAD_CREATED,
                shapes.thread_created_event(thread, everyone),
                tuple(p.user_id for p in everyone),
            )
            await self._writer.system_message(
                tx,
                thread,
                MessageType.PARTICIPANT_ADDED,
                now,
                creator,
                participants=[shapes.participant_json(p) for p in everyone],
            )
            events = [event]
            await tx.append_events(events, now)
            await self._writer.to_sink(tx, events)
        await self._writer.publish(events)
        return thread, invalid

    async def get_thread(self, principal: Principal, thread_id: str) -> Thread:
        user = access.caller(principal)
        thread = await self._writer.live_thread(thread_id)
        access.require_reader(await self._store.get_participant(thread_id, user), thread_id)
        return thread

    async def list_threads(
        self, principal: Principal, start_ms: int | None, after: tuple[int, str] | None, limit: int
    ) -> list[Thread]:
        return await self._store.list_threads(access.caller(principal), start_ms, after, limit)

    async def update_topic(self, principal: Principal, thread_id: str, topic: str) -> None:
        user = access.caller(principal)
        access.require_thread_admin(principal)
        self._rules.check_topic(topic)
        now = self._writer.now_ms()
        async with self._writer.transaction() as tx:
            thread = await self._writer.locked(tx, thread_id)
            everyone = await tx.participants(thread_id)
            access.require_active(find_participant(everyone, user), thread_id)
            await tx.update_thread(thread_id, topic=topic)
            await self._writer.system_message(
                tx, thread, MessageType.TOPIC_UPDATED, now, user, topic=topic
            )
            events = await self._writer.append(
                tx,
                thread_id,
                ChatEventName.THREAD_PROPERTIES_UPDATED,
                everyone,
                now,
                lambda: shapes.thread_updated_event(thread_id, topic, user, everyone, now),
            )
        await self._writer.publish(events)

    async def delete_thread(self, principal: Principal, thread_id: str) -> None:
        user = access.caller(principal)
        access.require_thread_admin(principal)
        now = self._writer.now_ms()
        async with self._writer.transaction() as tx:
            await self._writer.locked(tx, thread_id)
            everyone = await tx.participants(thread_id)
            access.require_active(find_participant(everyone, user), thread_id)
            await tx.update_thread(thread_id, deleted_ms=now)
            events = await self._writer.append(
                tx,
                thread_id,
                ChatEventName.THREAD_DELETED,
                everyone,
                now,
                lambda: shapes.thread_deleted_event(thread_id, user, everyone, now),
            )
        await self._writer.publish(events)

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
        now = self._writer.now_ms()
        async with self._writer.transaction() as tx:
            thread = await self._writer.locked(tx, thread_id)
            everyone = await tx.participants(thread_id)
            access.require_active(find_participant(everyone, user), thread_id)
            message = await self._writer.insert_message(
                tx,
                thread,
                kind,
                now,
                content=content,
                sender_id=user,
                sender_display_name=sender_display_name,
                metadata=metadata,
            )
            events = await self._writer.append(
                tx,
                thread_id,
                ChatEventName.MESSAGE_RECEIVED,
                everyone,
                now,
                lambda: shapes.message_event(message),
            )
        await self._writer.publish(events)
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
        now = self._writer.now_ms()
        async with self._writer.transaction() as tx:
            await self._writer.locked(tx, thread_id)
            everyone = await tx.participants(thread_id)
            access.require_active(find_participant(everyone, user), thread_id)
            message = await self._own_message(tx, thread_id, message_id, user)
            values: dict[str, Any] = {"edited_ms": now, "version_ms": now}
            if content is not None:
                values["content"] = content
            if metadata is not None:
                values["metadata"] = {**(message.metadata or {}), **metadata}
            await tx.update_message(thread_id, message_id, **values)
            edited = replace(
                message,
                content=values.get("content", message.content),
                metadata=values.get("metadata", message.metadata),
                edited_ms=now,
                version_ms=now,
            )
            events = await self._writer.append(
                tx,
                thread_id,
                ChatEventName.MESSAGE_EDITED,
                everyone,
                now,
                lambda: shapes.message_event(edited, edited=True),
            )
        await self._writer.publish(events)

    async def delete_message(self, principal: Principal, thread_id: str, message_id: str) -> None:
        user = access.caller(principal)
        now = self._writer.now_ms()
        async with self._writer.transaction() as tx:
            await self._writer.locked(tx, thread_id)
            everyone = await tx.participants(thread_id)
            access.require_active(find_participant(everyone, user), thread_id)
            message = await self._own_message(tx, thread_id, message_id, user)
            if message.deleted_ms is not None:
                return  # deleting twice is harmless, and announces nothing new
            await tx.update_message(thread_id, message_id, deleted_ms=now, version_ms=now)
            deleted = replace(message, deleted_ms=now, version_ms=now)
            events = await self._writer.append(
                tx,
                thread_id,
                ChatEventName.MESSAGE_DELETED,
                everyone,
                now,
                lambda: shapes.message_event(deleted, deleted=True),
            )
        await self._writer.publish(events)

    # ---- internals -----------------------------------------------------------------------

    async def _reader(self, principal: Principal, thread_id: str) -> Participant:
        user = access.caller(principal)
        await self._writer.live_thread(thread_id)
        return access.require_reader(await self._store.get_participant(thread_id, user), thread_id)

    async def _own_message(
        self, tx: ChatTransaction, thread_id: str, message_id: str, user: str
    ) -> Message:
        message = await tx.lock_message(thread_id, message_id)
        if message is None:
            raise MessageNotFoundError(f"Message '{message_id}' was not found.", target="messageId")
        if message.sender_id != user:
            raise PermissionDeniedError(
                "Only the sender of a message can edit or delete it.", code="NotMessageSender"
            )
        return message
