"""MediaEndpoint on a fake leg: what is sent to whom, and the events each request reports."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field

import pytest

from switchboard.media.audio.dtmf import tone_frames
from switchboard.media.audio.frames import FRAME_BYTES, SILENT_FRAME, rms_dbfs
from switchboard.media.audio.speech import Choice, ChoiceResult, SpeechResult
from switchboard.media.audio.telephone_event import TelephoneEventSender
from switchboard.media.audio.tones import DtmfTone
from switchboard.media.audio.voices import VoiceRequest
from switchboard.media.endpoint.encoded import EncodedAudio
from switchboard.media.endpoint.endpoint import MediaEndpoint
from switchboard.media.endpoint.hold_music import hold_music
from switchboard.media.endpoint.models import (
    Choice as ChoiceOption,
)
from switchboard.media.endpoint.models import (
    ContinuousDtmfToneReceived,
    DtmfOptions,
    FileSource,
    MediaEvent,
    Play,
    PlayCanceled,
    PlayCompleted,
    PlayFailed,
    PlayStarted,
    Recognize,
    RecognizeCanceled,
    RecognizeCompleted,
    RecognizeFailed,
    RecognizeInput,
    SendDtmfCompleted,
    TextSource,
)
from switchboard.media.endpoint.renderer import FileFetchError, SourceRenderer

pytestmark = pytest.mark.anyio

CALLER = "p-caller"
LOUD = b"\x00\x40" * (FRAME_BYTES // 2)  # a loud square-ish frame: "speech" to the VAD


@dataclass
class FakeLeg:
    sent: list[tuple[bytes, frozenset[str] | None]] = field(default_factory=list)
    audience: frozenset[str] | None = None
    listeners: dict[str, Callable[[bytes], None]] = field(default_factory=dict)
    telephone: Callable[[str, bytes, int], None] | None = None

    encoded: list[tuple[bytes, int]] = field(default_factory=list)

    def send_audio(self, frame: bytes) -> None:
        self.sent.append((frame, self.audience))

    def send_encoded(self, payload: bytes, level: int) -> None:
        self.encoded.append((payload, level))

    def set_audience(self, participant_ids: frozenset[str] | None) -> None:
        self.audience = participant_ids

    def listen(self, participant_id: str, on_frame: Callable[[bytes], None] | None) -> None:
        if on_frame is None:
            self.listeners.pop(participant_id, None)
        else:
            self.listeners[participant_id] = on_frame

    def on_telephone_event(self, callback: Callable[[str, bytes, int], None] | None) -> None:
        self.telephone = callback


class FramesTts:
    """Each text is spoken as as many loud frames as it has words."""

    async def synthesize(self, text: str, voice: VoiceRequest) -> bytes:
        return LOUD * len(text.split())


class Fetcher:
    async def fetch(self, uri: str) -> bytes:
        raise FileFetchError(f"{uri} is unreachable")


@dataclass
class FakeRecognizer:
    answer: ChoiceResult | SpeechResult | None = None
    heard: list[int] = field(default_factory=list)

    async def recognize_choices(
        self, pcm: bytes, choices: Sequence[Choice], sample_rate: int = 48_000
    ) -> ChoiceResult | None:
        self.heard.append(len(pcm))
        return self.answer if isinstance(self.answer, ChoiceResult) else None

    async def recognize(self, pcm: bytes, sample_rate: int = 48_000) -> SpeechResult | None:
        self.heard.append(len(pcm))
        return self.answer if isinstance(self.answer, SpeechResult) else None


@dataclass
class Rig:
    endpoint: MediaEndpoint
    leg: FakeLeg
    recognizer: FakeRecognizer
    events: list[MediaEvent]

    async def ticks(self, count: int) -> None:
        for _ in range(count):
            self.endpoint.tick()
        await settle()

    def caller_says(self, frames: list[bytes]) -> None:
        """Frames of the caller's audio, while the endpoint listens to it."""
        for frame in frames:
            listener = self.leg.listeners.get(CALLER)
            if listener is None:
                return
            listener(frame)

    def kinds(self) -> list[str]:
        return [type(e).__name__ for e in self.events]


async def settle() -> None:
    for _ in range(30):
        await asyncio.sleep(0)


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    leg, recognizer = FakeLeg(), FakeRecognizer()
    events: list[MediaEvent] = []
    endpoint = MediaEndpoint(
        leg,
        SourceRenderer(FramesTts(), Fetcher()),
        recognizer,
        events.append,
        hold_music=hold_music(),
    )
    await endpoint.start()
    yield Rig(endpoint, leg, recognizer, events)
    await endpoint.stop()


