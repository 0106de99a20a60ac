"""Wire shapes of the signaling protocol ``switchboard.calling.v1`` (docs/calling-protocol.md).

JSON text frames. Every frame carries ``"v": 1``. Client requests carry an ``id``; the server
answers each with an ``ack`` (``ok`` true/false). Server frames carry a per-device ``seq`` so a
client reconnecting with ``lastSeq`` gets what it missed, once. Shared by the server and the
Python client; knows nothing of sockets.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

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


class Request(msgspec.Struct, rename="camel", omit_defaults=True):
    """Any client frame; which fields matter depends on ``type`` (see the protocol doc)."""

    type: str
    v: int = VERSION
    id: str | None = None
    device_id: str | None = None
    last_seq: int | None = None
    call_id: str | None = None
    targets: list[dict[str, Any]] | None = None
    description: dict[str, Any] | None = None
    candidate: dict[str, Any] | None = None
    to: str | None = None
    media: dict[str, bool] | None = None
    muted: bool | None = None
    video_on: bool | None = None
    busy: bool | None = None
    group_id: str | None = None  # joinGroupCall
    room_id: str | None = None  # joinRoom
    screen_share_mids: list[str] | None = None  # joinGroupCall/joinRoom/sdp offers
    participant_ids: list[str] | None = None  # admit, rejectLobby, dataChannel (None: all)
    data: str | None = None  # dataChannel
    max_video: int | None = None  # setVideoStreams
    display_name: str | None = None  # startCall/accept/joinGroupCall/joinRoom


_request_decoder = msgspec.json.Decoder(Request)


def parse_request(text: str | bytes) -> Request:
    """Decode a client frame; anything unreadable raises InvalidSignalError."""
    try:
        request = _request_decoder.decode(text)
    except msgspec.DecodeError as exc:
        raise InvalidSignalError(f"Unreadable signaling frame: {exc}") from None
    if request.v != VERSION:
        raise InvalidSignalError(f"Unsupported protocol version {request.v}; this is {VERSION}.")
    return request


def require_description(value: dict[str, Any] | None, kind: str) -> dict[str, str]:
    """An RTCSessionDescription ``{"type","sdp"}`` of the given kind (offer/answer)."""
    if not isinstance(value, dict):
        raise InvalidSignalError(f"An {kind} description is required.")
    sdp, sdp_type = value.get("sdp"), value.get("type")
    if not isinstance(sdp, str) or not sdp or sdp_type not in ("offer", "answer", "pranswer"):
        raise InvalidSignalError("A description is {type: offer|answer, sdp: string}.")
    if kind != "any" and sdp_type != kind:
        raise InvalidSignalError(f"Expected an {kind}, got an {sdp_type}.")
    return {"type": str(sdp_type), "sdp": sdp}


MAX_DISPLAY_NAME = 256  # as ACS's CallAgentOptions.displayName


def display_name_of(request: Request) -> str:
    """The request's optional ``displayName`` ("" when none), trimmed and bounded."""
    name = (request.display_name or "").strip()
    if len(name) > MAX_DISPLAY_NAME:
        raise InvalidSignalError(
            f"displayName is at most {MAX_DISPLAY_NAME} characters.", target="displayName"
        )
    return name


def require_candidate(value: dict[str, Any] | None) -> dict[str, Any]:
    """An RTCIceCandidateInit; ``candidate`` "" is the end-of-candidates marker."""
    if not isinstance(value, dict) or not isinstance(value.get("candidate"), str):
        raise InvalidSignalError("A candidate is {candidate: string, sdpMid?, sdpMLineIndex?}.")
    out: dict[str, Any] = {"candidate": value["candidate"]}
    if isinstance(value.get("sdpMid"), str):
        out["sdpMid"] = value["sdpMid"]
    if isinstance(value.get("sdpMLineIndex"), int):
        out["sdpMLineIndex"] = value["sdpMLineIndex"]
    return out


# ---- server frames (dicts: the hub adds "v" and "seq") -------------------------------------


def ack(request_id: str | None, **result: Any) -> dict[str, Any]:
    return {"type": ServerMessage.ACK.value, "id": request_id, "ok": True, **result}


def nack(request_id: str | None, code: str, message: str) -> dict[str, Any]:
    return {
        "type": ServerMessage.ACK.value,
        "id": request_id,
        "ok": False,
        "error": {"code": code, "message": message},
    }


def frame(kind: ServerMessage, call_id: str, **fields: Any) -> dict[str, Any]:
    return {"type": kind.value, "callId": call_id, **fields}
