"""Wire frames of the signaling protocol ``switchboard.calling.v1`` (docs/calling-protocol.md).

JSON text frames, each a msgspec tagged union member (tag ``"type"``), shared by the server
and the Python client; the browser SDK's JSDoc typedefs are checked against them
(tests/unit/test_calling_frames_jsdoc.py). Knows nothing of sockets.

    client ─ ClientFrame (Register, StartCall, Accept, … ; each with ``id``) ─▶ server
    server ─ ServerFrame (Ack, IncomingCall, CallUpdated, Sdp, … ; each with ``seq``) ─▶ client

Every frame carries ``"v": 1``; ``encode_*`` write it (and the server's per-device ``seq``)
in front of the body. Request fields are all optional on the wire: a request missing one it
needs is refused with an ``InvalidSignal`` ack carrying its id, not as an unreadable frame.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, ClassVar

import msgspec

from switchboard.calling.errors import InvalidSignalError

PROTOCOL = "switchboard.calling.v1"
VERSION = 1
PATH = "/calling/signaling"

CLOSE_NORMAL = 1000
CLOSE_UNAUTHORIZED = 4001  # token missing, invalid or expired: fresh token, reconnect
CLOSE_REVOKED = 4003  # tokens revoked or identity deleted: stop
CLOSE_FORBIDDEN = 4006  # the token lacks the voip scope: stop
CLOSE_HEARTBEAT = 4008  # nothing heard for two heartbeats: reconnect
CLOSE_PROTOCOL = 4009  # unsupported subprotocol/version or no register first: stop
CLOSE_REPLACED = 4011  # the same device registered on a newer socket: stop this one


class ClientMessage(StrEnum):
    REGISTER = "register"
    START_CALL = "startCall"
    ACCEPT = "accept"
    REJECT = "reject"
    HANG_UP = "hangUp"
    SDP = "sdp"
    CANDIDATE = "candidate"
    MEDIA_STATE = "mediaState"
    HOLD = "hold"
    RESUME = "resume"
    PONG = "pong"
    UNREGISTER = "unregister"
    JOIN_GROUP_CALL = "joinGroupCall"
    JOIN_ROOM = "joinRoom"
    ADMIT = "admit"
    REJECT_LOBBY = "rejectLobby"
    DATA_CHANNEL = "dataChannel"
    SET_VIDEO_STREAMS = "setVideoStreams"


class ServerMessage(StrEnum):
    ACK = "ack"
    INCOMING_CALL = "incomingCall"
    CALL_UPDATED = "callUpdated"
    PARTICIPANT_UPDATED = "participantUpdated"
    SDP = "sdp"
    CANDIDATE = "candidate"
    CALL_ENDED = "callEnded"
    PING = "ping"
    PARTICIPANTS_UPDATED = "participantsUpdated"
    DOMINANT_SPEAKERS = "dominantSpeakersChanged"
    LOBBY_PARTICIPANTS_UPDATED = "lobbyParticipantsUpdated"
    DATA_CHANNEL_MESSAGE = "dataChannelMessage"


# ---- values inside frames (every field always written; lenient when read) -----------------


class CommunicationUser(msgspec.Struct):
    id: str = ""


class WireIdentifier(msgspec.Struct, rename="camel"):
    raw_id: str = ""
    communication_user: CommunicationUser | None = None


class ParticipantInfo(msgspec.Struct, rename="camel"):
    """A participant as the others see it (two-party: role caller/callee; group: Room role)."""

    participant_id: str
    identifier: WireIdentifier
    display_name: str = ""
    role: str | None = None
    state: str = ""
    is_muted: bool = False
    video_on: bool = False


class EndReasonInfo(msgspec.Struct, rename="camel"):
    code: int
    sub_code: int = 0
    phrase: str = ""


class Description(msgspec.Struct):
    """An RTCSessionDescriptionInit as the server relays it (validated)."""

    type: str
    sdp: str


class Candidate(msgspec.Struct, rename="camel", omit_defaults=True):
    """An RTCIceCandidateInit as the server relays it; ``candidate`` "" ends the candidates."""

    candidate: str
    sdp_mid: str | None = None
    sdp_m_line_index: int | None = None


class MediaFlags(msgspec.Struct):
    audio: bool = True
    video: bool = False


class StreamInfo(msgspec.Struct, rename="camel"):
    """Whose media a server m-line carries (an ``sdp`` frame of a group call)."""

    mid: str
    kind: str
    participant_id: str | None


class IceServer(msgspec.Struct):
    urls: list[str]
    username: str | None = None
    credential: str | None = None


class ErrorInfo(msgspec.Struct):
    code: str
    message: str


# ---- client → server -----------------------------------------------------------------------


class Request(msgspec.Struct, kw_only=True, omit_defaults=True, rename="camel", tag_field="type"):
    """Base of every client frame; ``kind`` is its ``type``."""

    kind: ClassVar[ClientMessage]
    v: int = VERSION
    id: str | None = None


class CallRequest(Request, kw_only=True):
    """A request about one call the device is in."""

    call_id: str | None = None


class Register(Request, tag="register"):
    kind = ClientMessage.REGISTER
    device_id: str | None = None
    last_seq: int | None = None


class StartCall(Request, tag="startCall"):
    kind = ClientMessage.START_CALL
    targets: list[dict[str, Any]] | None = None  # communication identifiers (one)
    description: dict[str, Any] | None = None  # the offer (validated by the server)
    media: dict[str, bool] | None = None
    display_name: str | None = None


class JoinGroupCall(Request, tag="joinGroupCall"):
    kind = ClientMessage.JOIN_GROUP_CALL
    group_id: str | None = None
    description: dict[str, Any] | None = None
    media: dict[str, bool] | None = None
    display_name: str | None = None
    screen_share_mids: list[str] | None = None


class JoinRoom(Request, tag="joinRoom"):
    kind = ClientMessage.JOIN_ROOM
    room_id: str | None = None
    description: dict[str, Any] | None = None
    media: dict[str, bool] | None = None
    display_name: str | None = None
    screen_share_mids: list[str] | None = None


class Accept(CallRequest, tag="accept"):
    kind = ClientMessage.ACCEPT
    description: dict[str, Any] | None = None
    media: dict[str, bool] | None = None
    display_name: str | None = None


class Reject(CallRequest, tag="reject"):
    kind = ClientMessage.REJECT
    busy: bool | None = None


class HangUp(CallRequest, tag="hangUp"):
    kind = ClientMessage.HANG_UP


class SdpRequest(CallRequest, tag="sdp"):
    kind = ClientMessage.SDP
    description: dict[str, Any] | None = None
    to: str | None = None
    screen_share_mids: list[str] | None = None


class CandidateRequest(CallRequest, tag="candidate"):
    kind = ClientMessage.CANDIDATE
    candidate: dict[str, Any] | None = None
    to: str | None = None


class MediaState(CallRequest, tag="mediaState"):
    kind = ClientMessage.MEDIA_STATE
    muted: bool | None = None
    video_on: bool | None = None


class Hold(CallRequest, tag="hold"):
    kind = ClientMessage.HOLD


class Resume(CallRequest, tag="resume"):
    kind = ClientMessage.RESUME


class Admit(CallRequest, tag="admit"):
    kind = ClientMessage.ADMIT
    participant_ids: list[str] | None = None


class RejectLobby(CallRequest, tag="rejectLobby"):
    kind = ClientMessage.REJECT_LOBBY
    participant_ids: list[str] | None = None


class DataChannel(CallRequest, tag="dataChannel"):
    kind = ClientMessage.DATA_CHANNEL
    data: str | None = None
    participant_ids: list[str] | None = None  # None: everyone else


class SetVideoStreams(CallRequest, tag="setVideoStreams"):
    kind = ClientMessage.SET_VIDEO_STREAMS
    max_video: int | None = None


class Pong(Request, tag="pong"):
    kind = ClientMessage.PONG


class Unregister(Request, tag="unregister"):
    kind = ClientMessage.UNREGISTER


ClientFrame = (
    Register
    | StartCall
    | JoinGroupCall
    | JoinRoom
    | Accept
    | Reject
    | HangUp
    | SdpRequest
    | CandidateRequest
    | MediaState
    | Hold
    | Resume
    | Admit
    | RejectLobby
    | DataChannel
    | SetVideoStreams
    | Pong
    | Unregister
)
CallRequests = (
    Accept
    | Reject
    | HangUp
    | SdpRequest
    | CandidateRequest
    | MediaState
    | Hold
    | Resume
    | Admit
    | RejectLobby
    | DataChannel
    | SetVideoStreams
)
Join = JoinGroupCall | JoinRoom


class UnknownRequest(msgspec.Struct):
    """A readable frame of a type this server does not know: refused with its id."""

    type: str
    v: int = VERSION
    id: str | None = None


class _Head(msgspec.Struct):
    type: str
    v: int = VERSION
    id: str | None = None


_client_decoder = msgspec.json.Decoder(ClientFrame)
_head_decoder = msgspec.json.Decoder(_Head)
_KNOWN = frozenset(ClientMessage)


def parse_request(text: str | bytes) -> ClientFrame | UnknownRequest:
    """Decode a client frame; anything unreadable raises InvalidSignalError."""
    request: ClientFrame | UnknownRequest
    try:
        request = _client_decoder.decode(text)
    except msgspec.DecodeError as exc:
        try:
            head = _head_decoder.decode(text)
        except msgspec.DecodeError:
            head = None
        if head is None or head.type in _KNOWN:
            raise InvalidSignalError(f"Unreadable signaling frame: {exc}") from None
        request = UnknownRequest(head.type, head.v, head.id)
    if request.v != VERSION:
        raise InvalidSignalError(f"Unsupported protocol version {request.v}; this is {VERSION}.")
    return request


def require_description(value: dict[str, Any] | None, kind: str) -> Description:
    """An RTCSessionDescription ``{"type","sdp"}`` of the given kind (offer/answer)."""
    if not isinstance(value, dict):
        raise InvalidSignalError(f"An {kind} description is required.")
    sdp, sdp_type = value.get("sdp"), value.get("type")
    if not isinstance(sdp, str) or not sdp or sdp_type not in ("offer", "answer", "pranswer"):
        raise InvalidSignalError("A description is {type: offer|answer, sdp: string}.")
    if kind != "any" and sdp_type != kind:
        raise InvalidSignalError(f"Expected an {kind}, got an {sdp_type}.")
    return Description(str(sdp_type), sdp)


MAX_DISPLAY_NAME = 256  # as ACS's CallAgentOptions.displayName


def display_name_of(request: StartCall | Accept | Join) -> str:
    """The request's optional ``displayName`` ("" when none), trimmed and bounded."""
    name = (request.display_name or "").strip()
    if len(name) > MAX_DISPLAY_NAME:
        raise InvalidSignalError(
            f"displayName is at most {MAX_DISPLAY_NAME} characters.", target="displayName"
        )
    return name


