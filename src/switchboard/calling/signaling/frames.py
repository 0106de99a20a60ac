"""Server → client frames of ``switchboard.calling.v1``: one msgspec Struct per frame type.

    Ack (the answer to a request: ok, or an error) · IncomingCall · CallUpdated ·
    ParticipantUpdated · ParticipantsUpdated · Sdp · IceCandidate · CallEnded ·
    DominantSpeakersChanged · LobbyParticipantsUpdated · DataChannelMessage · CallMoved · Ping

``encode_frame`` writes ``"v"`` and the hub's per-device ``"seq"`` in front of the body.
"""

from __future__ import annotations

from typing import Any, ClassVar

import msgspec

from switchboard.calling.signaling.protocol import (
    VERSION,
    VERSION_PREFIX,
    Candidate,
    Description,
    EndReasonInfo,
    ErrorInfo,
    IceServer,
    MediaFlags,
    ParticipantInfo,
    ServerMessage,
    StreamInfo,
)


class Frame(msgspec.Struct, kw_only=True, omit_defaults=True, rename="camel", tag_field="type"):
    """Base of every server frame; ``seq`` numbers a device's frames (written by the hub)."""

    kind: ClassVar[ServerMessage]
    v: int = VERSION
    seq: int | None = None


class Ack(Frame, tag="ack"):
    """The answer to one request (``id``); a refusal carries ``error``. The other fields are
    the result of register (device…), startCall (callId, participantId) and joins (+ state)."""

    kind = ServerMessage.ACK
    id: str | None
    ok: bool
    error: ErrorInfo | None = None
    device_id: str | None = None
    user_id: str | None = None
    resumed: bool | None = None
    calls: list[str] | None = None
    heartbeat_seconds: float | None = None
    ice_servers: list[IceServer] | None = None
    call_id: str | None = None
    participant_id: str | None = None
    state: str | None = None


class CallFrame(Frame, kw_only=True):
    """A frame about one call."""

    call_id: str


class IncomingCall(CallFrame, tag="incomingCall"):
    kind = ServerMessage.INCOMING_CALL
    caller: ParticipantInfo
    participant_id: str
    media: MediaFlags
    offer: Description | None  # written as null when the caller sent none
    ring_timeout_seconds: float
    # A server call (Call Automation): no offer; the device accepts with its own offer and
    # joins the conference (docs/calling-protocol.md "Server calls").
    conference: bool | None = None


class CallUpdated(CallFrame, tag="callUpdated"):
    kind = ServerMessage.CALL_UPDATED
    state: str
    participant_id: str
    participants: list[ParticipantInfo]
    role: str | None = None  # group and Room calls: this device's role


class ParticipantUpdated(CallFrame, tag="participantUpdated"):
    kind = ServerMessage.PARTICIPANT_UPDATED
    participant: ParticipantInfo


class ParticipantsUpdated(CallFrame, tag="participantsUpdated"):
    kind = ServerMessage.PARTICIPANTS_UPDATED
    added: list[ParticipantInfo]
    removed: list[ParticipantInfo]


class Sdp(CallFrame, tag="sdp"):
    kind = ServerMessage.SDP
    from_: str = msgspec.field(name="from")
    description: Description
    streams: list[StreamInfo] | None = None  # group calls: whose media each m-line carries
    # 1:1 calls: the sender's screen-share m-lines (its offers name them; None: unchanged)
    screen_share_mids: list[str] | None = None


class IceCandidate(CallFrame, tag="candidate"):
    kind = ServerMessage.CANDIDATE
    from_: str = msgspec.field(name="from")
    candidate: Candidate


class CallEnded(CallFrame, tag="callEnded"):
    kind = ServerMessage.CALL_ENDED
    reason: EndReasonInfo


class DominantSpeakersChanged(CallFrame, tag="dominantSpeakersChanged"):
    kind = ServerMessage.DOMINANT_SPEAKERS
    speakers: list[str]


class LobbyParticipantsUpdated(CallFrame, tag="lobbyParticipantsUpdated"):
    kind = ServerMessage.LOBBY_PARTICIPANTS_UPDATED
    lobby: list[ParticipantInfo]


class DataChannelMessage(CallFrame, tag="dataChannelMessage"):
    kind = ServerMessage.DATA_CHANNEL_MESSAGE
    from_: str = msgspec.field(name="from")
    data: str
    channel_id: int | None = None  # set for an ACS data channel's message (data: base64)
    sequence_number: int | None = None


class CallConverted(CallFrame, tag="callConverted"):
    """An app answered this ringing 1:1 call (Call Automation): it goes on as the server call
    ``server_call_id``, which the device joins with ``accept {callId: serverCallId, offer}``
    (docs/calling-protocol.md "1:1 calls answered by an app")."""

    kind = ServerMessage.CALL_CONVERTED
    server_call_id: str


class CallMoved(CallFrame, tag="callMoved"):
    """Server calls: the app moved this device from ``call_id`` to ``to_call_id`` (on the same
    owner); the device keeps its call and accepts ``to_call_id`` with a new offer."""

    kind = ServerMessage.CALL_MOVED
    to_call_id: str


class Ping(Frame, tag="ping"):
    kind = ServerMessage.PING


ServerFrame = (
    Ack
    | IncomingCall
    | CallUpdated
    | ParticipantUpdated
    | ParticipantsUpdated
    | Sdp
    | IceCandidate
    | CallEnded
    | DominantSpeakersChanged
    | LobbyParticipantsUpdated
    | DataChannelMessage
    | CallConverted
    | CallMoved
    | Ping
)
CallFrames = (
    IncomingCall
    | CallUpdated
    | ParticipantUpdated
    | ParticipantsUpdated
    | Sdp
    | IceCandidate
    | CallEnded
    | DominantSpeakersChanged
    | LobbyParticipantsUpdated
    | DataChannelMessage
    | CallConverted
    | CallMoved
)


def ack(request_id: str | None, **result: Any) -> Ack:
    return Ack(id=request_id, ok=True, **result)


def nack(request_id: str | None, code: str, message: str) -> Ack:
    return Ack(id=request_id, ok=False, error=ErrorInfo(code, message))


_encoder = msgspec.json.Encoder()


def encode_frame(frame: Frame, seq: int | None = None) -> bytes:
    """A server frame as sent: ``{"v":1,"seq":…,"type":…}`` (no ``seq`` on pings and the
    register ack, which come before numbering matters)."""
    body = _encoder.encode(frame)
    if seq is None:
        return VERSION_PREFIX + body[1:]
    return VERSION_PREFIX + b'"seq":%d,' % seq + body[1:]
