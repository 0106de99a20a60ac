"""VoiceSimulator: the simulator carrier's voice network of virtual phones (in-process).

    our side dials ─▶ dial(caller id, number, listener) ─▶ no such phone: 404 (not in service)
        ─▶ the phone rings by its rule (phone.py)
    a phone dials one of our numbers ─▶ InboundCallHandler.incoming(call) (calling's
        PendingCalls) ─▶ it rings for the apps ─▶ answer(leg) / refuse(reason)
    say(text) ─▶ TextToSpeech (espeak-ng) ─▶ 20 ms frames ─▶ sent one per tick
    press(keys) ─▶ in-band DTMF frames (tone_frames) ─▶ the same queue
    tick() (the node's EndpointTicker, every 20 ms) ─▶ every phone sends a frame, its Ear ticks
    a transcribing phone's utterance ─▶ SpeechRecognizer (pocketsphinx dictation, a worker
        thread; one at a time per node) ─▶ its Ear's transcript

The phones live in this process only: a restart forgets them (unlike the SMS simulator's
handsets). Numbers are E.164 and not ours.
"""

from __future__ import annotations

import asyncio
import logging
import time

import numpy as np

from switchboard.calling.models import EndReason
from switchboard.calling.pstn.ports import (
    NOT_IN_SERVICE,
    InboundCallHandler,
    PhoneCallListener,
)
from switchboard.core.errors import BadRequestError, NotFoundError
from switchboard.gateways.voicesim.ear import Ear, Utterance
from switchboard.gateways.voicesim.phone import AnswerRule, Clock, SimCall, VirtualPhone
from switchboard.media.audio.dtmf import tone_frames
from switchboard.media.audio.frames import (
    FRAME_MS,
    FRAME_SAMPLES,
    SAMPLE_RATE,
    split_frames,
    to_pcm,
)
from switchboard.media.audio.speech import SpeechRecognizer
from switchboard.media.audio.tones import DtmfTone
from switchboard.media.audio.tts import TextToSpeech
from switchboard.media.audio.voices import VoiceRequest

log = logging.getLogger(__name__)

MAX_PHONES = 10_000
MAX_RECOGNIZING = 16  # utterances waiting for (or in) the recogniser, all phones together
MAX_KEYS = 64
MIN_TONE_HZ, MAX_TONE_HZ = 50.0, 4000.0  # what a phone line carries, roughly
MAX_TONE_MS = 60_000
TONE_LEVEL = 0.3  # about -13 dBFS
PRESS_MS = 100
PRESS_GAP_MS = 80


class PhoneNotFoundError(NotFoundError):
    code = "PhoneNotFound"


