"""MediaEndpoint: the app's media in one call (play, recognize, DTMF, hold) on an SFU leg.

    play / recognize prompt / send DTMF ─▶ render (in request order, one task) ─▶
        PlaybackQueue ─tick() every 20 ms (EndpointTicker)─▶ leg.send_audio, audience narrowed
        queue events ─▶ PlayStarted/Completed/Canceled, prompt done, SendDtmfTonesCompleted
    the target's key presses: RFC 4733 (leg.on_telephone_event) or in-band tones in its
        decoded audio (leg.listen) ─▶ the running Recognition and continuous DTMF
    the target's speech: EndOfSpeech on its audio ─▶ SpeechRecognizer (a thread) ─▶ heard
    tick() also runs the recognition timers, in media time (20 ms per tick)
    hold audio plays to held participants whenever nothing else plays: the default music, or
        the hold request's playSourceInfo once rendered (the latest hold's, for all of them)

Every request reports one outcome through ``on_event`` (a MediaEvent), in the order things
happen. Participants are named as the leg names them.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from switchboard.core.tasks import TaskScope
from switchboard.media.audio.dtmf import DtmfDetector, tone_frames
from switchboard.media.audio.frames import FRAME_BYTES, FRAME_MS
from switchboard.media.audio.playback import (
    Encoded,
    PlaybackCanceled,
    PlaybackCompleted,
    PlaybackEvent,
    PlaybackItem,
    PlaybackQueue,
    PlaybackStarted,
)
from switchboard.media.audio.speech import (
    Choice,
    ChoiceResult,
    EndOfSpeech,
    SpeechRecognizer,
    SpeechResult,
    VoiceActivity,
)
from switchboard.media.audio.telephone_event import TelephoneEventReceiver
from switchboard.media.audio.tones import DtmfTone
from switchboard.media.endpoint.encoded import EncodedAudio
from switchboard.media.endpoint.models import (
    ContinuousDtmfStopped,
    ContinuousDtmfToneReceived,
    MediaEvent,
    Outcome,
    Play,
    PlayCanceled,
    PlayCompleted,
    PlayFailed,
    PlaySource,
    PlayStarted,
    Recognize,
    RecognizeCanceled,
    RecognizeFailed,
    RecognizeInput,
    SendDtmfCompleted,
    SendDtmfFailed,
)
from switchboard.media.endpoint.recognition import Phase, Recognition, RecognizeOutcome
from switchboard.media.endpoint.renderer import PlaySourceError, SourceRenderer

log = logging.getLogger(__name__)

TICK_SECONDS = FRAME_MS / 1000
DTMF_CANCELED = Outcome(400, 8508, "Action failed, the operation was canceled.")


class MediaLeg(Protocol):
    """What the endpoint needs of its participant in the SFU call (media.local_leg)."""

    def send_audio(self, frame: bytes) -> None: ...

    def send_encoded(self, payload: bytes, level: int) -> None: ...

    def set_audience(self, participant_ids: frozenset[str] | None) -> None: ...

    def listen(self, participant_id: str, on_frame: Callable[[bytes], None] | None) -> None: ...

    def on_telephone_event(self, callback: Callable[[str, bytes, int], None] | None) -> None: ...


class EndpointStream(Protocol):
    """Media streaming's hook on the tick (automation's MediaStreamSink)."""

    def tick(self, playing: bool) -> bytes | None:
        """Every 20 ms; a 48 kHz frame to send when no play has the endpoint's voice."""
        ...


class Kind(Enum):
    PLAY = "play"
    PROMPT = "prompt"
    DTMF = "dtmf"


@dataclass(slots=True)
class Pending:
    operation_id: str
    kind: Kind
    sources: tuple[PlaySource, ...]
    loop: bool
    audience: frozenset[str] | None
    pcm: bytes | None = None  # already rendered (DTMF tones)


