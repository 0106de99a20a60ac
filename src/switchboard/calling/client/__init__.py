"""Python calling client on aiortc (protocol ``switchboard.calling.v1``, docs/calling-protocol.md).

``CallClient`` → ``CallAgent`` (a registered device) → ``Call`` (states, accept/reject/
hang_up, mute, hold, video; ``media.audio`` shows what audio really arrived).
"""

from switchboard.calling.client.agent import CallAgent, CallClient
from switchboard.calling.client.call import Call, CallDirection, RemoteParticipant
from switchboard.calling.client.media import AudioProbe, ToneTrack
from switchboard.calling.client.session import (
    ProtocolViolation,
    RequestFailed,
    SignalingClosed,
    SignalingError,
)
from switchboard.calling.models import CallState, EndReason, ParticipantState

__all__ = [
    "AudioProbe",
    "Call",
    "CallAgent",
    "CallClient",
    "CallDirection",
    "CallState",
    "EndReason",
    "ParticipantState",
    "ProtocolViolation",
    "RemoteParticipant",
    "RequestFailed",
    "SignalingClosed",
    "SignalingError",
    "ToneTrack",
]
