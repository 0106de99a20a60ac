"""InvitationOutcomes: what an answered, failed or canceled invitation means for the app.

createCall target answers first ─▶ CallConnected (later ones: ParticipantsUpdated only)
every createCall target failed   ─▶ CreateCallFailed, the call ends
addParticipant answered / failed ─▶ AddParticipantSucceeded / AddParticipantFailed
transfer target answers ─▶ CallTransferAccepted, then the app leaves (CallDisconnected)
transfer target fails   ─▶ CallTransferFailed, the call goes on as before
cancelAddParticipant took effect ─▶ CancelAddParticipantSucceeded
a moved participant is in / is not ─▶ MoveParticipantSucceeded / MoveParticipantFailed
"""

from __future__ import annotations

from collections.abc import Callable

from switchboard.automation import callback_events as events
from switchboard.automation.models import (
    CallConnection,
    CallConnectionState,
    InvitationKind,
    Participant,
)
from switchboard.automation.move_ops import move_participant_failed, move_participant_succeeded
from switchboard.automation.ports import (
    CallbackData,
    CallbackSink,
    CallPlane,
    EndReason,
    InviteAccepted,
    InviteCanceled,
    InviteFailed,
)
from switchboard.automation.registry import CallRegistry

TRANSFERRED = EndReason(200, 7015, "The call was transferred.")


class InvitationOutcomes:
    def __init__(
        self,
        registry: CallRegistry,
        callbacks: CallbackSink,
        plane: CallPlane,
        forget: Callable[[CallConnection], None],
    ) -> None:
        self._registry = registry
        self._callbacks = callbacks
        self._plane = plane
        self._forget = forget
        self.cancel_contexts: dict[str, str | None] = {}  # invitation id → cancel's context

    async def accepted(self, call: CallConnection, event: InviteAccepted) -> None:
        invitation = call.invitations.pop(event.invitation_id, None)
        if invitation is None:
            return
        url = invitation.callback_uri
        if invitation.kind is InvitationKind.CREATE:
            if call.state is CallConnectionState.CONNECTING:
                await self._registry.set_state(call, CallConnectionState.CONNECTED)
                await self._send(call, call.callback_uri, events.call_connected(call))
        elif invitation.kind is InvitationKind.ADD:
            context = invitation.operation_context
            await self._send(
                call, url, events.add_participant_succeeded(call, event.participant, context)
            )
        elif invitation.kind is InvitationKind.MOVE:
            identifier = event.participant.identifier
            await self._send(call, url, move_participant_succeeded(call, identifier, invitation))
        else:  # the transfer target took the call: the app's part is over
            await self._registry.set_state(call, CallConnectionState.TRANSFER_ACCEPTED)
            await self._send(
                call,
                url,
                events.transfer_accepted(
                    call, event.participant, invitation.transferee, invitation.operation_context
                ),
            )
            await self._plane.leave(call.server_call_id)
            await self._registry.set_state(call, CallConnectionState.DISCONNECTED)
            await self._send(call, call.callback_uri, events.call_disconnected(call, TRANSFERRED))
            self._forget(call)

    async def failed(self, call: CallConnection, event: InviteFailed) -> None:
        invitation = call.invitations.pop(event.invitation_id, None)
        if invitation is None:
            return
        context, url = invitation.operation_context, invitation.callback_uri
        target = Participant(invitation.target)
        if invitation.kind is InvitationKind.ADD:
            await self._send(
                call, url, events.add_participant_failed(call, target, context, event.reason)
            )
        elif invitation.kind is InvitationKind.MOVE:
            await self._send(call, url, move_participant_failed(call, invitation, event.reason))
        elif invitation.kind is InvitationKind.TRANSFER:
            await self._registry.set_state(call, CallConnectionState.CONNECTED)
            await self._send(call, url, events.transfer_failed(call, context, event.reason))
        else:
            ringing = any(i.kind is InvitationKind.CREATE for i in call.invitations.values())
            if call.state is CallConnectionState.CONNECTING and not ringing:
                await self._registry.set_state(call, CallConnectionState.DISCONNECTED)
                await self._send(
                    call, call.callback_uri, events.create_call_failed(call, event.reason)
                )
                await self._plane.terminate(call.server_call_id)
                self._forget(call)

    async def canceled(self, call: CallConnection, event: InviteCanceled) -> None:
        invitation = call.invitations.pop(event.invitation_id, None)
        context = self.cancel_contexts.pop(event.invitation_id, None)
        if invitation is not None:
            done = events.cancel_add_participant_succeeded(call, event.invitation_id, context)
            await self._send(call, invitation.callback_uri, done)

    async def _send(self, call: CallConnection, url: str, event: CallbackData) -> None:
        await self._callbacks.enqueue(call.call_connection_id, url, [event])
