"""ParticipantMoves: moveParticipants (``participants:moveHere``) on the target call's node.

moveHere {targetParticipants, fromCall: a call connection id} on call B
    ─▶ checks: B is live; fromCall is a live call connection this node runs (another
       node's: 400 MoveAcrossNodesNotSupported; unknown: 404; ended: 400 CallNotActive);
       every target is in it (404 otherwise) ─▶ per target a MOVE invitation on B
    ─▶ plane.move(B, A, target) (calling/server/moves.py: a phone's media moves to a
       new leg in B at once; a device is told callMoved and rejoins B with a new offer)
    ─▶ 202 {participants: B's now, operationContext, fromCall}
InviteAccepted of the invitation ─▶ MoveParticipantSucceeded (B's callback)
InviteFailed (the device did not rejoin) ─▶ MoveParticipantFailed
A hears ParticipantsUpdated (and ends by its usual rules when nobody is left)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from switchboard.automation import callback_events as events
from switchboard.automation.models import (
    CallConnection,
    CallParticipantNotFoundError,
    Invitation,
    InvitationKind,
    Participant,
)
from switchboard.automation.ports import CallbackData, CallPlane, EndReason, UrlGuard
from switchboard.automation.registry import CallRegistry
from switchboard.core.errors import BadRequestError
from switchboard.core.identifiers import CommunicationIdentifier

MAX_MOVED = 100


class MoveAcrossNodesError(BadRequestError):
    """The source call runs on another node: its media cannot reach this one's SFU."""

    code = "MoveAcrossNodesNotSupported"


def move_participant_succeeded(
    call: CallConnection, participant: CommunicationIdentifier, invitation: Invitation
) -> CallbackData:
    return events.event(
        "MoveParticipantSucceeded",
        call,
        operation_context=invitation.operation_context,
        result=events.OK,
        participant=participant,
        fromCall=invitation.from_call,
    )


def move_participant_failed(
    call: CallConnection, invitation: Invitation, reason: EndReason
) -> CallbackData:
    return events.event(
        "MoveParticipantFailed",
        call,
        operation_context=invitation.operation_context,
        result=reason,
        participant=invitation.target,
        fromCall=invitation.from_call,
    )


class ParticipantMoves:
    def __init__(
        self,
        registry: CallRegistry,
        plane: CallPlane,
        guard: UrlGuard,
        new_id: Callable[[], str],
    ) -> None:
        self._registry = registry
        self._plane = plane
        self._guard = guard
        self._new_id = new_id

    async def move(
        self,
        call_connection_id: str,
        targets: Sequence[CommunicationIdentifier],
        from_call: str,
        *,
        operation_context: str | None = None,
        operation_callback_uri: str | None = None,
    ) -> list[Participant]:
        """Start moving ``targets`` from ``from_call`` here; this call's participants now."""
        call = self._registry.live(call_connection_id)
        targets = list({t.raw_id: t for t in targets}.values())  # each one moves once
        if operation_callback_uri is not None:
            await self._guard.check_callback_uri(operation_callback_uri)
        if not 1 <= len(targets) <= MAX_MOVED:
            raise BadRequestError(
                f"targetParticipants takes 1 to {MAX_MOVED} participants.",
                target="targetParticipants",
            )
        if from_call == call_connection_id:
            raise BadRequestError("fromCall is this call.", target="fromCall")
        source = await self._source(from_call)
        present = {
            p.identifier.raw_id for p in await self._plane.participants(source.server_call_id)
        }
        for target in targets:
            if target.raw_id not in present:
                raise CallParticipantNotFoundError(
                    f"Participant {target.raw_id} is not in the call {from_call}.",
                    target="targetParticipants",
                )
        url = call.callback_for(operation_callback_uri)
        async with self._registry.lock(call_connection_id):
            for target in targets:
                invitation = Invitation(
                    self._new_id(),
                    target,
                    operation_context,
                    url,
                    kind=InvitationKind.MOVE,
                    from_call=from_call,
                )
                call.invitations[invitation.invitation_id] = invitation
                try:
                    await self._plane.move(
                        call.server_call_id,
                        source.server_call_id,
                        target.raw_id,
                        invitation_id=invitation.invitation_id,
                    )
                except BaseException:
                    call.invitations.pop(invitation.invitation_id, None)
                    raise
        return list(await self._plane.participants(call.server_call_id))

    async def _source(self, from_call: str) -> CallConnection:
        if not from_call:
            raise BadRequestError("fromCall names the call to move from.", target="fromCall")
        owner = await self._registry.owner_of(from_call)  # unknown: 404 NotFound
        if owner != self._registry.node_id:
            raise MoveAcrossNodesError(
                f"The call {from_call} runs on another node; moving participants between "
                "nodes is not supported.",
                target="fromCall",
            )
        return self._registry.live(from_call)  # ended: 400 CallNotActive
