"""Client → server frames of ``switchboard.calling.v1``: one msgspec Struct per request type.

    text ─parse_request─▶ Register | StartCall | Accept | … (tag "type") | UnknownRequest
    Request ─encode_request─▶ {"v":1,"type":…,"id":…,…} (the Python client)

Every field is optional on the wire: a request missing one it needs is refused with an
``InvalidSignal`` (or ``CallNotFound``) ack carrying its id, not as an unreadable frame; a
readable frame of an unknown type becomes ``UnknownRequest``, refused with its id too. For
the same reason descriptions, candidates and targets are read as plain objects and checked
by ``require_description``/``require_candidate``/``identifier_from_json``, whose refusals
say what is wrong. A request ``id`` longer than ``MAX_REQUEST_ID`` makes the frame unreadable:
its refusal carries no id, so a client cannot make the server echo (and remember, for
resumption) an id of any size.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

import msgspec

from switchboard.calling.errors import InvalidSignalError
from switchboard.calling.signaling.protocol import (
    VERSION,
    VERSION_PREFIX,
    Candidate,
    ClientMessage,
    Description,
)

MAX_REQUEST_ID = 128  # characters; a UUID is 36
RequestId = Annotated[str, msgspec.Meta(max_length=MAX_REQUEST_ID)]


class Request(msgspec.Struct, kw_only=True, omit_defaults=True, rename="camel", tag_field="type"):
    """Base of every client frame; ``kind`` is its ``type``."""

    kind: ClassVar[ClientMessage]
    v: int = VERSION
    id: RequestId | None = None


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
    # A phone number target: the number the phone sees (ACS's alternateCallerId), a
    # phoneNumber identifier of a purchased number with outbound calling.
    alternate_caller_id: dict[str, Any] | None = None


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
    """A 1:1 call: ``description`` is the answer; a server call: the device's own offer."""

    kind = ClientMessage.ACCEPT
    description: dict[str, Any] | None = None
    media: dict[str, bool] | None = None
    display_name: str | None = None
    screen_share_mids: list[str] | None = None  # a server call, as in joinGroupCall


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
    screen_share_on: bool | None = None


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
    channel_id: int | None = None  # an ACS data channel's message relayed (data: base64)
    sequence_number: int | None = None


class DataChannelSender(CallRequest, tag="dataChannelSender"):
    """Open (or change, or with ``closed`` close) a data-channel sender's route on the media
    node: its messages then travel over WebRTC data channels (docs/calling-protocol.md)."""

    kind = ClientMessage.DATA_CHANNEL_SENDER
    channel_id: int | None = None
    reliability: str | None = None  # "lossy" | "durable"
    priority: str | None = None  # "normal" | "high"
    bitrate_in_kbps: int | None = None
    participant_ids: list[str] | None = None  # None: everyone else
    closed: bool | None = None


class SetVideoStreams(CallRequest, tag="setVideoStreams"):
    kind = ClientMessage.SET_VIDEO_STREAMS
    max_video: int | None = None


class Pong(Request, tag="pong"):
    kind = ClientMessage.PONG


class Unregister(Request, tag="unregister"):
    """The device leaves; ``keepCalls``: 1:1 calls its page is reloading into (a new page
    resumes the device for them within ``PAGE_RELOAD_SECONDS``; every other call ends now)."""

    kind = ClientMessage.UNREGISTER
    keep_calls: list[str] | None = None


class PushReceived(Request, tag="pushReceived"):
    """The incoming-call push's ``callId`` and ``owner``: ring this device too."""

    kind = ClientMessage.PUSH_RECEIVED
    call_id: str | None = None
    owner: str | None = None


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
    | DataChannelSender
    | SetVideoStreams
    | Pong
    | Unregister
    | PushReceived
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
    | DataChannelSender
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
    id: RequestId | None = None  # bounded here too: an unknown type's refusal echoes it


_client_decoder = msgspec.json.Decoder(ClientFrame)
_head_decoder = msgspec.json.Decoder(_Head)
_KNOWN = frozenset(ClientMessage)


def parse_request(text: str | bytes) -> ClientFrame | UnknownRequest:
    """Decode a client frame; anything unreadable raises InvalidSignalError."""
    request: ClientFrame | UnknownRequest
    try:
        request = _decode(text)
    except RecursionError:  # msgspec's guard against JSON nested deeper than it will follow
        raise InvalidSignalError("The signaling frame is nested too deeply.") from None
    if request.v != VERSION:
        raise InvalidSignalError(f"Unsupported protocol version {request.v}; this is {VERSION}.")
    return request


def _decode(text: str | bytes) -> ClientFrame | UnknownRequest:
    try:
        return _client_decoder.decode(text)
    except msgspec.DecodeError as exc:
        try:
            head = _head_decoder.decode(text)
        except msgspec.DecodeError:
            head = None
        if head is None or head.type in _KNOWN:
            raise InvalidSignalError(f"Unreadable signaling frame: {exc}") from None
        return UnknownRequest(head.type, head.v, head.id)


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


_encoder = msgspec.json.Encoder()


def encode_request(request: Request) -> bytes:
    """A client frame as sent: ``{"v":1,"type":…,"id":…,…}``."""
    return VERSION_PREFIX + _encoder.encode(request)[1:]
