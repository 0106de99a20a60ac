"""Media operations through the service: what the endpoint is asked, what the app hears back."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from switchboard.automation.models import CallConnection, CallConnectionEndedError, Participant
from switchboard.automation.ports import EndReason, InviteAccepted
from switchboard.automation.service import CallAutomationService
from switchboard.automation.store_memory import MemoryCallConnectionStore
from switchboard.core.clock import FakeClock
from switchboard.core.errors import BadRequestError
from switchboard.media.audio.tones import DtmfTone
from switchboard.media.endpoint.models import (
    Choice,
    ContinuousDtmfStopped,
    ContinuousDtmfToneReceived,
    DtmfOptions,
    FileSource,
    Outcome,
    Play,
    PlayCompleted,
    PlayFailed,
    PlayStarted,
    Recognize,
    RecognizeCompleted,
    RecognizeInput,
    SendDtmfCompleted,
    TextSource,
)
from tests.unit.automation_fakes import (
    ALICE,
    FakeCallbacks,
    FakeCallerIds,
    FakeMedia,
    FakePlane,
    HttpsOnly,
)

pytestmark = pytest.mark.anyio

CALLBACK = "https://app.example/cb"
HELLO = TextSource("Hello, press one for sales.", locale="en-US")


@dataclass
class Rig:
    service: CallAutomationService
    plane: FakePlane
    callbacks: FakeCallbacks
    call: CallConnection

    @property
    def media(self) -> FakeMedia:
        return self.plane.media[self.call.server_call_id]

    async def hear(self, event: object) -> None:
        self.plane.listeners[self.call.server_call_id](event)  # type: ignore[arg-type]
        for _ in range(20):
            await asyncio.sleep(0)


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    counter = itertools.count(1)
    plane, callbacks = FakePlane(), FakeCallbacks()
    service = CallAutomationService(
        plane,
        callbacks,
        FakeCallerIds(),
        HttpsOnly(),
        MemoryCallConnectionStore(),
        FakeClock(),
        node_id="node-a",
        new_id=lambda: f"id{next(counter)}",
    )
    await service.start()
    call = await service.create_call([ALICE], CALLBACK)
    plane.listeners[call.server_call_id](InviteAccepted(plane.invites[0][2], Participant(ALICE)))
    rig = Rig(service, plane, callbacks, call)
    for _ in range(20):
        await asyncio.sleep(0)
    callbacks.sent.clear()
    yield rig
    await service.stop()


async def test_play_to_everyone_reports_started_then_completed_with_its_context(rig: Rig) -> None:
    await rig.service.media.play(
        rig.call, [HELLO], loop=True, operation_context="menu", operation_callback_uri=None
    )
    kind, asked = rig.media.asked[-1]
    assert kind == "play" and isinstance(asked, Play)
    assert asked.sources == (HELLO,) and asked.audience is None and asked.loop
    await rig.hear(PlayStarted(asked.operation_id))
    await rig.hear(PlayCompleted(asked.operation_id))
    assert rig.callbacks.types() == ["PlayStarted", "PlayCompleted"]
    assert {e.operation_context for _, _, e in rig.callbacks.sent} == {"menu"}
    await rig.hear(PlayCompleted(asked.operation_id))  # a second outcome is not reported
    assert len(rig.callbacks.sent) == 2


async def test_a_failed_play_names_its_source_and_goes_to_the_operation_callback(
    rig: Rig,
) -> None:
    await rig.service.media.play(
        rig.call,
        [HELLO, FileSource("https://files.example/menu.wav")],
        play_to=[ALICE.raw_id],
        operation_callback_uri="https://app.example/ops",
    )
    asked = rig.media.asked[-1][1]
    assert isinstance(asked, Play) and asked.audience == frozenset({ALICE.raw_id})
    outcome = Outcome(400, 8536, "Action failed, file could not be downloaded.")
    await rig.hear(PlayFailed(asked.operation_id, outcome, failed_source_index=1))
    _, url, failed = rig.callbacks.sent[-1]
    assert url == "https://app.example/ops" and failed.type == "PlayFailed"
    assert failed.result == EndReason(400, 8536, outcome.message)
    assert failed.data["failedPlaySourceIndex"] == 1


async def test_recognize_dtmf_reports_the_tones_by_their_acs_names(rig: Rig) -> None:
    request = Recognize(
        "", RecognizeInput.DTMF, ALICE.raw_id, prompts=(HELLO,), dtmf=DtmfOptions(max_tones=2)
    )
    await rig.service.media.recognize(rig.call, request, operation_context="pin")
    asked = rig.media.asked[-1][1]
    assert isinstance(asked, Recognize) and asked.operation_id and asked.prompts == (HELLO,)
    tones = (DtmfTone.ONE, DtmfTone.POUND)
    await rig.hear(RecognizeCompleted(asked.operation_id, "dtmf", tones=tones))
    done = rig.callbacks.sent[-1][2]
    assert done.type == "RecognizeCompleted" and done.operation_context == "pin"
    assert done.data == {"recognitionType": "dtmf", "dtmfResult": {"tones": ["one", "pound"]}}


async def test_recognize_choices_needs_choices_with_phrases(rig: Rig) -> None:
    with pytest.raises(BadRequestError):
        await rig.service.media.recognize(
            rig.call, Recognize("", RecognizeInput.CHOICES, ALICE.raw_id)
        )
    with pytest.raises(BadRequestError):
        choices = (Choice("sales", ()),)
        await rig.service.media.recognize(
            rig.call, Recognize("", RecognizeInput.CHOICES, ALICE.raw_id, choices=choices)
        )
    with pytest.raises(BadRequestError):
        await rig.service.media.recognize(
            rig.call,
            Recognize("", RecognizeInput.DTMF, ALICE.raw_id, dtmf=DtmfOptions(max_tones=0)),
        )
    assert rig.media.asked == []


async def test_continuous_dtmf_reports_each_tone_until_stopped(rig: Rig) -> None:
    await rig.service.media.start_continuous_dtmf(rig.call, ALICE.raw_id, operation_context="c")
    await rig.hear(ContinuousDtmfToneReceived(ALICE.raw_id, DtmfTone.FIVE, 1))
    await rig.hear(ContinuousDtmfToneReceived(ALICE.raw_id, DtmfTone.ASTERISK, 2))
    rig.service.media.stop_continuous_dtmf(rig.call, ALICE.raw_id)
    await rig.hear(ContinuousDtmfStopped(ALICE.raw_id))
    await rig.hear(ContinuousDtmfToneReceived(ALICE.raw_id, DtmfTone.SIX, 3))  # after: dropped
    assert rig.callbacks.types() == [
        "ContinuousDtmfRecognitionToneReceived",
        "ContinuousDtmfRecognitionToneReceived",
        "ContinuousDtmfRecognitionStopped",
    ]
    assert [e.data.get("tone") for _, _, e in rig.callbacks.sent[:2]] == ["five", "asterisk"]
    assert rig.media.asked == [("start_dtmf", ALICE.raw_id), ("stop_dtmf", ALICE.raw_id)]


async def test_send_dtmf_tones_is_bounded_and_reports_completion(rig: Rig) -> None:
    with pytest.raises(BadRequestError):
        await rig.service.media.send_dtmf(rig.call, [], ALICE.raw_id)
    await rig.service.media.send_dtmf(
        rig.call, [DtmfTone.ONE, DtmfTone.TWO], ALICE.raw_id, operation_context="dial"
    )
    kind, asked = rig.media.asked[-1]
    assert kind == "send_dtmf" and isinstance(asked, tuple)
    operation_id, tones, target = asked
    assert tones == (DtmfTone.ONE, DtmfTone.TWO) and target == ALICE.raw_id
    await rig.hear(SendDtmfCompleted(str(operation_id)))
    assert rig.callbacks.types() == ["SendDtmfTonesCompleted"]


async def test_bad_play_sources_are_refused_before_anything_plays(rig: Rig) -> None:
    for sources in ([], [TextSource("")], [TextSource("x" * 401)], [HELLO] * 11):
        with pytest.raises(BadRequestError):
            await rig.service.media.play(rig.call, sources)
    with pytest.raises(BadRequestError):  # the guard: an http file URL where https is required
        await rig.service.media.play(rig.call, [FileSource("http://files.example/a.wav")])
    assert rig.media.asked == []


async def test_media_operations_after_the_call_ended_are_refused(rig: Rig) -> None:
    await rig.service.hang_up(rig.call.call_connection_id)
    with pytest.raises(CallConnectionEndedError):
        rig.service.live(rig.call.call_connection_id)
    with pytest.raises(BadRequestError):  # its endpoint is detached
        await rig.service.media.play(rig.call, [HELLO])
