"""MediaOperations: play, recognize, DTMF and hold on the app's media endpoint, per call.

service.play(call, …) ─▶ checks (sources, audience, URLs through the guard) ─▶ an
    operation id remembered with its operationContext and callback URI ─▶ CallMedia.play
media endpoint event (through the call's listener, in order with the call's other events)
    ─▶ on_event: the operation's callback (PlayStarted/Completed/Failed/Canceled,
       Recognize…, ContinuousDtmf…, SendDtmfTones…) to its callback URI; outcomes end it
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import msgspec

from switchboard.automation import callback_events as events
from switchboard.automation.models import CallConnection
from switchboard.automation.ports import CallbackSink, CallMedia, UrlGuard
from switchboard.core.errors import BadRequestError
from switchboard.media.audio.tones import DtmfTone
from switchboard.media.endpoint.models import (
    ContinuousDtmfStopped,
    ContinuousDtmfToneReceived,
    FileSource,
    MediaEvent,
    Play,
    PlayCanceled,
    PlayCompleted,
    PlayFailed,
    PlaySource,
    Recognize,
    RecognizeCanceled,
    RecognizeCompleted,
    RecognizeFailed,
    RecognizeInput,
    SendDtmfCompleted,
    SendDtmfFailed,
    SsmlSource,
    TextSource,
)

MAX_PLAY_SOURCES = 10
MAX_TEXT_CHARS = 400  # ACS: a TextSource's text
MAX_SSML_CHARS = 5000
MAX_TONES = 18  # ACS: sendDtmfTones
OUTCOMES = (
    PlayCompleted,
    PlayFailed,
    PlayCanceled,
    RecognizeCompleted,
    RecognizeFailed,
    RecognizeCanceled,
    SendDtmfCompleted,
    SendDtmfFailed,
)


@dataclass(frozen=True, slots=True)
class Operation:
    call_connection_id: str
    operation_context: str | None
    callback_uri: str


class MediaOperations:
    def __init__(
        self,
        callbacks: CallbackSink,
        guard: UrlGuard,
        *,
        new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
    ) -> None:
        self._callbacks = callbacks
        self._guard = guard
        self._new_id = new_id
        self._media: dict[str, CallMedia] = {}
        self._operations: dict[str, Operation] = {}
        self._dtmf: dict[tuple[str, str], Operation] = {}  # (call, target) → continuous DTMF

    def attach(self, call_connection_id: str, media: CallMedia) -> None:
        self._media[call_connection_id] = media

    def detach(self, call_connection_id: str) -> None:
        self._media.pop(call_connection_id, None)
        gone = call_connection_id
        for op_id in [k for k, op in self._operations.items() if op.call_connection_id == gone]:
            del self._operations[op_id]
        for key in [key for key in self._dtmf if key[0] == gone]:
            del self._dtmf[key]

    async def play(
        self,
        call: CallConnection,
        sources: Sequence[PlaySource],
        *,
        play_to: Sequence[str] = (),
        loop: bool = False,
        interrupt: bool = False,
        operation_context: str | None = None,
        operation_callback_uri: str | None = None,
    ) -> None:
        await self._check_sources(sources, "playSources")
        op = await self._operation(call, operation_context, operation_callback_uri)
        audience = frozenset(play_to) or None
        self._endpoint(call).play(Play(op, tuple(sources), audience, loop, interrupt))

    async def recognize(
        self,
        call: CallConnection,
        request: Recognize,
        *,
        operation_context: str | None = None,
        operation_callback_uri: str | None = None,
    ) -> None:
        await self._check_sources(request.prompts, "playPrompts", allow_empty=True)
        check_recognize(request)
        op = await self._operation(call, operation_context, operation_callback_uri)
        self._endpoint(call).recognize(_with_id(request, op))

    def cancel_all(self, call: CallConnection) -> None:
        self._endpoint(call).cancel_all()

    async def start_continuous_dtmf(
        self,
        call: CallConnection,
        target: str,
        *,
        operation_context: str | None = None,
        operation_callback_uri: str | None = None,
    ) -> None:
        media = self._endpoint(call)
        if operation_callback_uri is not None:
            await self._guard.check_callback_uri(operation_callback_uri)
        self._dtmf[(call.call_connection_id, target)] = Operation(
            call.call_connection_id, operation_context, call.callback_for(operation_callback_uri)
        )
        media.start_continuous_dtmf(target)

    def stop_continuous_dtmf(self, call: CallConnection, target: str) -> None:
        self._endpoint(call).stop_continuous_dtmf(target)

    async def send_dtmf(
        self,
        call: CallConnection,
        tones: Sequence[DtmfTone],
        target: str,
        *,
        operation_context: str | None = None,
        operation_callback_uri: str | None = None,
    ) -> None:
        if not 1 <= len(tones) <= MAX_TONES:
            raise BadRequestError(f"tones takes 1 to {MAX_TONES} tones.", target="tones")
        op = await self._operation(call, operation_context, operation_callback_uri)
        self._endpoint(call).send_dtmf(op, tones, target)

    async def hold(self, call: CallConnection, target: str, music: PlaySource | None) -> None:
        if music is not None:
            await self._check_sources([music], "playSourceInfo")
        self._endpoint(call).hold(target, music)

    def unhold(self, call: CallConnection, target: str) -> None:
        self._endpoint(call).unhold(target)

    async def on_event(self, call: CallConnection, event: MediaEvent) -> None:
        """The app's callback for a media endpoint event."""
        if isinstance(event, ContinuousDtmfToneReceived | ContinuousDtmfStopped):
            key = (call.call_connection_id, event.target)
            op = self._dtmf.get(key)
            if isinstance(event, ContinuousDtmfStopped):
                self._dtmf.pop(key, None)
        else:
            op = self._operations.get(event.operation_id)
            if isinstance(event, OUTCOMES):
                self._operations.pop(event.operation_id, None)
        if op is None:
            return  # an operation of a call connection that has gone
        callback = events.media_event(call, event, op.operation_context)
        await self._callbacks.enqueue(call.call_connection_id, op.callback_uri, [callback])

    # --- internals --------------------------------------------------------------------------

    def _endpoint(self, call: CallConnection) -> CallMedia:
        media = self._media.get(call.call_connection_id)
        if media is None:
            raise BadRequestError("This call connection has no media endpoint (yet).")
        return media

    async def _operation(
        self, call: CallConnection, context: str | None, callback_uri: str | None
    ) -> str:
        if callback_uri is not None:
            await self._guard.check_callback_uri(callback_uri)
        self._endpoint(call)  # refuse before remembering anything
        op = self._new_id()
        self._operations[op] = Operation(
            call.call_connection_id, context, call.callback_for(callback_uri)
        )
        return op

    async def _check_sources(
        self, sources: Sequence[PlaySource], field: str, *, allow_empty: bool = False
    ) -> None:
        if not sources and not allow_empty:
            raise BadRequestError("At least one play source is required.", target=field)
        if len(sources) > MAX_PLAY_SOURCES:
            raise BadRequestError(f"At most {MAX_PLAY_SOURCES} play sources.", target=field)
        for source in sources:
            if isinstance(source, TextSource):
                if not source.text.strip() or len(source.text) > MAX_TEXT_CHARS:
                    raise BadRequestError(
                        f"A text source needs 1 to {MAX_TEXT_CHARS} characters.", target=field
                    )
            elif isinstance(source, SsmlSource):
                if not source.ssml.strip() or len(source.ssml) > MAX_SSML_CHARS:
                    raise BadRequestError(
                        f"An SSML source needs 1 to {MAX_SSML_CHARS} characters.", target=field
                    )
            elif isinstance(source, FileSource):
                await self._guard.check_callback_uri(source.uri)  # the same SSRF guard


