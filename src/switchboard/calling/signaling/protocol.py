"""The signaling protocol ``switchboard.calling.v1`` (docs/calling-protocol.md): its names,
close codes, message kinds, and the values carried inside frames.

    requests.py  client → server frames (Register, StartCall, Accept, …), parse_request
    frames.py    server → client frames (Ack, IncomingCall, CallUpdated, Sdp, …)

JSON text frames, each a msgspec tagged union member (tag ``"type"``), shared by the server
and the Python client; the browser SDK's JSDoc typedefs are checked against them
(tests/unit/test_calling_frames_jsdoc.py). Every frame carries ``"v": 1``, written in front
of the body (``VERSION_PREFIX``). Knows nothing of sockets.
"""

from __future__ import annotations

from enum import StrEnum

import msgspec

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
    DATA_CHANNEL_SENDER = "dataChannelSender"
    SET_VIDEO_STREAMS = "setVideoStreams"
    PUSH_RECEIVED = "pushReceived"  # a device woken by a push asks to ring (docs/push.md)


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
    CALL_CONVERTED = "callConverted"
    CALL_MOVED = "callMoved"  # a server call's app moved the device to another server call


VERSION_PREFIX = b'{"v":%d,' % VERSION  # an encoded body's "{" is replaced by this


# ---- values inside frames (every field always written; lenient when read) -----------------


class CommunicationUser(msgspec.Struct):
    id: str = ""


class PhoneNumber(msgspec.Struct):
    value: str = ""


class WireIdentifier(msgspec.Struct, rename="camel", omit_defaults=True):
    """A CommunicationIdentifier: a user (``communicationUser``) or, as the caller of a
    server call, a phone number (``phoneNumber``) or just a ``rawId`` (the app)."""

    raw_id: str = ""
    communication_user: CommunicationUser | None = None
    phone_number: PhoneNumber | None = None


class ParticipantInfo(msgspec.Struct, rename="camel"):
    """A participant as the others see it (two-party: role caller/callee; group: Room role)."""

    participant_id: str
    identifier: WireIdentifier
    display_name: str = ""
    role: str | None = None
    state: str = ""
    is_muted: bool = False
    video_on: bool = False
    screen_share_on: bool = False  # it shares its screen (a second video stream)


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
    screen_share: bool = False  # the participant's shared screen, not its camera


class IceServer(msgspec.Struct):
    urls: list[str]
    username: str | None = None
    credential: str | None = None


class ErrorInfo(msgspec.Struct):
    code: str
    message: str
