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
from collections.abc import Callable, Sequence

from switchboard.automation import callback_events as events
from switchboard.automation.invitations import InvitationOutcomes
from switchboard.automation.media_ops import MediaOperations
from switchboard.automation.models import (
    DEFAULT_INVITATION_TIMEOUT_SECONDS,
    AddedParticipant,
    CallConnection,
    CallConnectionState,
    CallLocator,
    CallNotConnectedError,
    CallParticipantNotFoundError,
    IncomingClaims,
    Invitation,
    InvitationKind,
    Participant,
    invitation_timeout,
)
from switchboard.automation.move_ops import ParticipantMoves
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
from switchboard.automation.registry import CallRegistry
from switchboard.automation.store import CallConnectionStore
from switchboard.automation.streaming.models import StreamingOptions, TranscriptionOptions
from switchboard.automation.streaming.sessions import MediaStreams, StreamingEngines
from switchboard.automation.targets import TargetRules
from switchboard.core.clock import Clock
from switchboard.core.errors import BadRequestError
from switchboard.core.identifiers import CommunicationIdentifier
from switchboard.core.tasks import TaskScope
from switchboard.media.endpoint.models import PlaySource

log = logging.getLogger(__name__)

MAX_TARGETS = 100
HUNG_UP = EndReason(200, 0, "The call was ended.")
CANCEL_TOO_LATE = EndReason(400, 8523, "The invitation is no longer pending.")
SERVER_PREFIX = "server:"


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
        dials_phones: bool = False,
        streaming: StreamingEngines | None = None,
    ) -> None:
        self.node_id = node_id
        self._registry = CallRegistry(store, clock, node_id)
        self._plane = plane
        self._callbacks = callbacks
        self._caller_ids = caller_ids
        self._guard = guard
        self._new_id = new_id
        self._inbox: asyncio.Queue[tuple[str, CallPlaneEvent]] = asyncio.Queue()
        self.media = MediaOperations(callbacks, guard, new_id=new_id)
        self.streams = MediaStreams(callbacks, guard, streaming, new_id=new_id)
        self._targets = TargetRules(caller_ids, dials_phones=dials_phones)
        self._invitations = InvitationOutcomes(self._registry, callbacks, plane, self._forget)
        self.moves = ParticipantMoves(self._registry, plane, guard, new_id)
        self._scope = TaskScope("call-automation")

    async def start(self) -> None:
        await self._scope.start()
        self._scope.spawn(self._work(), name="call-automation-events")
        await self.streams.start()

    async def stop(self) -> None:
        await self.streams.stop()
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
        media_streaming: StreamingOptions | None = None,
        transcription: TranscriptionOptions | None = None,
    ) -> CallConnection:
        await self._guard.check_callback_uri(callback_uri)
        await self.streams.check_options(media_streaming, transcription)
        if not targets:
            raise BadRequestError("At least one target is required.", target="targets")
        if len(targets) > MAX_TARGETS:
            raise BadRequestError(f"At most {MAX_TARGETS} targets.", target="targets")
        for target in targets:
            await self._targets.check(target, source_caller_id)
        call = self._new_call(callback_uri, operation_context, SERVER_PREFIX + self._new_id())
        call.targets = tuple(targets)
        call.source = source
        call.source_caller_id = source_caller_id
        call.source_display_name = source_display_name
        async with self._registry.lock(call.call_connection_id):
            await self._registry.add(call)
            media = await self._plane.create(call.server_call_id, self._listener(call))
            self.media.attach(call.call_connection_id, media)
            self.streams.attach(call, media, media_streaming, transcription)
            for target in targets:
                invitation = Invitation(
                    self._new_id(),
                    target,
                    operation_context,
                    callback_uri,
                    kind=InvitationKind.CREATE,
                )
                call.invitations[invitation.invitation_id] = invitation
                await self._invite(
                    call, invitation, DEFAULT_INVITATION_TIMEOUT_SECONDS, source_caller_id
                )
        return call

    async def connect(
        self,
        locator: CallLocator,
        callback_uri: str,
        *,
        operation_context: str | None = None,
        media_streaming: StreamingOptions | None = None,
        transcription: TranscriptionOptions | None = None,
    ) -> CallConnection:
        await self._guard.check_callback_uri(callback_uri)
        await self.streams.check_options(media_streaming, transcription)
        if not locator.id:
            raise BadRequestError("The call locator needs an id.", target="callLocator")
        call = self._new_call(callback_uri, operation_context, locator.server_call_id())
        async with self._registry.lock(call.call_connection_id):
            media = await self._plane.connect(call.server_call_id, self._listener(call))
            self.media.attach(call.call_connection_id, media)
            self.streams.attach(call, media, media_streaming, transcription)
            call.state = CallConnectionState.CONNECTED
            await self._registry.add(call)
            await self._emit(call, [events.call_connected(call)])
            self.streams.connected(call)
        return call

    async def answer(
        self,
        claims: IncomingClaims,
        callback_uri: str,
        *,
        operation_context: str | None = None,
        media_streaming: StreamingOptions | None = None,
        transcription: TranscriptionOptions | None = None,
    ) -> CallConnection:
        """Answer a ringing incoming call on the node that holds it (AutomationControl)."""
        await self._guard.check_callback_uri(callback_uri)
        await self.streams.check_options(media_streaming, transcription)
        call = self._new_call(callback_uri, operation_context, claims.server_call_id)
        call.correlation_id = claims.correlation_id
        call.targets = (claims.caller,)
        call.answered_by = claims.to
        async with self._registry.lock(call.call_connection_id):
            # Registered first: the plane's events (the caller joining) find the call.
            await self._registry.add(call)
            try:
                media = await self._plane.answer(claims.pending_id, self._listener(call))
            except BaseException:
                await self._registry.set_state(call, CallConnectionState.DISCONNECTED)
                self._forget(call)
                raise
            self.media.attach(call.call_connection_id, media)
            self.streams.attach(call, media, media_streaming, transcription)
            await self._registry.set_state(call, CallConnectionState.CONNECTED)
            await self._emit(call, [events.call_connected(call)])
            self.streams.connected(call)
        return call

    # --- reading ----------------------------------------------------------------------------

    async def get(self, call_connection_id: str) -> CallConnection:
        return await self._registry.get(call_connection_id)

    async def owner_of(self, call_connection_id: str) -> str:
        return await self._registry.owner_of(call_connection_id)

    def live(self, call_connection_id: str) -> CallConnection:
        return self._registry.live(call_connection_id)

    async def _live_operation(
        self, call_connection_id: str, operation_callback_uri: str | None
    ) -> CallConnection:
        """The running call an operation is for, and its operationCallbackUri checked."""
        call = self.live(call_connection_id)
        if operation_callback_uri is not None:
            await self._guard.check_callback_uri(operation_callback_uri)
        return call

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
        async with self._registry.lock(call_connection_id):
            if call.is_over:
                return
            await self._registry.set_state(call, CallConnectionState.DISCONNECTED)
            await self._plane.leave(call.server_call_id)
            self.streams.detach(call.call_connection_id)  # nothing streams after the end
            await self._emit(call, [events.call_disconnected(call, HUNG_UP)])
            self._forget(call)

    async def terminate(self, call_connection_id: str) -> None:
        """End the call for everyone; CallDisconnected follows when the call plane says so."""
        call = self.live(call_connection_id)
        async with self._registry.lock(call_connection_id):
            if call.is_over:
                return
            await self._registry.set_state(call, CallConnectionState.DISCONNECTING)
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
        call = await self._live_operation(call_connection_id, operation_callback_uri)
        timeout = invitation_timeout(invitation_timeout_seconds)
        await self._targets.check(target, source_caller_id or call.source_caller_id)
        invitation = Invitation(
            self._new_id(), target, operation_context, call.callback_for(operation_callback_uri)
        )
        async with self._registry.lock(call_connection_id):
            call.invitations[invitation.invitation_id] = invitation
            await self._invite(call, invitation, timeout, source_caller_id or call.source_caller_id)
        return AddedParticipant(Participant(target), invitation.invitation_id, operation_context)

    async def cancel_add_participant(
        self,
        call_connection_id: str,
        invitation_id: str,
        *,
        operation_context: str | None = None,
        operation_callback_uri: str | None = None,
    ) -> None:
        call = await self._live_operation(call_connection_id, operation_callback_uri)
        async with self._registry.lock(call_connection_id):
            invitation = call.invitations.get(invitation_id)
            if invitation is None or invitation.kind is not InvitationKind.ADD:
                failed = events.cancel_add_participant_failed(
                    call, invitation_id, operation_context, CANCEL_TOO_LATE
                )
                url = call.callback_for(operation_callback_uri)
                await self._callbacks.enqueue(call.call_connection_id, url, [failed])
                return
            self._invitations.cancel_contexts[invitation_id] = operation_context
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
        call = await self._live_operation(call_connection_id, operation_callback_uri)
        participant = await self.participant(call_connection_id, raw_id)
        async with self._registry.lock(call_connection_id):
            await self._plane.remove(call.server_call_id, raw_id)
            done = events.remove_participant_succeeded(call, participant, operation_context)
            url = call.callback_for(operation_callback_uri)
            await self._callbacks.enqueue(call.call_connection_id, url, [done])

    async def transfer(
        self,
        call_connection_id: str,
        target: CommunicationIdentifier,
        *,
        transferee: CommunicationIdentifier | None = None,
        operation_context: str | None = None,
        operation_callback_uri: str | None = None,
        source_caller_id: str | None = None,
    ) -> None:
        """Ring ``target`` into the call; when it answers, the app leaves (CallTransferAccepted,
        then CallDisconnected); if it does not, CallTransferFailed and the call goes on."""
        call = await self._live_operation(call_connection_id, operation_callback_uri)
        await self._targets.check(target, source_caller_id or call.source_caller_id)
        invitation = Invitation(
            self._new_id(),
            target,
            operation_context,
            call.callback_for(operation_callback_uri),
            kind=InvitationKind.TRANSFER,
            transferee=transferee,
        )
        async with self._registry.lock(call_connection_id):
            if call.state is not CallConnectionState.CONNECTED:
                raise CallNotConnectedError(
                    f"Only a connected call can be transferred (this one is {call.state.value})."
                )
            call.invitations[invitation.invitation_id] = invitation
            await self._registry.set_state(call, CallConnectionState.TRANSFERRING)
            await self._invite(
                call,
                invitation,
                DEFAULT_INVITATION_TIMEOUT_SECONDS,
                source_caller_id or call.source_caller_id,
            )

    async def mute(self, call_connection_id: str, raw_ids: Sequence[str]) -> None:
        call = self.live(call_connection_id)
        if len(raw_ids) != 1:
            raise BadRequestError("Mute takes exactly one target participant.")
        await self.participant(call_connection_id, raw_ids[0])
        await self._plane.mute(call.server_call_id, raw_ids[0])

    async def hold(
        self, call_connection_id: str, target: str, music: PlaySource | None, held: bool
    ) -> None:
        """Hold: the target hears the hold audio only and nobody hears it; unhold: back."""
        call = self.live(call_connection_id)
        await self.participant(call_connection_id, target)
        if held:
            await self.media.hold(call, target, music)
            await self._plane.hold(call.server_call_id, target, True)
        else:
            await self._plane.hold(call.server_call_id, target, False)
            self.media.unhold(call, target)

    # --- internals --------------------------------------------------------------------------

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

    def _forget(self, call: CallConnection) -> None:
        self._registry.ended(call)
        self.media.detach(call.call_connection_id)
        self.streams.detach(call.call_connection_id)

    def _listener(self, call: CallConnection) -> Callable[[CallPlaneEvent], None]:
        call_id = call.call_connection_id
        return lambda event: self._inbox.put_nowait((call_id, event))

    async def _invite(
        self,
        call: CallConnection,
        invitation: Invitation,
        ring_seconds: float,
        caller_id_number: str | None,
    ) -> None:
        await self._plane.invite(
            call.server_call_id,
            invitation.target,
            invitation_id=invitation.invitation_id,
            timeout_seconds=ring_seconds,
            caller=call.source,
            caller_display_name=call.source_display_name or "",
            caller_id_number=caller_id_number,
        )

    async def _emit(self, call: CallConnection, batch: list[CallbackData]) -> None:
        await self._callbacks.enqueue(call.call_connection_id, call.callback_uri, batch)

    async def _work(self) -> None:
        while True:
            call_id, event = await self._inbox.get()
            call = self._registry.running(call_id)
            if call is None:
                continue  # hung up already: the app has heard CallDisconnected
            try:
                async with self._registry.lock(call_id):
                    await self._apply(call, event)
            except Exception:  # one call's trouble must not stop the others' events
                log.exception("call automation: event %r for %s failed", event, call_id)

    async def _apply(self, call: CallConnection, event: CallPlaneEvent) -> None:
        if isinstance(event, ParticipantsChanged):
            if event.participants == call.participants:
                return  # nothing the app can see changed (e.g. a member's media state)
            call.participants = event.participants
            call.participants_sequence += 1
            await self._emit(call, [events.participants_updated(call)])
        elif isinstance(event, InviteAccepted):
            await self._invitations.accepted(call, event)
            if call.state is CallConnectionState.CONNECTED:
                self.streams.connected(call)  # startMediaStreaming / startTranscription: true
        elif isinstance(event, InviteFailed):
            await self._invitations.failed(call, event)
        elif isinstance(event, InviteCanceled):
            await self._invitations.canceled(call, event)
        elif isinstance(event, ParticipantRemoved):
            pass  # ParticipantsChanged says it to the app
        elif isinstance(event, CallPlaneEnded):
            await self._ended_by_plane(call, event.reason)
        else:
            await self.media.on_event(call, event)

    async def _ended_by_plane(self, call: CallConnection, reason: EndReason) -> None:
        if call.state is CallConnectionState.DISCONNECTED:
            return
        await self._registry.set_state(call, CallConnectionState.DISCONNECTED)
        # Streams first: no streaming callback may follow CallDisconnected (an app often
        # closes its media socket as it hangs up).
        self.streams.detach(call.call_connection_id)
        await self._emit(call, [events.call_disconnected(call, reason)])
        self._forget(call)