class MediaEndpoint:
    def __init__(
        self,
        leg: MediaLeg,
        renderer: SourceRenderer,
        recognizer: SpeechRecognizer,
        on_event: Callable[[MediaEvent], None],
        *,
        hold_music: bytes,
        encoded: EncodedAudio | None = None,
    ) -> None:
        self._leg = leg
        self._renderer = renderer
        self._recognizer = recognizer
        self._emit = on_event
        self._hold_music = hold_music
        self._encoded = encoded  # played audio encoded once for every call (None: per call)
        self.now = 0.0  # media time: seconds of ticks
        self._queue = PlaybackQueue()
        self._kinds: dict[str, Kind] = {}
        self._pending: deque[Pending] = deque()
        self._wake = asyncio.Event()
        self._audience: frozenset[str] | bool | None = False  # False: never set yet
        self._recognition: Recognition | None = None
        self._speech: EndOfSpeech | None = None
        self._continuous: dict[str, itertools.count[int]] = {}
        self._listening: set[str] = set()
        self._detectors: dict[str, DtmfDetector] = {}
        self._receivers: dict[str, TelephoneEventReceiver] = {}
        self._rfc4733: set[str] = set()  # participants whose keys come as telephone events
        self._held: dict[str, int] = {}  # participant → position in the hold music
        self._hold_audio = hold_music  # what the held hear now (a custom source, rendered)
        self._stream: EndpointStream | None = None
        self._tasks = TaskScope("media endpoint")

    async def start(self) -> None:
        await self._tasks.start()
        self._tasks.spawn(self._render_in_order(), name="media endpoint renders")
        self._leg.on_telephone_event(self._telephone_event)

    async def stop(self) -> None:
        self._leg.on_telephone_event(None)
        for participant in list(self._listening):
            self._leg.listen(participant, None)
        await self._tasks.stop()

    # --- requests (CallMedia) ---------------------------------------------------------------

    def play(self, play: Play) -> None:
        if play.interrupt:
            self.cancel_all()
        self._submit(Pending(play.operation_id, Kind.PLAY, play.sources, play.loop, play.audience))

    def recognize(self, request: Recognize) -> None:
        if request.interrupt:
            self.cancel_all()
        elif self._recognition is not None:  # one recognition at a time: the new one wins
            self._cancel_recognition()
        self._recognition = Recognition(request, self.now, has_prompt=bool(request.prompts))
        self._speech = None
        if request.prompts:
            prompt = Pending(
                _prompt_id(request.operation_id),
                Kind.PROMPT,
                request.prompts,
                False,
                frozenset({request.target}),
            )
            self._submit(prompt)
        self._update_listening()

    def cancel_all(self) -> None:
        for pending in self._pending:
            self._report_canceled(pending.operation_id)
        self._pending.clear()
        self._on_playback(self._queue.cancel_all())
        self._cancel_recognition()

    def start_continuous_dtmf(self, target: str) -> None:
        self._continuous.setdefault(target, itertools.count(1))
        self._update_listening()

    def stop_continuous_dtmf(self, target: str) -> None:
        if self._continuous.pop(target, None) is not None:
            self._emit(ContinuousDtmfStopped(target))
        self._update_listening()

    def send_dtmf(self, operation_id: str, tones: Sequence[DtmfTone], target: str) -> None:
        pcm = b"".join(b"".join(tone_frames(tone)) for tone in tones)
        self._submit(Pending(operation_id, Kind.DTMF, (), False, frozenset({target}), pcm))

    def hold(self, target: str, music: PlaySource | None) -> None:
        self._held.setdefault(target, 0)
        if music is not None:  # the default music plays until the custom audio is rendered
            self._tasks.spawn(self._render_hold(music), name="media endpoint hold audio")

    def unhold(self, target: str) -> None:
        self._held.pop(target, None)
        if not self._held:
            self._hold_audio = self._hold_music

    async def _render_hold(self, music: PlaySource) -> None:
        try:
            pcm = await self._renderer.render((music,))
        except PlaySourceError as error:  # ACS has no event for it: the default music stays
            log.warning("hold audio could not be rendered: %s", error.outcome.message)
            return
        if self._held and pcm:
            self._hold_audio = pcm
            for participant in self._held:
                self._held[participant] = 0

    def set_stream(self, stream: EndpointStream | None) -> None:
        """Media streaming: ticked with the endpoint; what it returns plays to everyone
        when no play operation is playing (a play wins; the stream's audio waits)."""
        self._stream = stream

    # --- the 20 ms tick ---------------------------------------------------------------------

    def tick(self) -> None:
        self.now += TICK_SECONDS
        frame = self._queue.next_frame()
        self._on_playback(frame.events)
        stream = self._stream
        streamed = None if stream is None else stream.tick(frame.operation_id is not None)
        if frame.operation_id is not None:
            self._send(frame.pcm, frame.audience, frame.encoded)
        elif streamed is not None:
            self._send(streamed, None)
        elif self._held:
            self._send(self._hold_frame(), frozenset(self._held))
        recognition = self._recognition
        if recognition is not None:
            self._finish(recognition.tick(self.now))

    def _send(
        self, pcm: bytes, audience: frozenset[str] | None, encoded: Encoded | None = None
    ) -> None:
        if audience != self._audience:
            self._leg.set_audience(audience)
            self._audience = audience
        if encoded is not None:
            self._leg.send_encoded(*encoded)
        else:
            self._leg.send_audio(pcm)

    def _hold_frame(self) -> bytes:
        music = self._hold_audio
        position = next(iter(self._held.values()))
        frame = music[position : position + FRAME_BYTES].ljust(FRAME_BYTES, b"\x00")
        advanced = (position + FRAME_BYTES) % max(len(music), FRAME_BYTES)
        for participant in self._held:
            self._held[participant] = advanced
        return frame

    # --- playback ---------------------------------------------------------------------------

    def _submit(self, pending: Pending) -> None:
        self._kinds[pending.operation_id] = pending.kind
        self._pending.append(pending)
        self._wake.set()

    async def _render_in_order(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                pending = self._pending[0]
                try:
                    pcm = pending.pcm
                    if pcm is None:
                        pcm = await self._renderer.render(pending.sources)
                except PlaySourceError as error:
                    if self._pending and self._pending[0] is pending:
                        self._pending.popleft()
                        self._render_failed(pending, error)
                    continue
                encoded = None
                if self._encoded is not None and pending.kind is not Kind.DTMF:
                    encoded = self._encoded.frames(pcm)
                if not self._pending or self._pending[0] is not pending:
                    continue  # canceled while it rendered
                self._pending.popleft()
                self._queue.enqueue(
                    PlaybackItem(pending.operation_id, pcm, pending.loop, pending.audience, encoded)
                )

    def _render_failed(self, pending: Pending, error: PlaySourceError) -> None:
        self._kinds.pop(pending.operation_id, None)
        if pending.kind is Kind.PLAY:
            self._emit(PlayFailed(pending.operation_id, error.outcome, error.index))
        elif pending.kind is Kind.PROMPT and self._recognition is not None:
            recognition, self._recognition = self._recognition, None
            self._emit(RecognizeFailed(recognition.operation_id, error.outcome, error.index))
            self._update_listening()

    def _on_playback(self, events: list[PlaybackEvent]) -> None:
        for event in events:
            kind = self._kinds.get(event.operation_id)
            if isinstance(event, PlaybackStarted):
                if kind is Kind.PLAY:
                    self._emit(PlayStarted(event.operation_id))
                continue
            self._kinds.pop(event.operation_id, None)
            if isinstance(event, PlaybackCompleted):
                if kind is Kind.PLAY:
                    self._emit(PlayCompleted(event.operation_id))
                elif kind is Kind.DTMF:
                    self._emit(SendDtmfCompleted(event.operation_id))
                elif kind is Kind.PROMPT:
                    self._prompt_over(event.operation_id)
            elif isinstance(event, PlaybackCanceled):
                self._report_canceled(event.operation_id, kind)

    def _report_canceled(self, operation_id: str, kind: Kind | None = None) -> None:
        kind = kind or self._kinds.pop(operation_id, None)
        if kind is Kind.PLAY:
            self._emit(PlayCanceled(operation_id))
        elif kind is Kind.DTMF:
            self._emit(SendDtmfFailed(operation_id, DTMF_CANCELED))
        elif kind is Kind.PROMPT:
            self._prompt_over(operation_id)  # barge-in: listening goes on

    def _prompt_over(self, prompt_id: str) -> None:
        recognition = self._recognition
        if recognition is not None and _prompt_id(recognition.operation_id) == prompt_id:
            recognition.prompt_done(self.now)

    # --- what the participants send ---------------------------------------------------------

    def _telephone_event(self, participant: str, payload: bytes, timestamp: int) -> None:
        self._rfc4733.add(participant)
        receiver = self._receivers.get(participant)
        if receiver is None:  # (not setdefault: that would build one for every packet)
            receiver = self._receivers[participant] = TelephoneEventReceiver()
        try:
            tones = receiver.receive(timestamp, payload)
        except ValueError:
            return  # a malformed event: ignored like a lost packet
        for tone in tones:
            self._key(participant, tone)

    def _audio(self, participant: str, frame: bytes) -> None:
        if participant not in self._rfc4733:
            detector = self._detectors.get(participant)
            if detector is None:  # (not setdefault: that would build one for every frame)
                detector = self._detectors[participant] = DtmfDetector()
            for tone in detector.feed(frame):
                self._key(participant, tone)
        recognition = self._recognition
        if recognition is None or recognition.request.target != participant:
            return
        if not recognition.wants_speech or recognition.phase is Phase.DONE:
            return
        if self._speech is None:
            self._speech = EndOfSpeech(end_silence_ms=recognition.request.end_silence_ms)
        before = self._speech.state
        state = self._speech.feed(frame)
        if state is VoiceActivity.SPEAKING and before is VoiceActivity.WAITING:
            recognition.speech_started = True
            if recognition.request.interrupt_prompt:
                self._on_playback(self._queue.cancel(_prompt_id(recognition.operation_id)))
        elif state is VoiceActivity.ENDED and before is not VoiceActivity.ENDED:
            utterance = self._speech.utterance()
            self._tasks.spawn(self._recognize_speech(recognition, utterance), name="speech")

    def _key(self, participant: str, tone: DtmfTone) -> None:
        sequence = self._continuous.get(participant)
        if sequence is not None:
            self._emit(ContinuousDtmfToneReceived(participant, tone, next(sequence)))
        recognition = self._recognition
        if recognition is None or recognition.request.target != participant:
            return
        if recognition.request.interrupt_prompt and recognition.wants_dtmf:
            self._on_playback(self._queue.cancel(_prompt_id(recognition.operation_id)))
        self._finish(recognition.tone(tone, self.now))

    async def _recognize_speech(self, recognition: Recognition, utterance: bytes) -> None:
        request = recognition.request
        result: ChoiceResult | SpeechResult | None
        try:
            if request.input is RecognizeInput.CHOICES:
                choices = [Choice(c.label, c.phrases) for c in request.choices]
                result = await self._recognizer.recognize_choices(utterance, choices)
            else:
                result = await self._recognizer.recognize(utterance)
        except Exception:
            log.exception("speech recognition failed")
            result = None
        if self._recognition is recognition:
            self._finish(recognition.heard(result))

    def _finish(self, outcome: RecognizeOutcome | None) -> None:
        if outcome is None:
            return
        self._recognition, self._speech = None, None
        self._stop_prompt(outcome.operation_id)  # the answer is in: the question stops
        self._emit(outcome)
        self._update_listening()

    def _stop_prompt(self, operation_id: str) -> None:
        prompt = _prompt_id(operation_id)
        self._pending = deque(p for p in self._pending if p.operation_id != prompt)
        self._on_playback(self._queue.cancel(prompt))

    def _cancel_recognition(self) -> None:
        recognition, self._recognition = self._recognition, None
        if recognition is None:
            return
        self._stop_prompt(recognition.operation_id)
        self._emit(RecognizeCanceled(recognition.operation_id))
        self._update_listening()

    def _audio_of(self, participant: str) -> Callable[[bytes], None]:
        def on_frame(frame: bytes) -> None:
            self._audio(participant, frame)

        return on_frame

    def _update_listening(self) -> None:
        wanted = set(self._continuous)
        if self._recognition is not None:
            wanted.add(self._recognition.request.target)
        for participant in wanted - self._listening:
            self._leg.listen(participant, self._audio_of(participant))
        for participant in self._listening - wanted:
            self._leg.listen(participant, None)
            self._detectors.pop(participant, None)
        self._listening = wanted


def _prompt_id(operation_id: str) -> str:
    return f"prompt:{operation_id}"
