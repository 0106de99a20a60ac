"""Calling domain model: calls with participants, their states, and ACS-style end reasons.

A call is a first-class object with a list of participants (not a pair), so a group call
through the media server is "a call whose media peer is the media node", not a rewrite.
States and end reasons use ACS's vocabulary (``@azure/communication-calling``) so an app
written against ACS reads them unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum


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

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> EndReason:
        code, sub_code, phrase = data.get("code"), data.get("subCode"), data.get("phrase")
        if not (isinstance(code, int) and isinstance(sub_code, int)):
            raise ValueError(f"not an end reason: {data!r}")
        return cls(code, sub_code, phrase if isinstance(phrase, str) else "")


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
    joined_at: float | None = None
    display_name: str = ""  # as the device gave it (startCall/accept); "" when none

    def json(self) -> dict[str, object]:
        return {
            "participantId": self.id,
            "identifier": {"rawId": self.user_id, "communicationUser": {"id": self.user_id}},
            "displayName": self.display_name,
            "role": self.role.value,
            "state": self.state.value,
            "isMuted": self.muted,
            "videoOn": self.video_on,
        }
