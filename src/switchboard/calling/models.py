"""Calling domain model: calls with participants, their states, and ACS-style end reasons.

A call is a first-class object with a list of participants (not a pair), so a group call
through the media server is "a call whose media peer is the media node", not a rewrite.
States and end reasons use ACS's vocabulary (``@azure/communication-calling``) so an app
written against ACS reads them unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from switchboard.calling.signaling.frames import ServerFrame
from switchboard.calling.signaling.protocol import (
    CommunicationUser,
    EndReasonInfo,
    ParticipantInfo,
    PhoneNumber,
    WireIdentifier,
)
from switchboard.core.identifiers import IdentifierKind, identifier_from_raw_id


class CallState(StrEnum):
    """A call as one device sees it (ACS ``CallState``)."""

    CONNECTING = "Connecting"
    RINGING = "Ringing"
    IN_LOBBY = "InLobby"  # a Room call: waiting for a Presenter to admit this device
    CONNECTED = "Connected"
    LOCAL_HOLD = "LocalHold"
    DISCONNECTING = "Disconnecting"
    DISCONNECTED = "Disconnected"


class CallPhase(StrEnum):
    """The call on its owning node: looking for the callee's devices, ringing, up, over."""

    CONNECTING = "Connecting"
    RINGING = "Ringing"
    CONNECTED = "Connected"
    ENDED = "Disconnected"


class ParticipantState(StrEnum):
    """A participant as the others see it (ACS ``RemoteParticipantState``)."""

    IDLE = "Idle"
    CONNECTING = "Connecting"
    RINGING = "Ringing"
    CONNECTED = "Connected"
    HOLD = "Hold"
    DISCONNECTED = "Disconnected"


class ParticipantRole(StrEnum):
    CALLER = "caller"
    CALLEE = "callee"


@dataclass(frozen=True, slots=True)
class EndReason:
    """Why a call ended for a device: ACS's code/subcode pairs (docs/calling-protocol.md)."""

    code: int
    sub_code: int
    phrase: str

    def json(self) -> dict[str, object]:
        return {"code": self.code, "subCode": self.sub_code, "phrase": self.phrase}

    def info(self) -> EndReasonInfo:
        return EndReasonInfo(self.code, self.sub_code, self.phrase)

    @classmethod
    def from_info(cls, info: EndReasonInfo) -> EndReason:
        return cls(info.code, info.sub_code, info.phrase)


# The codes and subcodes ACS documents for the same situations ("Troubleshooting call end
# response codes"), so an app's existing handling of callEndReason keeps working.
HUNG_UP = EndReason(0, 0, "Call ended successfully by local participant.")
REMOTE_HUNG_UP = EndReason(0, 0, "Call ended by the remote participant.")
CANCELLED = EndReason(487, 0, "Call ended successfully as caller canceled the call.")
DECLINED = EndReason(603, 0, "Call ended successfully as it was declined from callee.")
BUSY = EndReason(486, 0, "Call ended because the callee was busy.")
ACCEPTED_ELSEWHERE = EndReason(
    487, 10003, "Call was canceled for this user endpoint as it was accepted elsewhere."
)
NOT_ANSWERED = EndReason(
    487, 10004, "Call was canceled on timeout, as target user didn't accept or reject it on time."
)
NO_ENDPOINTS = EndReason(
    480, 10037, "Target user didn't have any endpoints registered with the server."
)
ENDPOINT_UNREACHABLE = EndReason(
    480, 10078, "Remote client endpoint not registered or not reachable."
)
NETWORK_LOST = EndReason(
    496, 7, "Call ended as client lost network connection and could not reconnect in time."
)
PEER_DISCONNECTED = EndReason(
    0, 4521, "Call ended because a participant disconnected from the call abruptly."
)
UNAUTHENTICATED = EndReason(401, 10009, "Unauthenticated identity (token revoked or expired).")


@dataclass(frozen=True, slots=True)
class DeviceAddress:
    """Where a device's socket lives: the node that holds it and the device's id."""

    node: str
    device_id: str


@dataclass(frozen=True, slots=True)
class MediaDirection:
    """What a device sends: audio and/or video (as chosen at start/accept)."""

    audio: bool = True
    video: bool = False


@dataclass(slots=True)
class Participant:
    id: str  # participantId, unique in the call
    user_id: str  # ACS raw id
    role: ParticipantRole
    state: ParticipantState = ParticipantState.IDLE
    device: DeviceAddress | None = None  # the device in the call (once connected)
    ringing: dict[str, DeviceAddress] = field(default_factory=dict)  # device id → address
    busy_devices: set[str] = field(default_factory=set)
    media: MediaDirection = MediaDirection()
    muted: bool = False
    video_on: bool = False
    screen_share_on: bool = False
    joined_at: float | None = None
    display_name: str = ""  # as the device gave it (startCall/accept); "" when none

    def info(self) -> ParticipantInfo:
        return participant_info(
            self.id,
            self.user_id,
            self.display_name,
            self.role.value,
            self.state.value,
            muted=self.muted,
            video_on=self.video_on,
            screen_share_on=self.screen_share_on,
        )


def participant_info(
    participant_id: str,
    user_id: str,
    display_name: str,
    role: str,
    state: str,
    *,
    muted: bool,
    video_on: bool,
    screen_share_on: bool = False,
) -> ParticipantInfo:
    return ParticipantInfo(
        participant_id,
        wire_identifier(user_id),
        display_name,
        role,
        state,
        muted,
        video_on,
        screen_share_on,
    )


def wire_identifier(raw_id: str) -> WireIdentifier:
    """A participant's identifier as frames carry it: a user, or (a server call's phone leg,
    its caller) a phone number, or only the raw id (an app)."""
    identifier = identifier_from_raw_id(raw_id)
    if identifier.kind is IdentifierKind.COMMUNICATION_USER:
        return WireIdentifier(raw_id, CommunicationUser(raw_id))
    if identifier.kind is IdentifierKind.PHONE_NUMBER:
        return WireIdentifier(raw_id, phone_number=PhoneNumber(identifier.value))
    return WireIdentifier(raw_id)


@dataclass(frozen=True, slots=True)
class Deliver:
    """A frame for one device (an output of the sans-I/O call machines)."""

    to: DeviceAddress
    frame: ServerFrame