async def test_a_play_is_sent_frame_by_frame_and_reports_start_and_completion(rig: Rig) -> None:
    rig.endpoint.play(Play("op1", (TextSource("one two three"),)))
    await settle()
    await rig.ticks(5)
    assert [frame for frame, _ in rig.leg.sent] == [LOUD] * 3
    assert {audience for _, audience in rig.leg.sent} == {None}
    assert rig.events == [PlayStarted("op1"), PlayCompleted("op1")]


async def test_plays_keep_their_order_and_their_audience(rig: Rig) -> None:
    rig.endpoint.play(Play("a", (TextSource("one"),), audience=frozenset({CALLER})))
    rig.endpoint.play(Play("b", (TextSource("one two"),)))
    await settle()
    await rig.ticks(4)
    assert [audience for _, audience in rig.leg.sent] == [frozenset({CALLER}), None, None]
    assert rig.kinds() == ["PlayStarted", "PlayCompleted", "PlayStarted", "PlayCompleted"]


async def test_an_unreachable_file_fails_the_play_naming_its_source(rig: Rig) -> None:
    sources = (TextSource("hello"), FileSource("https://files.example/x.wav"))
    rig.endpoint.play(Play("op", sources))
    await settle()
    await rig.ticks(2)
    assert len(rig.events) == 1
    failed = rig.events[0]
    assert isinstance(failed, PlayFailed) and failed.failed_source_index == 1
    assert failed.outcome.sub_code == 8536
    assert rig.leg.sent == []


async def test_a_looping_play_goes_on_until_canceled(rig: Rig) -> None:
    rig.endpoint.play(Play("loop", (TextSource("one two"),), loop=True))
    await settle()
    await rig.ticks(10)
    assert len(rig.leg.sent) == 10
    rig.endpoint.cancel_all()
    await rig.ticks(3)
    assert rig.events == [PlayStarted("loop"), PlayCanceled("loop")]
    assert len(rig.leg.sent) == 10


async def test_recognize_dtmf_collects_keys_sent_as_telephone_events(rig: Rig) -> None:
    request = Recognize(
        "r1",
        RecognizeInput.DTMF,
        CALLER,
        prompts=(TextSource("press two keys " * 10),),
        interrupt_prompt=True,
        dtmf=DtmfOptions(max_tones=2),
    )
    rig.endpoint.recognize(request)
    await settle()
    await rig.ticks(3)
    assert rig.leg.audience == frozenset({CALLER})  # the prompt goes to the target only
    sender = TelephoneEventSender()
    assert rig.leg.telephone is not None
    for timestamp, tone in ((1000, DtmfTone.FOUR), (20000, DtmfTone.TWO)):
        for packet in sender.press(tone):
            rig.leg.telephone(CALLER, packet.payload, timestamp)
    await rig.ticks(2)
    done = rig.events[-1]
    assert isinstance(done, RecognizeCompleted)
    assert done.tones == (DtmfTone.FOUR, DtmfTone.TWO) and done.outcome.sub_code == 8531
    assert len(rig.leg.sent) == 3  # the first key stopped the prompt (interruptPrompt)
    assert CALLER not in rig.leg.listeners  # nothing listened to once done


async def test_in_band_keys_reach_continuous_dtmf_once_each(rig: Rig) -> None:
    rig.endpoint.start_continuous_dtmf(CALLER)
    rig.caller_says([SILENT_FRAME] * 3 + tone_frames(DtmfTone.FIVE) + [SILENT_FRAME] * 3)
    rig.caller_says(tone_frames(DtmfTone.POUND) + [SILENT_FRAME] * 3)
    received = [e for e in rig.events if isinstance(e, ContinuousDtmfToneReceived)]
    assert [(e.tone, e.sequence_id) for e in received] == [(DtmfTone.FIVE, 1), (DtmfTone.POUND, 2)]
    rig.endpoint.stop_continuous_dtmf(CALLER)
    assert rig.kinds()[-1] == "ContinuousDtmfStopped" and CALLER not in rig.leg.listeners


async def test_silence_after_the_prompt_fails_with_the_initial_silence_code(rig: Rig) -> None:
    request = Recognize(
        "r2",
        RecognizeInput.DTMF,
        CALLER,
        prompts=(TextSource("say something"),),
        initial_silence_timeout_seconds=1.0,
    )
    rig.endpoint.recognize(request)
    await settle()
    await rig.ticks(2 + 49)  # the prompt (2 frames), then 0.98 s
    assert not any(isinstance(e, RecognizeFailed) for e in rig.events)
    await rig.ticks(2)
    failed = rig.events[-1]
    assert isinstance(failed, RecognizeFailed) and failed.outcome.sub_code == 8510


