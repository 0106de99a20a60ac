"""The service's callback events as the app receives them: ACS CloudEvents it can parse."""

from __future__ import annotations

import json

from azure.core.messaging import CloudEvent

from switchboard.automation import callback_events as events
from switchboard.automation.callbacks_events import render_batch
from switchboard.automation.event_schemas import callback_event
from switchboard.automation.models import CallConnection, CallConnectionState, Participant
from switchboard.automation.ports import CallbackData
from switchboard.core.identifiers import identifier_from_raw_id
from switchboard.media.audio.tones import DtmfTone
from switchboard.media.endpoint.models import RecognizeCompleted

ALICE = identifier_from_raw_id("8:acs:res_alice")
PHONE = identifier_from_raw_id("4:+14255550123")


def call() -> CallConnection:
    made = CallConnection(
        "cc-1", "server:abc", "corr-1", "https://app.example/cb", CallConnectionState.CONNECTED
    )
    made.participants = (Participant(ALICE, is_muted=True), Participant(PHONE))
    made.participants_sequence = 3
    return made


def parsed(data: CallbackData) -> dict[str, object]:
    batch = json.loads(render_batch([callback_event(data)], time=1_800_000_000.0))
    cloud: CloudEvent[object] = CloudEvent.from_dict(batch[0])
    assert cloud.type == f"Microsoft.Communication.{data.type}"
    assert isinstance(cloud.data, dict)
    return cloud.data


def test_participants_updated_lists_identifiers_as_acs_writes_them() -> None:
    data = parsed(events.participants_updated(call()))
    assert data["callConnectionId"] == "cc-1" and data["serverCallId"] == "server:abc"
    assert data["sequenceNumber"] == 3
    assert data["participants"] == [
        {
            "identifier": {
                "rawId": ALICE.raw_id,
                "kind": "communicationUser",
                "communicationUser": {"id": ALICE.raw_id},
            },
            "isMuted": True,
            "isOnHold": False,
        },
        {
            "identifier": {
                "rawId": PHONE.raw_id,
                "kind": "phoneNumber",
                "phoneNumber": {"value": "+14255550123"},
            },
            "isMuted": False,
            "isOnHold": False,
        },
    ]


def test_recognize_completed_carries_the_tones_and_its_result_code() -> None:
    done = RecognizeCompleted("op", "dtmf", tones=(DtmfTone.ONE, DtmfTone.POUND))
    data = parsed(events.media_event(call(), done, "menu"))
    assert data["operationContext"] == "menu"
    assert data["recognitionType"] == "dtmf"
    assert data["dtmfResult"] == {"tones": ["one", "pound"]}
    assert data["resultInformation"] == {
        "code": 200,
        "subCode": 8531,
        "message": "Action completed, max digits received.",
    }