def check_recognize(request: Recognize) -> None:
    """ACS's ranges and the fields each input type needs."""
    if not request.target:
        raise BadRequestError("recognizeOptions.targetParticipant is required.")
    if not 0 <= request.initial_silence_timeout_seconds <= 300:
        raise BadRequestError(
            "initialSilenceTimeoutInSeconds must be between 0 and 300.",
            target="initialSilenceTimeoutInSeconds",
        )
    dtmf = request.dtmf
    if request.input in (RecognizeInput.DTMF, RecognizeInput.SPEECH_OR_DTMF):
        if not 1 <= dtmf.inter_tone_timeout_seconds <= 60:
            raise BadRequestError(
                "interToneTimeoutInSeconds must be between 1 and 60.",
                target="interToneTimeoutInSeconds",
            )
        if not 1 <= dtmf.max_tones <= 100:
            raise BadRequestError(
                "maxTonesToCollect must be between 1 and 100.", target="maxTonesToCollect"
            )
    if request.input is RecognizeInput.CHOICES:
        if not request.choices:
            raise BadRequestError(
                "Recognizing choices needs at least one choice.", target="choices"
            )
        labels = [choice.label for choice in request.choices]
        if len(set(labels)) != len(labels) or not all(labels):
            raise BadRequestError("Choice labels must be unique and non-empty.", target="choices")
        for choice in request.choices:
            if not choice.phrases or not all(p.strip() for p in choice.phrases):
                raise BadRequestError(
                    f"Choice {choice.label!r} needs at least one phrase.", target="choices"
                )


def _with_id(request: Recognize, operation_id: str) -> Recognize:
    return msgspec.structs.replace(request, operation_id=operation_id)
