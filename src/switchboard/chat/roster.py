"""ChatRosterService: who is in a thread (add, remove, list), typing and read receipts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from switchboard.chat import access
from switchboard.chat import event_schemas as shapes
from switchboard.chat.changes import ChatChanges
from switchboard.chat.domain_events import (
    ChatActor,
    ChatEvent,
    ChatParticipant,
    ParticipantsAdded,
    ParticipantsRemoved,
    ReadReceiptReceived,
    TypingIndicatorReceived,
)
from switchboard.chat.models import (
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
from switchboard.chat.store import ChatStore, live_thread
from switchboard.core.errors import BadRequestError, MessageNotFoundError
from switchboard.core.principal import Principal


class ChatRosterService:
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

    async def list_participants(
        self, principal: Principal, thread_id: str, skip: int, limit: int
    ) -> list[Participant]:
        user = access.caller(principal)
        await live_thread(self._store, thread_id)
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
        for participant in participants:
            self._rules.check_metadata(participant.metadata)
        valid, invalid = await validate_new_participants(self._identities, participants)
        async with self._changes.thread(thread_id) as change:
            before = change.roster
            access.require_active(find_participant(before, user), thread_id)
            active = {p.user_id for p in before if p.is_active}
            fresh = [p for p in valid if p.user_id not in active]
            self._rules.check_roster_size(len(active) + len(fresh))
            if not fresh:
                return invalid
            now = change.now_ms
            seq = await change.unit.allocate_seq()
            await change.unit.add_participants(fresh, now, seq)
            everyone = change.roster
            added = [p for p in everyone if p.added_seq == seq]
            await change.add_system_message(
                MessageType.PARTICIPANT_ADDED,
                user,
                participants=[shapes.participant_json(p) for p in added],
            )
            await change.emit(
                ParticipantsAdded(
                    thread_id,
                    ChatActor.among(user, everyone),
                    now,
                    tuple(ChatParticipant.of(p) for p in added),
                ),
                seq=seq,
            )
        return invalid

    async def remove_participant(self, principal: Principal, thread_id: str, raw_id: str) -> None:
        user = access.caller(principal)
        access.require_roster_change(principal)
        async with self._changes.thread(thread_id) as change:
            everyone = list(change.roster)
            access.require_active(find_participant(everyone, user), thread_id)
            target = find_participant(everyone, raw_id)
            if target is None or not target.is_active:
                return  # removing a non-participant changes nothing
            now = change.now_ms
            seq = await change.unit.allocate_seq()
            await change.unit.remove_participant(raw_id, now, seq)
            removed = replace(target, removed_ms=now, removed_seq=seq)
            await change.add_system_message(
                MessageType.PARTICIPANT_REMOVED,
                user,
                participants=[shapes.participant_json(removed)],
            )
            await change.emit(
                ParticipantsRemoved(
                    thread_id,
                    ChatActor.among(user, everyone),
                    now,
                    (ChatParticipant.of(removed),),
                ),
                seq=seq,
            )

    async def send_typing(
        self, principal: Principal, thread_id: str, display_name: str | None
    ) -> None:
        """Typing is ephemeral: delivered live to the others, never stored or replayed."""
        user = access.caller(principal)
        await live_thread(self._store, thread_id)
        participants = await self._small_roster(thread_id, user, "Typing notifications")
        now = self._changes.now_ms()
        event = ChatEvent.made(
            None,
            TypingIndicatorReceived(thread_id, user, display_name, now),
            tuple(p.user_id for p in participants if p.user_id != user),
        )
        await self._changes.publish_ephemeral(event)

    async def send_read_receipt(
        self, principal: Principal, thread_id: str, message_id: str
    ) -> None:
        user = access.caller(principal)
        await live_thread(self._store, thread_id)
        participants = await self._small_roster(thread_id, user, "Read receipts")
        me = find_participant(participants, user)
        message = await self._store.get_message(thread_id, message_id)
        if message is None or me is None or not me.can_see(message.created_ms):
            raise MessageNotFoundError(
                f"Message '{message_id}' was not found.", target="chatMessageId"
            )
        async with self._changes.thread(thread_id) as change:
            await change.unit.set_read_receipt(user, message_id, change.now_ms)
            await change.emit(
                ReadReceiptReceived(thread_id, user, me.display_name, message_id, change.now_ms)
            )

    async def list_read_receipts(
        self, principal: Principal, thread_id: str, skip: int, limit: int
    ) -> list[ReadReceipt]:
        user = access.caller(principal)
        await live_thread(self._store, thread_id)
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
