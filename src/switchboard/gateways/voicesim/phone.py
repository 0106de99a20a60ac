"""VirtualPhone: one simulated handset on the voice simulator, and SimCall, a call it is in.

our network dials it ─▶ ring(call) by its rule (ringing: the caller hears ``ringing()``):
    auto: answers after answer_after_ms · manual: rings until answer() · never: rings
    busy: 486 · decline: 603 · already in a call: 486
it dials one of our numbers ─▶ DIALING ─▶ we answer(leg) ─▶ CONNECTED · refuse ─▶ IDLE
CONNECTED: its leg on the SFU; say/press queue 20 ms frames (sent by tick, one a tick);
    everything it hears goes to its Ear (DTMF, speech energy; with ``transcribe``, the
    utterances it heard go to ``on_utterance``, which has them recognised)
hang_up() ─▶ our side hears ended() · our side hangs up ─▶ IDLE (last_result says why)
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Iterable
from enum import StrEnum

from switchboard.calling import models as m
from switchboard.calling.models import EndReason
from switchboard.calling.pstn.ports import PhoneCallListener, RingingListener
from switchboard.core.errors import ConflictError
from switchboard.gateways.voicesim.ear import Ear, Utterance
from switchboard.gateways.voicesim.rules import AnswerRule as AnswerRule  # re-exported
from switchboard.media.local_leg import LocalLeg

Clock = Callable[[], float]
UtteranceHandler = Callable[["VirtualPhone", Ear, Utterance], None]


class PhoneState(StrEnum):
    IDLE = "idle"
    DIALING = "dialing"  # it called one of our numbers, which rings
    RINGING = "ringing"  # our network calls it
    CONNECTED = "connected"


class PhoneBusyError(ConflictError):
    code = "PhoneBusy"


class SimCall:
    """A call between a virtual phone and our network; calling's handle for it (PhoneCall,
    and InboundPhoneCall when the phone placed it)."""

    def __init__(self, phone: VirtualPhone, caller: str, called: str) -> None:
        self.phone = phone
        self._caller = caller
        self._called = called
        self.listener: PhoneCallListener | None = None
        self.over = False

    @property
    def caller(self) -> str:
        return self._caller

    @property
    def called(self) -> str:
        return self._called

    def connect_media(self, leg: LocalLeg) -> None:
        if not self.over:
            self.phone.connected(self, leg)

    def answer(self, leg: LocalLeg) -> None:
        self.connect_media(leg)

    def hang_up(self) -> None:
        if not self.over:
            self.over = True
            self.phone.ended(self, m.REMOTE_HUNG_UP)

    def refuse(self, reason: EndReason) -> None:
        if not self.over:
            self.over = True
            self.phone.ended(self, reason)


class VirtualPhone:
    def __init__(
        self, number: str, clock: Clock, on_utterance: UtteranceHandler | None = None
    ) -> None:
        self.number = number
        self.rule = AnswerRule.AUTO
        self.answer_after_ms = 0
        self.transcribe = False  # recognise the speech it hears (from its next call on)
        self._on_utterance = on_utterance
        self.state = PhoneState.IDLE
        self.call: SimCall | None = None
        self.leg: LocalLeg | None = None
        self.ear: Ear | None = None
        self.last_result: EndReason | None = None
        self._clock = clock
        self._outgoing: deque[bytes] = deque()
        self._timer: asyncio.TimerHandle | None = None

    @property
    def peer(self) -> str | None:
        if self.call is None:
            return None
        return self.call.called if self.call.caller == self.number else self.call.caller

    # ── our network calls it ─────────────────────────────────────────────────────────

    def ring(self, call: SimCall) -> None:
        """``call.listener`` hears what happens (never inside this method)."""
        loop = asyncio.get_running_loop()
        listener = call.listener
        assert listener is not None
        if self.state is not PhoneState.IDLE or self.rule is AnswerRule.BUSY:
            call.over = True
            loop.call_soon(listener.failed, m.BUSY)
            return
        if self.rule is AnswerRule.DECLINE:
            call.over = True
            loop.call_soon(listener.failed, m.DECLINED)
            return
        self.state = PhoneState.RINGING
        self.call = call
        if isinstance(listener, RingingListener):
            loop.call_soon(listener.ringing)  # (before an answer, even an immediate one)
        if self.rule is AnswerRule.AUTO:
            self._timer = loop.call_later(self.answer_after_ms / 1000, self.answer)

    def answer(self) -> None:
        self._cancel_timer()
        if self.state is not PhoneState.RINGING or self.call is None:
            raise PhoneBusyError(f"{self.number} is not ringing.")
        listener = self.call.listener
        self.state = PhoneState.CONNECTED  # media comes with connect_media
        if listener is not None:
            listener.answered()

    # ── it calls us ──────────────────────────────────────────────────────────────────

    def dialing(self, call: SimCall) -> None:
        if self.state is not PhoneState.IDLE:
            raise PhoneBusyError(f"{self.number} is in a call already.")
        self.state = PhoneState.DIALING
        self.call = call
        self.last_result = None

    # ── either way ───────────────────────────────────────────────────────────────────

    def connected(self, call: SimCall, leg: LocalLeg) -> None:
        """The call's media is on ``leg``; again in the same call: the app moved the phone to
        another call (moveParticipants): the new leg replaces the old, the ear goes on."""
        if call is not self.call:
            return
        moved = self.state is PhoneState.CONNECTED and self.leg is not None
        if self.leg is not None:
            self.leg.listen_all(None)
        self.state = PhoneState.CONNECTED
        self.leg = leg
        if not moved or self.ear is None:
            self.ear = Ear(self._clock(), transcribe=self.transcribe)
        leg.listen_all(self._hear)

    def hang_up(self) -> None:
        call = self.call
        if call is None:
            raise PhoneBusyError(f"{self.number} is in no call.")
        call.over = True
        self._reset(m.HUNG_UP)
        if call.listener is not None:
            call.listener.ended()

    def ended(self, call: SimCall, reason: EndReason) -> None:
        """Our side hung up or refused."""
        if call is self.call:
            self._reset(reason)

    def say(self, frames: Iterable[bytes]) -> None:
        self._require_call()
        self._outgoing.extend(frames)

    def tick(self) -> None:
        if self.leg is not None and self._outgoing:
            self.leg.send_audio(self._outgoing.popleft())
        ear = self.ear
        if ear is not None:
            for utterance in ear.tick(self._clock()):
                if self._on_utterance is not None:
                    self._on_utterance(self, ear, utterance)

    # ── internals ────────────────────────────────────────────────────────────────────

    def _require_call(self) -> None:
        if self.state is not PhoneState.CONNECTED or self.leg is None:
            raise PhoneBusyError(f"{self.number} is in no connected call.")

    @property
    def queued_ms(self) -> int:
        """What it still has to say (or press): sent one 20 ms frame a tick."""
        return len(self._outgoing) * 20

    def _hear(self, publisher: str, pcm: bytes) -> None:
        ear = self.ear
        if ear is not None:
            utterance = ear.hear(publisher, pcm, self._clock())
            if utterance is not None and self._on_utterance is not None:
                self._on_utterance(self, ear, utterance)

    def _reset(self, reason: EndReason) -> None:
        self._cancel_timer()
        self.state = PhoneState.IDLE
        self.call = None
        self.last_result = reason
        self._outgoing.clear()
        if self.leg is not None:
            self.leg.listen_all(None)
            self.leg = None

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
