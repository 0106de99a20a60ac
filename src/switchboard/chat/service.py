"""ChatService: the rules of chat, one transaction per change, events after commit.

route ─▶ ChatService.op(principal, ...)
           ├─ scope + membership checks
           ├─ store.transaction(): lock thread, write rows, allocate stream seqs,
           │                       append events (+ Event Grid outbox, same transaction)
           └─ after commit: bus "chat.events" ─▶ every node's realtime hub ─▶ sockets
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any, Protocol

import msgspec

from switchboard.bus.base import Bus
from switchboard.chat import access
from switchboard.chat import event_schemas as shapes
from switchboard.chat.fanout import CHAT_EVENTS, BusEvent
from switchboard.chat.models import (
    ChatEvent,
    ChatEventName,
    ChatLimits,
    Message,
    MessageType,
    NewParticipant,
    Participant,
    ReadReceipt,
    Thread,
)
from switchboard.chat.rules import ChatRules
from switchboard.chat.store import SqlChatStore, participants_seq_window
from switchboard.chat.transaction import ChatTransaction
from switchboard.core.errors import (
    BadRequestError,
    MessageNotFoundError,
    PermissionDeniedError,
    ThreadNotFoundError,
)
from switchboard.core.identifiers import is_acs_user_id
from switchboard.core.principal import Principal

log = logging.getLogger(__name__)


class IdentityDirectory(Protocol):
    async def is_live(self, user_id: str) -> bool: ...


class ChatEventSink(Protocol):
    """Producers of integration events inside chat transactions (the Event Grid outbox)."""

    async def on_chat_events(self, tx: ChatTransaction, events: Sequence[ChatEvent]) -> None: ...

    async def after_commit(self, events: Sequence[ChatEvent]) -> None: ...


class InvalidParticipant(msgspec.Struct):
    raw_id: str
    code: str
    message: str


class ChatService:
    def __init__(
        self,
        store: SqlChatStore,
        identities: IdentityDirectory,
        bus: Bus,
        *,
        clock: Callable[[], float],
        limits: ChatLimits | None = None,
        sink: ChatEventSink | None = None,
    ) -> None:
        self._store = store
        self._identities = identities
        self._bus = bus
        self._clock = clock
        self.limits = limits or ChatLimits()
        self._rules = ChatRules(self.limits)
        self._sink = sink
        self._encoder = msgspec.json.Encoder()

    # ---- threads -------------------------------------------------------------------------

    async def create_thread(
        self, principal: Principal, topic: str, participants: Sequence[NewParticipant]
    ) -> tuple[Thread, list[InvalidParticipant]]:
        creator = access.caller(principal)
        access.require_thread_admin(principal)
        self._rules.check_topic(topic)
        valid, invalid = await self._validate_new(participants)
        if all(p.user_id != creator for p in valid):
            valid.insert(0, NewParticipant(creator))
        self._rules.check_roster_size(len(valid))
        now = self._now_ms()
        thread = Thread(f"19:{secrets.token_hex(16)}@thread.v2", topic, now, creator)
        async with self._store.transaction() as tx:
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
            await self._system_message(
                tx,
                thread,
                MessageType.PARTICIPANT_ADDED,
                now,
                creator,
                participants=[shapes.participant_json(p) for p in everyone],
            )
            events = [event]
            await tx.append_events(events, now)
            await self._to_sink(tx, events)
        await self._publish(events)
        return thread, invalid

    async def get_thread(self, principal: Principal, thread_id: str) -> Thread:
        user = access.caller(principal)
        thread = await self._live_thread(thread_id)
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
        now = self._now_ms()
        async with self._store.transaction() as tx:
            thread = await self._locked(tx, thread_id)
            everyone = await tx.participants(thread_id)
            access.require_active(_find(everyone, user), thread_id)
            await tx.update_thread(thread_id, topic=topic)
            await self._system_message(
                tx, thread, MessageType.TOPIC_UPDATED, now, user, topic=topic
            )
            events = await self._append(
                tx,
                thread_id,
                ChatEventName.THREAD_PROPERTIES_UPDATED,
                everyone,
                now,
                lambda: shapes.thread_updated_event(thread_id, topic, user, everyone, now),
            )
        await self._publish(events)

    async def delete_thread(self, principal: Principal, thread_id: str) -> None:
        user = access.caller(principal)
        access.require_thread_admin(principal)
        now = self._now_ms()
        async with self._store.transaction() as tx:
            await self._locked(tx, thread_id)
            everyone = await tx.participants(thread_id)
            access.require_active(_find(everyone, user), thread_id)
            await tx.update_thread(thread_id, deleted_ms=now)
            events = await self._append(
                tx,
                thread_id,
                ChatEventName.THREAD_DELETED,
                everyone,
                now,
                lambda: shapes.thread_deleted_event(thread_id, user, everyone, now),
            )
        await self._publish(events)

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
        now = self._now_ms()
        async with self._store.transaction() as tx:
            thread = await self._locked(tx, thread_id)
            everyone = await tx.participants(thread_id)
            access.require_active(_find(everyone, user), thread_id)
            message = await self._insert_message(
                tx,
                thread,
                kind,
                now,
                content=content,
                sender_id=user,
                sender_display_name=sender_display_name,
                metadata=metadata,
            )
            events = await self._append(
                tx,
                thread_id,
                ChatEventName.MESSAGE_RECEIVED,
                everyone,
                now,
                lambda: shapes.message_event(message),
            )
        await self._publish(events)
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
        now = self._now_ms()
        async with self._store.transaction() as tx:
            await self._locked(tx, thread_id)
            everyone = await tx.participants(thread_id)
            access.require_active(_find(everyone, user), thread_id)
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
            events = await self._append(
                tx,
                thread_id,
                ChatEventName.MESSAGE_EDITED,
                everyone,
                now,
                lambda: shapes.message_event(edited, edited=True),
            )
        await self._publish(events)

    async def delete_message(self, principal: Principal, thread_id: str, message_id: str) -> None:
        user = access.caller(principal)
        now = self._now_ms()
        async with self._store.transaction() as tx:
            await self._locked(tx, thread_id)
            everyone = await tx.participants(thread_id)
            access.require_active(_find(everyone, user), thread_id)
            message = await self._own_message(tx, thread_id, message_id, user)
            if message.deleted_ms is not None:
                return  # deleting twice is harmless, and announces nothing new
            await tx.update_message(thread_id, message_id, deleted_ms=now, version_ms=now)
            deleted = replace(message, deleted_ms=now, version_ms=now)
            events = await self._append(
                tx,
                thread_id,
                ChatEventName.MESSAGE_DELETED,
                everyone,
                now,
                lambda: shapes.message_event(deleted, deleted=True),
            )
        await self._publish(events)

    # ---- participants --------------------------------------------------------------------

    async def list_participants(
        self, principal: Principal, thread_id: str, skip: int, limit: int
    ) -> list[Participant]:
        user = access.caller(principal)
        await self._live_thread(thread_id)
        access.require_active(await self._store.get_participant(thread_id, user), thread_id)
        return await self._store.list_participants(thread_id, skip, limit)

    async def add_participants(
        self, principal: Principal, thread_id: str, participants: Sequence[NewParticipant]
    ) -> list[InvalidParticipant]:
        user = access.caller(principal)
        access.require_roster_change(principal)
        if len(participants) > self.limits.max_participants_per_add:
            raise BadRequestError(
                f"At most {self.limits.max_participants_per_add} participants can be added "
                f"at once; got {len(participants)}.",
                code="TooManyParticipants",
            )
        valid, invalid = await self._validate_new(participants)
        now = self._now_ms()
        async with self._store.transaction() as tx:
            thread = await self._locked(tx, thread_id)
            before = await tx.participants(thread_id)
            access.require_active(_find(before, user), thread_id)
            active = {p.user_id for p in before if p.is_active}
            fresh = [p for p in valid if p.user_id not in active]
            self._rules.check_roster_size(len(active) + len(fresh))
            if not fresh:
                return invalid
            seq = await tx.allocate_seqs(1)
            await tx.upsert_participants(thread_id, fresh, now, seq)
            everyone = await tx.participants(thread_id)
            added = [p for p in everyone if p.added_seq == seq]
            await self._system_message(
                tx,
                thread,
                MessageType.PARTICIPANT_ADDED,
                now,
                user,
                participants=[shapes.participant_json(p) for p in added],
            )
            events = [
                ChatEvent(
                    seq,
                    thread_id,
                    ChatEventName.PARTICIPANTS_ADDED,
                    shapes.participants_added_event(thread_id, added, user, everyone, now),
                    participants_seq_window(everyone, seq),
                )
            ]
            await tx.append_events(events, now)
            await self._to_sink(tx, events)
        await self._publish(events)
        return invalid

    async def remove_participant(self, principal: Principal, thread_id: str, raw_id: str) -> None:
        user = access.caller(principal)
        access.require_roster_change(principal)
        now = self._now_ms()
        async with self._store.transaction() as tx:
            thread = await self._locked(tx, thread_id)
            everyone = await tx.participants(thread_id)
            access.require_active(_find(everyone, user), thread_id)
            target = _find(everyone, raw_id)
            if target is None or not target.is_active:
                return  # removing a non-participant changes nothing
            seq = await tx.allocate_seqs(1)
            await tx.remove_participant(thread_id, raw_id, now, seq)
            removed = replace(target, removed_ms=now, removed_seq=seq)
            await self._system_message(
                tx,
                thread,
                MessageType.PARTICIPANT_REMOVED,
                now,
                user,
                participants=[shapes.participant_json(removed)],
            )
            after = [removed if p.user_id == raw_id else p for p in everyone]
            events = [
                ChatEvent(
                    seq,
                    thread_id,
                    ChatEventName.PARTICIPANTS_REMOVED,
                    shapes.participants_removed_event(thread_id, removed, user, everyone, now),
                    participants_seq_window(after, seq),
                )
            ]
            await tx.append_events(events, now)
            await self._to_sink(tx, events)
        await self._publish(events)

    # ---- typing and read receipts --------------------------------------------------------

    async def send_typing(
        self, principal: Principal, thread_id: str, display_name: str | None
    ) -> None:
        """Typing is ephemeral: delivered live to the others, never stored or replayed."""
        user = access.caller(principal)
        await self._live_thread(thread_id)
        participants = await self._small_roster(thread_id, user, "Typing notifications")
        now = self._now_ms()
        event = ChatEvent(
            None,
            thread_id,
            ChatEventName.TYPING_INDICATOR_RECEIVED,
            shapes.typing_event(thread_id, user, display_name, now),
            tuple(p.user_id for p in participants if p.user_id != user),
        )
        await self._publish([event])

    async def send_read_receipt(
        self, principal: Principal, thread_id: str, message_id: str
    ) -> None:
        user = access.caller(principal)
        await self._live_thread(thread_id)
        participants = await self._small_roster(thread_id, user, "Read receipts")
        me = _find(participants, user)
        message = await self._store.get_message(thread_id, message_id)
        if message is None or me is None or not me.can_see(message.created_ms):
            raise MessageNotFoundError(
                f"Message '{message_id}' was not found.", target="chatMessageId"
            )
        now = self._now_ms()
        async with self._store.transaction() as tx:
            await tx.set_read_receipt(thread_id, user, message_id, now)
            everyone = await tx.participants(thread_id)
            events = await self._append(
                tx,
                thread_id,
                ChatEventName.READ_RECEIPT_RECEIVED,
                everyone,
                now,
                lambda: shapes.read_receipt_event(
                    thread_id, user, me.display_name, message_id, now
                ),
            )
        await self._publish(events)

    async def list_read_receipts(
        self, principal: Principal, thread_id: str, skip: int, limit: int
    ) -> list[ReadReceipt]:
        user = access.caller(principal)
        await self._live_thread(thread_id)
        access.require_active(await self._store.get_participant(thread_id, user), thread_id)
        return await self._store.list_read_receipts(thread_id, skip, limit)

    # ---- internals -----------------------------------------------------------------------

    async def _validate_new(
        self, participants: Sequence[NewParticipant]
    ) -> tuple[list[NewParticipant], list[InvalidParticipant]]:
        valid: list[NewParticipant] = []
        invalid: list[InvalidParticipant] = []
        seen: set[str] = set()
        for participant in participants:
            raw_id = participant.user_id
            if raw_id in seen:
                continue
            seen.add(raw_id)
            if not is_acs_user_id(raw_id):
                invalid.append(
                    InvalidParticipant(
                        raw_id,
                        "InvalidParticipant",
                        "Only Communication Services users of this resource can join chat threads.",
                    )
                )
            elif not await self._identities.is_live(raw_id):
                invalid.append(
                    InvalidParticipant(
                        raw_id,
                        "IdentityNotFound",
                        f"Identity '{raw_id}' was not found.",
                    )
                )
            else:
                valid.append(participant)
        return valid, invalid

    async def _small_roster(self, thread_id: str, user: str, feature: str) -> list[Participant]:
        participants = await self._store.list_participants(thread_id, 0, 10_000)
        access.require_active(_find(participants, user), thread_id)
        cap = self.limits.max_participants_for_receipts_and_typing
        if len(participants) > cap:
            raise BadRequestError(
                f"{feature} are turned off in threads with more than {cap} participants.",
                code="FeatureDisabledForLargeThread",
            )
        return participants

    async def _reader(self, principal: Principal, thread_id: str) -> Participant:
        user = access.caller(principal)
        await self._live_thread(thread_id)
        return access.require_reader(await self._store.get_participant(thread_id, user), thread_id)

    async def _live_thread(self, thread_id: str) -> Thread:
        thread = await self._store.get_thread(thread_id)
        if thread is None or thread.deleted_ms is not None:
            raise ThreadNotFoundError(f"Thread '{thread_id}' was not found.", target="threadId")
        return thread

    async def _locked(self, tx: ChatTransaction, thread_id: str) -> Thread:
        thread = await tx.lock_thread(thread_id)
        if thread is None or thread.deleted_ms is not None:
            raise ThreadNotFoundError(f"Thread '{thread_id}' was not found.", target="threadId")
        return thread

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

    async def _insert_message(
        self, tx: ChatTransaction, thread: Thread, kind: MessageType, now: int, **fields: Any
    ) -> Message:
        # Message ids are epoch milliseconds, unique and increasing within a thread. ``thread``
        # is the row as locked in this transaction (one message per transaction at most).
        id_ms = max(now, thread.last_message_id_ms + 1)
        sequence = thread.message_seq + 1
        message = Message(thread.id, str(id_ms), sequence, kind, now, id_ms, **fields)
        await tx.insert_message(message)
        await tx.update_thread(
            thread.id, message_seq=sequence, last_message_id_ms=id_ms, last_message_ms=now
        )
        return message

    async def _system_message(
        self,
        tx: ChatTransaction,
        thread: Thread,
        kind: MessageType,
        now: int,
        initiator: str,
        **content: Any,
    ) -> Message:
        return await self._insert_message(
            tx, thread, kind, now, system={"initiator": initiator, **content}
        )

    async def _append(
        self,
        tx: ChatTransaction,
        thread_id: str,
        name: ChatEventName,
        everyone: Sequence[Participant],
        now: int,
        build: Callable[[], dict[str, Any]],
    ) -> list[ChatEvent]:
        seq = await tx.allocate_seqs(1)
        events = [ChatEvent(seq, thread_id, name, build(), participants_seq_window(everyone, seq))]
        await tx.append_events(events, now)
        await self._to_sink(tx, events)
        return events

    async def _to_sink(self, tx: ChatTransaction, events: Sequence[ChatEvent]) -> None:
        if self._sink is not None:
            await self._sink.on_chat_events(tx, events)

    async def _publish(self, events: Sequence[ChatEvent]) -> None:
        """After commit: tell every node. A lost message is recovered from the stream."""
        if self._sink is not None:
            await self._sink.after_commit(events)
        for event in events:
            payload = BusEvent(
                event.seq,
                event.thread_id,
                event.name.value,
                dict(event.data),
                list(event.recipients),
            )
            try:
                await self._bus.publish(CHAT_EVENTS, self._encoder.encode(payload))
            except Exception:  # committed already; sockets catch up from the stream
                log.exception("publishing chat event %s failed", event.seq)

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)


def _find(participants: Sequence[Participant], user_id: str) -> Participant | None:
    for participant in participants:
        if participant.user_id == user_id:
            return participant
    return None
