"""Python calling client on aiortc (protocol ``switchboard.calling.v1``, docs/calling-protocol.md).

``CallClient`` → ``CallAgent`` (a registered device) → ``Call`` (states, accept/reject/
hang_up, mute, hold, video, send_dtmf; ``media.audio`` shows what audio really arrived).
"""

from switchboard.calling.models import CallState, EndReason, ParticipantState
from switchboard.client.calling.agent import CallAgent, CallClient
from switchboard.client.calling.call import Call, CallDirection, RemoteParticipant
from switchboard.client.calling.dtmf import DtmfError, DtmfTone
from switchboard.client.calling.media import AudioProbe, ToneTrack
from switchboard.client.calling.session import (
    ProtocolViolation,
    RequestFailed,
    SignalingClosed,
    SignalingError,
)
from switchboard.client.push import PushTarget

__all__ = [
    "AudioProbe",
    "Call",
    "CallAgent",
    "CallClient",
    "CallDirection",
    "CallState",
    "DtmfError",
    "DtmfTone",
    "EndReason",
    "ParticipantState",
    "ProtocolViolation",
    "PushTarget",
    "RemoteParticipant",
    "RequestFailed",
    "SignalingClosed",
    "SignalingError",
    "ToneTrack",
]
