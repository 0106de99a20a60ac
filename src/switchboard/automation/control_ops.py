"""What travels between nodes for AutomationControl: one tagged msgspec Struct per control
operation, and the reply (a result or a failure with its HTTP status and ACS code)."""

from __future__ import annotations

import msgspec

from switchboard.automation.store import CallRecord
from switchboard.automation.streaming.models import (
    StreamingAction,
    StreamingOptions,
    TranscriptionOptions,
)
from switchboard.media.audio.tones import DtmfTone
from switchboard.media.endpoint.models import PlaySource, Recognize


class Op(msgspec.Struct, tag_field="op", frozen=True):
    call_connection_id: str


class HangUp(Op, tag="hangUp", frozen=True):
    pass


class Terminate(Op, tag="terminate", frozen=True):
    pass


class ListParticipants(Op, tag="participants", frozen=True):
    pass


class GetParticipant(Op, tag="participant", frozen=True):
    raw_id: str


class AddParticipant(Op, tag="add", frozen=True):
    target: str
    operation_context: str | None = None
    operation_callback_uri: str | None = None
    invitation_timeout_seconds: float | None = None
    source_caller_id: str | None = None


class RemoveParticipant(Op, tag="remove", frozen=True):
    raw_id: str
    operation_context: str | None = None
    operation_callback_uri: str | None = None


class Mute(Op, tag="mute", frozen=True):
    raw_ids: tuple[str, ...]


class CancelAdd(Op, tag="cancelAdd", frozen=True):
    invitation_id: str
    operation_context: str | None = None
    operation_callback_uri: str | None = None


class Transfer(Op, tag="transfer", frozen=True):
    target: str
    transferee: str | None = None
    operation_context: str | None = None
    operation_callback_uri: str | None = None
    source_caller_id: str | None = None


class AnswerOp(Op, tag="answer", frozen=True):
    """An incoming call (``call_connection_id`` is empty: the context names the call)."""

    context: str
    callback_uri: str
    operation_context: str | None = None
    media_streaming: StreamingOptions | None = None
    transcription: TranscriptionOptions | None = None


class RejectOp(Op, tag="reject", frozen=True):
    context: str
    reason: str | None = None


class RedirectOp(Op, tag="redirect", frozen=True):
    context: str
    target: str


class PlayOp(Op, tag="play", frozen=True):
    sources: tuple[PlaySource, ...]
    play_to: tuple[str, ...] = ()
    loop: bool = False
    interrupt: bool = False
    operation_context: str | None = None
    operation_callback_uri: str | None = None


class RecognizeOp(Op, tag="recognize", frozen=True):
    recognize: Recognize
    operation_context: str | None = None
    operation_callback_uri: str | None = None


class CancelAllOp(Op, tag="cancelAll", frozen=True):
    pass


class ContinuousDtmfOp(Op, tag="continuousDtmf", frozen=True):
    target: str
    start: bool
    operation_context: str | None = None
    operation_callback_uri: str | None = None


class SendDtmfOp(Op, tag="sendDtmf", frozen=True):
    tones: tuple[DtmfTone, ...]
    target: str
    operation_context: str | None = None
    operation_callback_uri: str | None = None


class HoldOp(Op, tag="hold", frozen=True):
    target: str
    hold: bool
    music: PlaySource | None = None


class MoveOp(Op, tag="move", frozen=True):
    """moveParticipants on the target call (``call_connection_id``)."""

    targets: tuple[str, ...]
    from_call: str
    operation_context: str | None = None
    operation_callback_uri: str | None = None


class StreamingOp(Op, tag="streaming", frozen=True):
    """start/stopMediaStreaming, start/update/stopTranscription."""

    action: StreamingAction
    locale: str | None = None
    operation_context: str | None = None
    operation_callback_uri: str | None = None


AnyOp = (
    HangUp
    | Terminate
    | ListParticipants
    | GetParticipant
    | AddParticipant
    | RemoveParticipant
    | Mute
    | CancelAdd
    | Transfer
    | AnswerOp
    | RejectOp
    | RedirectOp
    | PlayOp
    | RecognizeOp
    | CancelAllOp
    | ContinuousDtmfOp
    | SendDtmfOp
    | HoldOp
    | MoveOp
    | StreamingOp
)


class ParticipantWire(msgspec.Struct, frozen=True):
    raw_id: str
    is_muted: bool
    is_on_hold: bool


class AddedWire(msgspec.Struct, frozen=True):
    raw_id: str
    invitation_id: str
    operation_context: str | None


class Request(msgspec.Struct, frozen=True):
    id: str
    reply_to: str
    op: AnyOp


class Failure(msgspec.Struct, frozen=True):
    status: int
    code: str
    message: str
    target: str | None = None


class Reply(msgspec.Struct, frozen=True):
    id: str
    call: CallRecord | None = None  # answer: the new call connection
    participants: list[ParticipantWire] | None = None
    added: AddedWire | None = None
    failure: Failure | None = None
