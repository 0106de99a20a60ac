"""CallAutomationService: the call connections this node controls, and what their apps hear.

    createCall ─▶ checks (callback URI guard, targets, caller id) ─▶ plane.create (a server
        call with the app's media endpoint in it) ─▶ plane.invite each target ─▶ 201
    plane events (one worker, in order) ─▶ state ─▶ callbacks (durable, ordered per call):
        first target answers ─▶ CallConnected · ParticipantsChanged ─▶ ParticipantsUpdated
        every createCall target failed ─▶ CreateCallFailed, the call ends
        invitation answered/failed/canceled ─▶ AddParticipant…/CancelAddParticipant…
        the call ended ─▶ CallDisconnected
    requests with an outcome of their own (remove, hang up) enqueue their callback under
    the same per-call lock, so each call's callbacks keep the order things happened in.

Call connections live on the node whose media server hosts the call (media cannot move);
ended ones are kept for a while so ``GET`` still answers ``disconnected``.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from switchboard.automation import callback_events as events
from switchboard.automation.media_ops import MediaOperations
from switchboard.automation.models import (
    CallConnection,
    CallConnectionEndedError,
    CallConnectionNotFoundError,
    CallConnectionState,
    CallParticipantNotFoundError,
    Invitation,
    Participant,
    SourceCallerIdError,
)
from switchboard.automation.ports import (
    CallbackData,
    CallbackSink,
    CallerIdDirectory,
    CallPlane,
    CallPlaneEnded,
    CallPlaneEvent,
    EndReason,
    InviteAccepted,
    InviteCanceled,
    InviteFailed,
    ParticipantRemoved,
    ParticipantsChanged,
    UrlGuard,
)
from switchboard.automation.store import CallConnectionStore, CallRecord
from switchboard.core.clock import Clock
from switchboard.core.errors import BadRequestError, NotSupportedError
from switchboard.core.identifiers import CommunicationIdentifier, IdentifierKind
from switchboard.core.tasks import TaskScope

log = logging.getLogger(__name__)

DEFAULT_INVITATION_TIMEOUT_SECONDS = 60.0
MAX_INVITATION_TIMEOUT_SECONDS = 180.0
MAX_TARGETS = 100
KEEP_ENDED = 1_000  # ended call connections still answered by GET
HUNG_UP = EndReason(200, 0, "The call was ended.")
CANCEL_TOO_LATE = EndReason(400, 8523, "The invitation is no longer pending.")
SERVER_PREFIX = "server:"
GROUP_PREFIX = "group:"
ROOM_PREFIX = "room:"


@dataclass(frozen=True, slots=True)
class AddedParticipant:
    participant: Participant
    invitation_id: str
    operation_context: str | None


@dataclass(frozen=True, slots=True)
class CallLocator:
    """``callLocator`` of connect (and later recordings): which running call."""

    kind: str  # groupCallLocator | serverCallLocator | roomCallLocator
    id: str

    def server_call_id(self) -> str:
        if self.kind == "groupCallLocator":
            return GROUP_PREFIX + self.id
        if self.kind == "roomCallLocator":
            return ROOM_PREFIX + self.id
        return self.id


class CallAutomationService:
    def __init__(
        self,
        plane: CallPlane,
        callbacks: CallbackSink,
        caller_ids: CallerIdDirectory,
        guard: UrlGuard,
        store: CallConnectionStore,
        clock: Clock,
        *,
        node_id: str,
        new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
    ) -> None:
        self.node_id = node_id
        self._store = store
        self._clock = clock
        self._plane = plane
        self._callbacks = callbacks
        self._caller_ids = caller_ids
        self._guard = guard
        self._new_id = new_id
        self._calls: dict[str, CallConnection] = {}
        self._ended: OrderedDict[str, CallConnection] = OrderedDict()
        self._by_server_call: dict[str, str] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._cancels: dict[str, str | None] = {}  # invitation id → cancel's operationContext
        self._inbox: asyncio.Queue[tuple[str, CallPlaneEvent]] = asyncio.Queue()
        self.media = MediaOperations(callbacks, guard, new_id=new_id)
        self._scope = TaskScope("call-automation")

    async def start(self) -> None:
        await self._scope.start()
        self._scope.spawn(self._work(), name="call-automation-events")

    async def stop(self) -> None:
        await self._scope.stop()

    # --- placing and attaching --------------------------------------------------------------

    async def create_call(
        self,
        targets: Sequence[CommunicationIdentifier],
        callback_uri: str,
        *,
        source: CommunicationIdentifier | None = None,
        source_caller_id: str | None = None,
        source_display_name: str | None = None,
        operation_context: str | None = None,
    ) -> CallConnection:
        await self._guard.check_callback_uri(callback_uri)
        if not targets:
            raise BadRequestError("At least one target is required.", target="targets")
        if len(targets) > MAX_TARGETS:
            raise BadRequestError(f"At most {MAX_TARGETS} targets.", target="targets")
        for target in targets:
            await self._check_target(target, source_caller_id)
        call = self._new_call(callback_uri, operation_context, SERVER_PREFIX + self._new_id())
        call.targets = tuple(targets)
        call.source = source
        call.source_caller_id = source_caller_id
        call.source_display_name = source_display_name
        async with self._lock(call.call_connection_id):
            await self._remember(call)
            media = await self._plane.create(call.server_call_id, self._listener(call))
            self.media.attach(call.call_connection_id, media)
            for target in targets:
                invitation = Invitation(
                    self._new_id(), target, operation_context, callback_uri, for_create=True
                )
                call.invitations[invitation.invitation_id] = invitation
                await self._invite(call, invitation, DEFAULT_INVITATION_TIMEOUT_SECONDS)
        return call

    async def connect(
        self, locator: CallLocator, callback_uri: str, *, operation_context: str | None = None
    ) -> CallConnection:
        await self._guard.check_callback_uri(callback_uri)
        if not locator.id:
            raise BadRequestError("The call locator needs an id.", target="callLocator")
        call = self._new_call(callback_uri, operation_context, locator.server_call_id())
        async with self._lock(call.call_connection_id):
            media = await self._plane.connect(call.server_call_id, self._listener(call))
            self.media.attach(call.call_connection_id, media)
            call.state = CallConnectionState.CONNECTED
            await self._remember(call)
            await self._emit(call, [events.call_connected(call)])
        return call

    # --- reading ----------------------------------------------------------------------------

    async def get(self, call_connection_id: str) -> CallConnection:
        call = self._calls.get(call_connection_id) or self._ended.get(call_connection_id)
        if call is not None:
            return call
        record = await self._store.get(call_connection_id)
        if record is None:
            raise _not_found(call_connection_id)
        return record.connection()

    async def owner_of(self, call_connection_id: str) -> str:
        """The node that runs the call (control requests go there)."""
        if call_connection_id in self._calls or call_connection_id in self._ended:
            return self.node_id
        record = await self._store.get(call_connection_id)
        if record is None:
            raise _not_found(call_connection_id)
        return record.owner_node

    async def participants(self, call_connection_id: str) -> list[Participant]:
        call = self.live(call_connection_id)
        return list(await self._plane.participants(call.server_call_id))

    async def participant(self, call_connection_id: str, raw_id: str) -> Participant:
        for participant in await self.participants(call_connection_id):
            if participant.identifier.raw_id == raw_id:
                return participant
        raise CallParticipantNotFoundError(f"Participant {raw_id} is not in the call.")

    # --- controlling ------------------------------------------------------------------------

    async def hang_up(self, call_connection_id: str) -> None:
        """The app leaves (DELETE); the call goes on for the others if they are two or more."""
        call = self.live(call_connection_id)
        async with self._lock(call_connection_id):
            if call.is_over:
                return
            await self._set_state(call, CallConnectionState.DISCONNECTED)
            await self._plane.leave(call.server_call_id)
            await self._emit(call, [events.call_disconnected(call, HUNG_UP)])
            self._forget(call)

    async def terminate(self, call_connection_id: str) -> None:
        """End the call for everyone; CallDisconnected follows when the call plane says so."""
        call = self.live(call_connection_id)
        async with self._lock(call_connection_id):
            if call.is_over:
                return
            await self._set_state(call, CallConnectionState.DISCONNECTING)
        await self._plane.terminate(call.server_call_id)

    async def add_participant(
        self,
        call_connection_id: str,
        target: CommunicationIdentifier,
        *,
        operation_context: str | None = None,
        operation_callback_uri: str | None = None,
        invitation_timeout_seconds: float | None = None,
        source_caller_id: str | None = None,
    ) -> AddedParticipant:
        call = self.live(call_connection_id)
        if operation_callback_uri is not None:
            await self._guard.check_callback_uri(operation_callback_uri)
        timeout = invitation_timeout(invitation_timeout_seconds)
        await self._check_target(target, source_caller_id or call.source_caller_id)
        invitation = Invitation(
            self._new_id(), target, operation_context, call.callback_for(operation_callback_uri)
        )
        async with self._lock(call_connection_id):
            call.invitations[invitation.invitation_id] = invitation
            await self._invite(call, invitation, timeout)
        return AddedParticipant(Participant(target), invitation.invitation_id, operation_context)

    async def cancel_add_participant(
        self,
        call_connection_id: str,
        invitation_id: str,
        *,
        operation_context: str | None = None,
        operation_callback_uri: str | None = None,
    ) -> None:
        call = self.live(call_connection_id)
        if operation_callback_uri is not None:
            await self._guard.check_callback_uri(operation_callback_uri)
        async with self._lock(call_connection_id):
            invitation = call.invitations.get(invitation_id)
            if invitation is None or invitation.for_create:
                failed = events.cancel_add_participant_failed(
                    call, invitation_id, operation_context, CANCEL_TOO_LATE
                )
                url = call.callback_for(operation_callback_uri)
                await self._callbacks.enqueue(call.call_connection_id, url, [failed])
                return
            self._cancels[invitation_id] = operation_context
            if operation_callback_uri is not None:
                invitation.callback_uri = operation_callback_uri
        await self._plane.cancel_invite(call.server_call_id, invitation_id)

    async def remove_participant(
        self,
        call_connection_id: str,
        raw_id: str,
        *,
        operation_context: str | None = None,
        operation_callback_uri: str | None = None,
    ) -> None:
        call = self.live(call_connection_id)
        if operation_callback_uri is not None:
            await self._guard.check_callback_uri(operation_callback_uri)
        participant = await self.participant(call_connection_id, raw_id)
        async with self._lock(call_connection_id):
            await self._plane.remove(call.server_call_id, raw_id)
            done = events.remove_participant_succeeded(call, participant, operation_context)
            url = call.callback_for(operation_callback_uri)
            await self._callbacks.enqueue(call.call_connection_id, url, [done])

    async def mute(self, call_connection_id: str, raw_ids: Sequence[str]) -> None:
        call = self.live(call_connection_id)
        if len(raw_ids) != 1:
            raise BadRequestError("Mute takes exactly one target participant.")
        await self.participant(call_connection_id, raw_ids[0])
        await self._plane.mute(call.server_call_id, raw_ids[0])

    # --- internals --------------------------------------------------------------------------

    async def _check_target(
        self, target: CommunicationIdentifier, source_caller_id: str | None
    ) -> None:
        if target.kind is IdentifierKind.COMMUNICATION_USER:
            return
        if target.kind is IdentifierKind.PHONE_NUMBER:
            if not source_caller_id:
                raise SourceCallerIdError(
                    "A call to a phone number needs sourceCallerIdNumber: a number you own."
                )
            if not await self._caller_ids.may_call_from(source_caller_id):
                raise SourceCallerIdError(
                    f"{source_caller_id} is not a purchased number with outbound calling."
                )
            raise NotSupportedError(
                "Calls to phone numbers need a voice carrier, which this server has not yet."
            )
        raise NotSupportedError(f"Targets of kind {target.kind.value} are not supported.")

    def _new_call(
        self, callback_uri: str, operation_context: str | None, server_call_id: str
    ) -> CallConnection:
        return CallConnection(
            call_connection_id=self._new_id(),
            server_call_id=server_call_id,
            correlation_id=self._new_id(),
            callback_uri=callback_uri,
            state=CallConnectionState.CONNECTING,
            operation_context=operation_context,
        )

    async def _remember(self, call: CallConnection) -> None:
        await self._store.add(CallRecord.of(call, self.node_id), self._now_ms())
        self._calls[call.call_connection_id] = call
        self._by_server_call[call.server_call_id] = call.call_connection_id

    def _forget(self, call: CallConnection) -> None:
        self._calls.pop(call.call_connection_id, None)
        if self._by_server_call.get(call.server_call_id) == call.call_connection_id:
            del self._by_server_call[call.server_call_id]
        self._locks.pop(call.call_connection_id, None)
        self.media.detach(call.call_connection_id)
        self._ended[call.call_connection_id] = call
        while len(self._ended) > KEEP_ENDED:
            self._ended.popitem(last=False)

    async def _set_state(self, call: CallConnection, state: CallConnectionState) -> None:
        call.state = state
        await self._store.set_state(call.call_connection_id, state, self._now_ms())

    def _now_ms(self) -> int:
        return int(self._clock.now() * 1000)

    def live(self, call_connection_id: str) -> CallConnection:
        """A call this node runs (the control layer sends the others to their owner)."""
        call = self._calls.get(call_connection_id) or self._ended.get(call_connection_id)
        if call is None:
            raise _not_found(call_connection_id)
        if call.is_over:
            raise CallConnectionEndedError(f"Call connection {call_connection_id} has ended.")
        return call

    def _lock(self, call_connection_id: str) -> asyncio.Lock:
        return self._locks.setdefault(call_connection_id, asyncio.Lock())

    def _listener(self, call: CallConnection) -> Callable[[CallPlaneEvent], None]:
        call_id = call.call_connection_id
        return lambda event: self._inbox.put_nowait((call_id, event))

    async def _invite(
        self, call: CallConnection, invitation: Invitation, ring_seconds: float
    ) -> None:
        await self._plane.invite(
            call.server_call_id,
            invitation.target,
            invitation_id=invitation.invitation_id,
            timeout_seconds=ring_seconds,
            caller=call.source,
            caller_display_name=call.source_display_name or "",
        )

    async def _emit(self, call: CallConnection, batch: list[CallbackData]) -> None:
        await self._callbacks.enqueue(call.call_connection_id, call.callback_uri, batch)

    async def _work(self) -> None:
        while True:
            call_id, event = await self._inbox.get()
            call = self._calls.get(call_id)
            if call is None:
                continue  # hung up already: the app has heard CallDisconnected
            try:
                async with self._lock(call_id):
                    await self._apply(call, event)
            except Exception:  # one call's trouble must not stop the others' events
                log.exception("call automation: event %r for %s failed", event, call_id)

    async def _apply(self, call: CallConnection, event: CallPlaneEvent) -> None:
        if isinstance(event, ParticipantsChanged):
            call.participants = event.participants
            call.participants_sequence += 1
            await self._emit(call, [events.participants_updated(call)])
        elif isinstance(event, InviteAccepted):
            await self._invite_accepted(call, event)
        elif isinstance(event, InviteFailed):
            await self._invite_failed(call, event)
        elif isinstance(event, InviteCanceled):
            invitation = call.invitations.pop(event.invitation_id, None)
            context = self._cancels.pop(event.invitation_id, None)
            if invitation is not None:
                done = events.cancel_add_participant_succeeded(call, event.invitation_id, context)
                await self._callbacks.enqueue(
                    call.call_connection_id, invitation.callback_uri, [done]
                )
        elif isinstance(event, ParticipantRemoved):
            pass  # ParticipantsChanged says it to the app
        elif isinstance(event, CallPlaneEnded):
            await self._ended_by_plane(call, event.reason)
        else:
            await self.media.on_event(call, event)

    async def _invite_accepted(self, call: CallConnection, event: InviteAccepted) -> None:
        invitation = call.invitations.pop(event.invitation_id, None)
        if invitation is None:
            return
        if invitation.for_create:
            if call.state is CallConnectionState.CONNECTING:
                await self._set_state(call, CallConnectionState.CONNECTED)
                await self._emit(call, [events.call_connected(call)])
            return
        done = events.add_participant_succeeded(
            call, event.participant, invitation.operation_context
        )
        await self._callbacks.enqueue(call.call_connection_id, invitation.callback_uri, [done])

    async def _invite_failed(self, call: CallConnection, event: InviteFailed) -> None:
        invitation = call.invitations.pop(event.invitation_id, None)
        if invitation is None:
            return
        if not invitation.for_create:
            failed = events.add_participant_failed(
                call, Participant(invitation.target), invitation.operation_context, event.reason
            )
            url = invitation.callback_uri
            await self._callbacks.enqueue(call.call_connection_id, url, [failed])
            return
        still_ringing = any(i.for_create for i in call.invitations.values())
        if call.state is CallConnectionState.CONNECTING and not still_ringing:
            await self._set_state(call, CallConnectionState.DISCONNECTED)
            await self._emit(call, [events.create_call_failed(call, event.reason)])
            await self._plane.terminate(call.server_call_id)
            self._forget(call)

    async def _ended_by_plane(self, call: CallConnection, reason: EndReason) -> None:
        if call.state is CallConnectionState.DISCONNECTED:
            return
        await self._set_state(call, CallConnectionState.DISCONNECTED)
        await self._emit(call, [events.call_disconnected(call, reason)])
        self._forget(call)


def _not_found(call_connection_id: str) -> CallConnectionNotFoundError:
    return CallConnectionNotFoundError(f"Call connection {call_connection_id} not found.")


def invitation_timeout(seconds: float | None) -> float:
    if seconds is None or seconds == 0:
        return DEFAULT_INVITATION_TIMEOUT_SECONDS
    if not 0 < seconds <= MAX_INVITATION_TIMEOUT_SECONDS:
        raise BadRequestError(
            f"invitationTimeoutInSeconds must be between 0 and {MAX_INVITATION_TIMEOUT_SECONDS:g}.",
            target="invitationTimeoutInSeconds",
        )
    return seconds
