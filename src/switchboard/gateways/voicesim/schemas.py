"""The voice simulator's admin JSON (camelCase): requests in, a phone's status out."""

from __future__ import annotations

from typing import Any

import msgspec

from switchboard.calling.models import EndReason
from switchboard.gateways.voicesim.phone import VirtualPhone


class PhoneRequest(msgspec.Struct, rename="camel"):
    answer: str | None = None  # auto | manual | never | busy | decline
    answer_after_ms: int | None = None
    transcribe: bool | None = None  # recognise the speech it hears


class DialRequest(msgspec.Struct):
    to: str


class SayRequest(msgspec.Struct):
    text: str
    locale: str = "en-US"


class PressRequest(msgspec.Struct):
    keys: str


class ToneRequest(msgspec.Struct, rename="camel"):
    frequency_hz: float
    duration_ms: int = 1000


def _result(reason: EndReason | None) -> dict[str, Any] | None:
    if reason is None:
        return None
    return {"code": reason.code, "subCode": reason.sub_code, "message": reason.phrase}


def phone_json(phone: VirtualPhone) -> dict[str, Any]:
    ear = phone.ear
    heard: dict[str, Any] | None = None
    if ear is not None:
        heard = {
            "tones": "".join(ear.tones),
            "frames": ear.frames,
            "loudFrames": ear.loud_frames,
            "speaking": ear.speaking,
            "timeline": [{"atMs": c.at_ms, "speaking": c.speaking} for c in ear.timeline],
            "loudFrom": dict(ear.loud_from),
            "transcript": [
                {"atMs": w.at_ms, "endMs": w.end_ms, "from": w.publisher, "text": w.text}
                for w in ear.transcript
            ],
        }
    return {
        "number": phone.number,
        "answer": phone.rule.value,
        "answerAfterMs": phone.answer_after_ms,
        "transcribe": phone.transcribe,
        "state": phone.state.value,
        "participantId": None if phone.leg is None else phone.leg.participant_id,
        "queuedMs": phone.queued_ms,
        "peer": phone.peer,
        "lastResult": _result(phone.last_result),
        "heard": heard,
    }
