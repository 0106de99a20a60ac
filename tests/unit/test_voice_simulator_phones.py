"""Virtual phones (gateways/voicesim) with no sockets: their answer rules, a call to one of
our numbers, and what a connected phone hears and says through its leg on a forwarder."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import numpy as np
import pytest

from switchboard.calling import models as m
from switchboard.calling.models import EndReason
from switchboard.calling.pstn import NOT_IN_SERVICE, InboundPhoneCall, PhoneCallListener
from switchboard.core.errors import BadRequestError
from switchboard.gateways.voicesim.ear import Ear
from switchboard.gateways.voicesim.network import VoiceSimulator
from switchboard.gateways.voicesim.phone import AnswerRule, PhoneState
from switchboard.media.audio.dtmf import DtmfDetector, tone_frames
from switchboard.media.audio.frames import FRAME_BYTES, silence, split_frames
from switchboard.media.audio.tones import DtmfTone
from switchboard.media.audio.voices import VoiceRequest
from switchboard.media.forwarder import Forwarder
from switchboard.media.local_leg import LocalLeg

pytestmark = pytest.mark.anyio
OURS, PHONE = "+18005550100", "+13125550123"


@dataclass
class Listener:
    heard: list[str] = field(default_factory=list)
    reasons: list[EndReason] = field(default_factory=list)

    def answered(self) -> None:
        self.heard.append("answered")

    def failed(self, reason: EndReason) -> None:
        self.heard.append("failed")
        self.reasons.append(reason)

    def ended(self) -> None:
        self.heard.append("ended")


@dataclass
class Inbound:
    calls: list[InboundPhoneCall] = field(default_factory=list)
    listener: Listener = field(default_factory=Listener)

    def incoming(self, call: InboundPhoneCall) -> PhoneCallListener:
        self.calls.append(call)
        return self.listener


class LoudTts:
    """A tone instead of espeak-ng: 200 ms of the D key, recognisable at the far end."""

    async def synthesize(self, text: str, voice: VoiceRequest) -> bytes:
        frames = tone_frames(DtmfTone.D, 200, 0)
        return b"".join(frames)


def simulator(inbound: Inbound | None = None) -> VoiceSimulator:
    return VoiceSimulator(inbound or Inbound(), LoudTts())


async def settle() -> None:
    for _ in range(3):
        await asyncio.sleep(0)


async def test_answer_rules_decide_what_the_caller_hears() -> None:
    network = simulator()
    cases = {
        AnswerRule.BUSY: (["failed"], m.BUSY),
        AnswerRule.DECLINE: (["failed"], m.DECLINED),
        AnswerRule.AUTO: (["answered"], None),
        AnswerRule.NEVER: ([], None),
    }
    for number, (rule, (heard, reason)) in enumerate(cases.items()):
        phone = network.set_phone(f"+1312555010{number}", rule)
        listener = Listener()
        network.dial(OURS, phone.number, listener)
        await asyncio.sleep(0.01)
        assert listener.heard == heard, rule
        assert listener.reasons == ([reason] if reason else []), rule
    nobody = Listener()
    network.dial(OURS, "+19995550000", nobody)
    await settle()
    assert nobody.reasons == [NOT_IN_SERVICE]


@dataclass
class RingingCaller(Listener):
    def ringing(self) -> None:
        self.heard.append("ringing")


async def test_a_phone_that_rings_says_so_first_even_when_it_answers_at_once() -> None:
    network = simulator()
    cases = {AnswerRule.AUTO: ["ringing", "answered"], AnswerRule.BUSY: ["failed"]}
    for number, (rule, heard) in enumerate(cases.items()):
        phone = network.set_phone(f"+1312555020{number}", rule)
        phone.answer_after_ms = 0
        listener = RingingCaller()
        network.dial(OURS, phone.number, listener)
        await asyncio.sleep(0.01)
        assert listener.heard == heard, rule


async def test_a_ringing_manual_phone_answers_through_the_api_and_busy_when_in_a_call() -> None:
    network = simulator()
    network.set_phone(PHONE, AnswerRule.MANUAL)
    first, second = Listener(), Listener()
    network.dial(OURS, PHONE, first)
    assert network.phone(PHONE).state is PhoneState.RINGING
    network.answer(PHONE)
    assert first.heard == ["answered"]
    network.dial(OURS, PHONE, second)
    await settle()
    assert second.reasons == [m.BUSY]
    network.hang_up(PHONE)
    assert first.heard == ["answered", "ended"]
    assert network.phone(PHONE).last_result is m.HUNG_UP


async def test_a_phone_calling_our_number_rings_and_hears_why_it_was_refused() -> None:
    inbound = Inbound()
    network = simulator(inbound)
    phone = network.call_from(PHONE, OURS)
    assert phone.state is PhoneState.DIALING and phone.peer == OURS
    [call] = inbound.calls
    assert (call.caller, call.called) == (PHONE, OURS)
    call.refuse(m.BUSY)
    after = network.phone(PHONE)
    assert after.state is PhoneState.IDLE and after.last_result is m.BUSY


async def test_a_connected_phone_hears_speech_and_tones_and_sends_its_key_presses() -> None:
    inbound = Inbound()
    network = simulator(inbound)
    forwarder = Forwarder()
    app = LocalLeg("server:1", "app", forwarder)
    phone_leg = LocalLeg("server:1", "p1", forwarder)
    network.call_from(PHONE, OURS)
    inbound.calls[0].answer(phone_leg)
    phone = network.phone(PHONE)
    assert phone.state is PhoneState.CONNECTED

    for frame in [*split_frames(silence(100)), *tone_frames(DtmfTone.FIVE, 100, 60)]:
        app.send_audio(frame)
    ear = phone.ear
    assert ear is not None and ear.tones == ["5"] and ear.loud_frames >= 4

    keys: list[DtmfTone] = []
    detector = DtmfDetector()
    app.listen("p1", lambda pcm: keys.extend(detector.feed(pcm)))
    network.press(PHONE, "1#")
    spoken = await network.say(PHONE, "hello")
    assert spoken == 200
    for _ in range(40):
        network.tick()
    # one frame a tick, in the order queued (the fake speech is a D tone)
    assert keys == [DtmfTone.ONE, DtmfTone.POUND, DtmfTone.D]


def test_the_ear_marks_speaking_and_silent_spans() -> None:
    ear = Ear(started_at=10.0)
    loud = b"".join(tone_frames(DtmfTone.A, 20, 0))[:FRAME_BYTES]
    ear.hear("app", loud, 10.5)
    ear.hear("app", loud, 10.52)
    ear.tick(10.6)
    assert ear.speaking
    ear.tick(10.8)
    assert not ear.speaking
    assert [(c.at_ms, c.speaking) for c in ear.timeline] == [(500, True), (720, False)]
    ear.hear("app", silence(20), 11.0)
    assert ear.frames == 3 and ear.loud_frames == 2


async def test_a_phone_plays_a_tone_of_the_frequency_asked_and_refuses_others() -> None:
    inbound = Inbound()
    network = simulator(inbound)
    forwarder = Forwarder()
    app = LocalLeg("server:1", "app", forwarder)
    network.call_from(PHONE, OURS)
    inbound.calls[0].answer(LocalLeg("server:1", "p1", forwarder))
    heard: list[bytes] = []
    app.listen("p1", heard.append)
    network.tone(PHONE, 440.0, 200)
    for _ in range(10):
        network.tick()
    pcm = np.frombuffer(b"".join(heard), dtype="<i2").astype(np.float64)
    spectrum = np.abs(np.fft.rfft(pcm * np.hanning(len(pcm))))
    peak_hz = float(np.fft.rfftfreq(len(pcm), 1 / 48_000)[int(np.argmax(spectrum))])
    assert len(heard) == 10 and abs(peak_hz - 440.0) < 15
    with pytest.raises(BadRequestError):
        network.tone(PHONE, 20_000.0, 200)
    with pytest.raises(BadRequestError):
        network.tone(PHONE, 440.0, 120_000)