async def test_a_spoken_choice_is_recognized_after_the_caller_stops_talking(rig: Rig) -> None:
    rig.recognizer.answer = ChoiceResult("sales", "I want sales", 0.9)
    choices = (ChoiceOption("sales", ("sales", "I want sales")),)
    rig.endpoint.recognize(
        Recognize("r3", RecognizeInput.CHOICES, CALLER, choices=choices, end_silence_ms=200)
    )
    rig.caller_says([LOUD] * 10 + [SILENT_FRAME] * 12)
    await settle()
    done = rig.events[-1]
    assert isinstance(done, RecognizeCompleted) and done.choice_label == "sales"
    assert done.recognized_phrase == "I want sales" and done.outcome.sub_code == 8545
    assert rig.recognizer.heard and rig.recognizer.heard[0] >= 10 * FRAME_BYTES


async def test_a_choice_by_key_needs_no_recognizer(rig: Rig) -> None:
    choices = (ChoiceOption("sales", ("sales",), tone=DtmfTone.ONE),)
    rig.endpoint.recognize(Recognize("r4", RecognizeInput.CHOICES, CALLER, choices=choices))
    rig.caller_says(tone_frames(DtmfTone.ONE) + [SILENT_FRAME] * 3)
    done = rig.events[-1]
    assert isinstance(done, RecognizeCompleted) and done.choice_label == "sales"
    assert rig.recognizer.heard == []


async def test_cancel_all_cancels_queued_plays_and_the_recognition(rig: Rig) -> None:
    rig.endpoint.play(Play("p1", (TextSource("a b c d"),)))
    rig.endpoint.play(Play("p2", (TextSource("a b"),)))
    await settle()
    await rig.ticks(1)
    rig.endpoint.recognize(Recognize("r5", RecognizeInput.DTMF, CALLER))
    rig.endpoint.cancel_all()
    assert set(rig.events[1:]) == {PlayCanceled("p1"), PlayCanceled("p2"), RecognizeCanceled("r5")}


async def test_send_dtmf_plays_the_tones_to_the_target_then_reports(rig: Rig) -> None:
    rig.endpoint.send_dtmf("d1", [DtmfTone.ONE, DtmfTone.TWO], CALLER)
    await settle()
    await rig.ticks(20)
    assert rig.events == [SendDtmfCompleted("d1")]
    assert {audience for _, audience in rig.leg.sent} == {frozenset({CALLER})}
    assert len(rig.leg.sent) == 2 * len(tone_frames(DtmfTone.ONE))


async def test_hold_music_plays_to_the_held_only_while_nothing_else_plays(rig: Rig) -> None:
    rig.endpoint.hold(CALLER, None)
    await rig.ticks(3)
    assert [audience for _, audience in rig.leg.sent] == [frozenset({CALLER})] * 3
    assert all(rms_dbfs(frame) > -40 for frame, _ in rig.leg.sent[1:])
    rig.endpoint.unhold(CALLER)
    await rig.ticks(3)
    assert len(rig.leg.sent) == 3


async def test_played_audio_is_encoded_once_for_every_endpoint_that_plays_it() -> None:
    shared = EncodedAudio()
    legs = [FakeLeg(), FakeLeg()]
    endpoints = [
        MediaEndpoint(
            leg,
            SourceRenderer(FramesTts(), Fetcher()),
            FakeRecognizer(),
            lambda event: None,
            hold_music=hold_music(),
            encoded=shared,
        )
        for leg in legs
    ]
    for endpoint in endpoints:
        await endpoint.start()
        endpoint.play(Play("p", (TextSource("one two three"),)))
    await settle()
    for endpoint in endpoints:
        for _ in range(4):
            endpoint.tick()
    for endpoint in endpoints:
        await endpoint.stop()
    assert [leg.sent for leg in legs] == [[], []]  # nothing encoded per call
    first, second = (leg.encoded for leg in legs)
    assert len(first) == 3 and first == second
    assert all(a[0] is b[0] for a, b in zip(first, second, strict=True))  # the same payloads
    assert all(level < 127 for _, level in first)  # loud frames, not silence


async def test_the_prompt_stops_when_the_recognition_is_answered(rig: Rig) -> None:
    long_prompt = TextSource("press a key " * 20)  # 60 frames
    rig.endpoint.recognize(Recognize("r9", RecognizeInput.DTMF, CALLER, prompts=(long_prompt,)))
    await settle()
    await rig.ticks(3)
    rig.caller_says(tone_frames(DtmfTone.SEVEN) + [SILENT_FRAME] * 3)
    await rig.ticks(5)
    done = rig.events[-1]
    assert isinstance(done, RecognizeCompleted) and done.tones == (DtmfTone.SEVEN,)
    assert len(rig.leg.sent) == 3  # nothing of the prompt after the key
