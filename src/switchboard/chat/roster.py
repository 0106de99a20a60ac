"""ChatRosterService: who is in a thread (add, remove, list), typing and read receipts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from switchboard.chat import access
from switchboard.chat import event_schemas as shapes
from switchboard.chat.models import (
    ChatEvent,
    ChatEventName,
    MessageType,
    NewParticipant,
    Participant,
    ReadReceipt,
)
from switchboard.chat.participants import (
    IdentityDirectory,
    InvalidParticipant,
    find_participant,
    validate_new_participants,
)
from switchboard.chat.rules import ChatRules
from switchboard.chat.store import SqlChatStore, participants_seq_window
from switchboard.chat.writer import ChatWriter
from switchboard.core.errors import BadRequestError, MessageNotFoundError
from switchboard.core.principal import Principal


class ChatRosterService:
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

    async def list_participants(
        self, principal: Principal, thread_id: str, skip: int, limit: int
    ) -> list[Participant]:
        user = access.caller(principal)
        await self._writer.live_thread(thread_id)
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
        valid, invalid = await validate_new_participants(self._identities, participants)
        now = self._writer.now_ms()
        async with self._writer.transaction() as tx:
            thread = await self._writer.locked(tx, thread_id)
            before = await tx.participants(thread_id)
            access.require_active(find_participant(before, user), thread_id)
            active = {p.user_id for p in before if p.is_active}
            fresh = [p for p in valid if p.user_id not in active]
            self._rules.check_roster_size(len(active) + len(fresh))
            if not fresh:
                return invalid
            seq = await tx.allocate_seqs(1)
            await tx.upsert_participants(thread_id, fresh, now, seq)
            everyone = await tx.participants(thread_id)
            added = [p for p in everyone if p.added_seq == seq]
            await self._writer.system_message(
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
            await self._writer.to_sink(tx, events)
        await self._writer.publish(events)
        return invalid

    async def remove_participant(self, principal: Principal, thread_id: str, raw_id: str) -> None:
        user = access.caller(principal)
        access.require_roster_change(principal)
        now = self._writer.now_ms()
        async with self._writer.transaction() as tx:
            thread = await self._writer.locked(tx, thread_id)
            everyone = await tx.participants(thread_id)
            access.require_active(find_participant(everyone, user), thread_id)
            target = find_participant(everyone, raw_id)
            if target is None or not target.is_active:
                return  # removing a non-participant changes nothing
            seq = await tx.allocate_seqs(1)
            await tx.remove_participant(thread_id, raw_id, now, seq)
            removed = replace(target, removed_ms=now, removed_seq=seq)
            await self._writer.system_message(
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
            await self._writer.to_sink(tx, events)
        await self._writer.publish(events)

    async def send_typing(
        self, principal: Principal, thread_id: str, display_name: str | None
    ) -> None:
        """Typing is ephemeral: delivered live to the others, never stored or replayed."""
        user = access.caller(principal)
        await self._writer.live_thread(thread_id)
        participants = await self._small_roster(thread_id, user, "Typing notifications")
        now = self._writer.now_ms()
        event = ChatEvent(
            None,
            thread_id,
            ChatEventName.TYPING_INDICATOR_RECEIVED,
            shapes.typing_event(thread_id, user, display_name, now),
            tuple(p.user_id for p in participants if p.user_id != user),
        )
        await self._writer.publish([event])

    async def send_read_receipt(
        self, principal: Principal, thread_id: str, message_id: str
    ) -> None:
        user = access.caller(principal)
        await self._writer.live_thread(thread_id)
        participants = await self._small_roster(thread_id, user, "Read receipts")
        me = find_participant(participants, user)
        message = await self._store.get_message(thread_id, message_id)
        if message is None or me is None or not me.can_see(message.created_ms):
            raise MessageNotFoundError(
                f"Message '{message_id}' was not found.", target="chatMessageId"
            )
        now = self._writer.now_ms()
        async with self._writer.transaction() as tx:
            await tx.set_read_receipt(thread_id, user, message_id, now)
            everyone = await tx.participants(thread_id)
            events = await self._writer.append(
                tx,
                thread_id,
                ChatEventName.READ_RECEIPT_RECEIVED,
                everyone,
                now,
                lambda: shapes.read_receipt_event(
                    thread_id, user, me.display_name, message_id, now
                ),
            )
        await self._writer.publish(events)

    async def list_read_receipts(
        self, principal: Principal, thread_id: str, skip: int, limit: int
    ) -> list[ReadReceipt]:
        user = access.caller(principal)
        await self._writer.live_thread(thread_id)
        access.require_active(await self._store.get_participant(thread_id, user), thread_id)
        return await self._store.list_read_receipts(thread_id, skip, limit)

    async def _small_roster(self, thread_id: str, user: str, feature: str) -> list[Participant]:
        participants = await self._store.list_participants(thread_id, 0, 10_000)
        access.require_active(find_participant(participants, user), thread_id)
        cap = self.limits.max_participants_for_receipts_and_typing
        if len(participants) > cap:
            raise BadRequestError(
                f"{feature} are turned off in threads with more than {cap} participants.",
                code="FeatureDisabledForLargeThread",
            )
        return participants
