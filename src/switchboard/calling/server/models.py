"""What a server call tells its app: participants and events, in ACS's terms.

The app (Call Automation) hears, in order, through the listener it gave ``create``/``connect``:

    ParticipantsChanged (the whole list, after every join, leave or mute)
    InviteAccepted / InviteFailed / InviteCanceled (one per invitation)
    ParticipantRemoved (a member the app removed)
    ServerCallEnded (last: nothing follows)

The end reasons are ACS's code/subcode pairs (docs/calling-protocol.md "Server calls").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from switchboard.calling.models import EndReason
from switchboard.core.identifiers import CommunicationIdentifier


@dataclass(frozen=True, slots=True)
class ServerCallParticipant:
    """A member of a server call as the app sees it (the app itself is never listed)."""

    identifier: CommunicationIdentifier
    participant_id: str
    display_name: str
    is_muted: bool
    is_on_hold: bool


@dataclass(frozen=True, slots=True)
class ParticipantsChanged:
    participants: tuple[ServerCallParticipant, ...]


@dataclass(frozen=True, slots=True)
class InviteAccepted:
    invitation_id: str
    participant: ServerCallParticipant


@dataclass(frozen=True, slots=True)
class InviteFailed:
    invitation_id: str
    reason: EndReason


@dataclass(frozen=True, slots=True)
class InviteCanceled:
    invitation_id: str


@dataclass(frozen=True, slots=True)
class ParticipantRemoved:
    participant: ServerCallParticipant


@dataclass(frozen=True, slots=True)
class ServerCallEnded:
    reason: EndReason


ServerCallEvent = (
    ParticipantsChanged
    | InviteAccepted
    | InviteFailed
    | InviteCanceled
    | ParticipantRemoved
    | ServerCallEnded
)
ServerCallListener = Callable[[ServerCallEvent], None]

# What the devices (and the app) are told. A removed device gets ACS's "removed from the
# conversation by another participant"; terminate is a normal end for everyone.
REMOVED_BY_APP = EndReason(
    0, 5300, "Call ended for this participant as it was removed from the conversation."
)
TERMINATED = EndReason(0, 0, "Call ended by the remote participant.")
APP_LEFT = EndReason(0, 0, "Call ended successfully by local participant.")
CALL_OVER = EndReason(487, 0, "Call ended successfully as caller canceled the call.")