class VoiceSimulator:
    def __init__(
        self,
        inbound: InboundCallHandler,
        tts: TextToSpeech,
        *,
        recognizer: SpeechRecognizer | None = None,
        clock: Clock = time.monotonic,
    ) -> None:
        self.phones: dict[str, VirtualPhone] = {}
        self._inbound = inbound
        self._tts = tts
        self._recognizer = recognizer
        self._clock = clock
        self._recognizing: set[asyncio.Task[None]] = set()

    # ── phones ───────────────────────────────────────────────────────────────────────

    def phone(self, number: str) -> VirtualPhone:
        phone = self.phones.get(number)
        if phone is None:
            raise PhoneNotFoundError(f"No virtual phone {number}.")
        return phone

    def set_phone(
        self,
        number: str,
        rule: AnswerRule | None = None,
        answer_after_ms: int | None = None,
        transcribe: bool | None = None,
    ) -> VirtualPhone:
        """Create the phone, or change its rules."""
        phone = self.phones.get(number)
        if phone is None:
            if len(self.phones) >= MAX_PHONES:
                raise BadRequestError(f"At most {MAX_PHONES} virtual phones.")
            phone = self.phones[number] = VirtualPhone(number, self._clock, self._heard)
        if rule is not None:
            phone.rule = rule
        if answer_after_ms is not None:
            phone.answer_after_ms = answer_after_ms
        if transcribe is not None:
            if transcribe and self._recognizer is None:
                raise BadRequestError("This node has no speech recogniser.", target="transcribe")
            phone.transcribe = transcribe
            if phone.ear is not None:  # the current call too, from now on
                phone.ear.transcribe = transcribe
        return phone

    def remove_phone(self, number: str) -> None:
        phone = self.phone(number)
        if phone.call is not None:
            phone.hang_up()
        del self.phones[number]

    # ── VoiceCarrier: our side dials ─────────────────────────────────────────────────

    def dial(self, caller_id: str, number: str, listener: PhoneCallListener) -> SimCall:
        phone = self.phones.get(number)
        if phone is None:
            call = SimCall(VirtualPhone(number, self._clock), caller_id, number)
            call.over = True
            asyncio.get_running_loop().call_soon(listener.failed, NOT_IN_SERVICE)
            return call
        call = SimCall(phone, caller_id, number)
        call.listener = listener
        phone.ring(call)
        return call

    # ── what the API asks of a phone ─────────────────────────────────────────────────

    def call_from(self, number: str, to: str) -> VirtualPhone:
        """The phone dials ``to`` (one of our numbers, we hope)."""
        phone = self.set_phone(number)
        call = SimCall(phone, number, to)
        phone.dialing(call)
        call.listener = self._inbound.incoming(call)
        return phone

    async def say(self, number: str, text: str, locale: str = "en-US") -> int:
        """Speak ``text`` into the call; the milliseconds of speech queued."""
        phone = self.phone(number)
        pcm = await self._tts.synthesize(text, VoiceRequest(locale=locale))
        frames = split_frames(pcm)
        phone.say(frames)
        return len(frames) * 20

    def press(self, number: str, keys: str) -> None:
        if not keys or len(keys) > MAX_KEYS:
            raise BadRequestError(f"keys: 1 to {MAX_KEYS} of 0-9 * # A-D.", target="keys")
        try:
            tones = [DtmfTone(key.upper()) for key in keys]
        except ValueError:
            raise BadRequestError("keys: only 0-9 * # A-D.", target="keys") from None
        frames = [f for t in tones for f in tone_frames(t, PRESS_MS, PRESS_GAP_MS)]
        self.phone(number).say(frames)

    def tone(self, number: str, frequency_hz: float, duration_ms: int) -> None:
        """A sine tone into the call (a test signal: each phone can have its own)."""
        if not MIN_TONE_HZ <= frequency_hz <= MAX_TONE_HZ:
            raise BadRequestError(
                f"frequencyHz: {MIN_TONE_HZ:g} to {MAX_TONE_HZ:g}.", target="frequencyHz"
            )
        if not FRAME_MS <= duration_ms <= MAX_TONE_MS:
            raise BadRequestError(f"durationMs: {FRAME_MS} to {MAX_TONE_MS}.", target="durationMs")
        count = duration_ms // FRAME_MS * FRAME_SAMPLES
        wave = TONE_LEVEL * np.sin(2 * np.pi * frequency_hz * np.arange(count) / SAMPLE_RATE)
        self.phone(number).say(split_frames(to_pcm(wave)))

    def answer(self, number: str) -> None:
        self.phone(number).answer()

    def hang_up(self, number: str) -> None:
        self.phone(number).hang_up()

    # ── Tickable ─────────────────────────────────────────────────────────────────────

    def tick(self) -> None:
        for phone in list(self.phones.values()):
            phone.tick()

    def last_result(self, number: str) -> EndReason | None:
        return self.phone(number).last_result

    # ── recognised speech ────────────────────────────────────────────────────────────

    def _heard(self, phone: VirtualPhone, ear: Ear, utterance: Utterance) -> None:
        if self._recognizer is None:
            return
        if len(self._recognizing) >= MAX_RECOGNIZING:  # bounded CPU: a backlog is dropped
            log.warning("phone %s: an utterance was not recognised (busy)", phone.number)
            return
        task = asyncio.get_running_loop().create_task(
            self._recognize(ear, utterance, self._recognizer), name=f"phone {phone.number} hears"
        )
        self._recognizing.add(task)
        task.add_done_callback(self._recognizing.discard)

    async def _recognize(
        self, ear: Ear, utterance: Utterance, recognizer: SpeechRecognizer
    ) -> None:
        try:
            result = await recognizer.recognize(utterance.pcm)
        except Exception:
            log.exception("a virtual phone's speech recognition failed")
            return
        if result is not None and result.text:
            ear.heard_words(utterance, result.text)