def require_candidate(value: dict[str, Any] | None) -> Candidate:
    """An RTCIceCandidateInit; ``candidate`` "" is the end-of-candidates marker."""
    if not isinstance(value, dict) or not isinstance(value.get("candidate"), str):
        raise InvalidSignalError("A candidate is {candidate: string, sdpMid?, sdpMLineIndex?}.")
    mid, index = value.get("sdpMid"), value.get("sdpMLineIndex")
    return Candidate(
        value["candidate"],
        mid if isinstance(mid, str) else None,
        index if isinstance(index, int) and not isinstance(index, bool) else None,
    )


# ---- server → client -----------------------------------------------------------------------


class Frame(msgspec.Struct, kw_only=True, omit_defaults=True, rename="camel", tag_field="type"):
    """Base of every server frame; ``seq`` numbers a device's frames (not acks' own field)."""

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
)


def ack(request_id: str | None, **result: Any) -> Ack:
    return Ack(id=request_id, ok=True, **result)


def nack(request_id: str | None, code: str, message: str) -> Ack:
    return Ack(id=request_id, ok=False, error=ErrorInfo(code, message))


# ---- encoding: "v" (and the server's "seq") go in front of the body ------------------------

_encoder = msgspec.json.Encoder()
_V = b'{"v":%d,' % VERSION


def encode_frame(frame: Frame, seq: int | None = None) -> bytes:
    """A server frame as sent: ``{"v":1,"seq":…,"type":…}`` (no ``seq`` on pings and the
    register ack, which come before numbering matters)."""
    body = _encoder.encode(frame)
    if seq is None:
        return _V + body[1:]
    return _V + b'"seq":%d,' % seq + body[1:]


def encode_request(request: Request) -> bytes:
    """A client frame as sent: ``{"v":1,"type":…,"id":…,…}``."""
    return _V + _encoder.encode(request)[1:]
