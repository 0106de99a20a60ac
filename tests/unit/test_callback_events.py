"""Callback events on the wire: ACS's CloudEvents array, readable by azure-core's CloudEvent
and by the Call Automation SDK's generated models (1.6.0)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from azure.communication.callautomation._generated.models import CallConnected
from azure.core.messaging import CloudEvent

from switchboard.automation.callbacks_events import (
    CallbackEvent,
    ResultInformation,
    render_batch,
)

NOW = 1_800_000_000.123
CONNECTED = CallbackEvent(
    "CallConnected",
    call_connection_id="conn-1",
    server_call_id="server:abc",
    correlation_id="corr-1",
    operation_context="ctx",
    result_information=ResultInformation(200, 0, "Call connected."),
)


def test_a_batch_is_an_array_of_acs_cloud_events() -> None:
    participants = {"participants": [], "sequenceNumber": 3}
    updated = CallbackEvent(
        "ParticipantsUpdated", "conn-1", "server:abc", "corr-1", extra=participants
    )
    items = json.loads(render_batch([CONNECTED, updated], time=NOW))
    assert [item["type"] for item in items] == [
        "Microsoft.Communication.CallConnected",
        "Microsoft.Communication.ParticipantsUpdated",
    ]
    first = items[0]
    assert first["source"] == first["subject"] == "calling/callConnections/conn-1"
    assert (first["specversion"], first["datacontenttype"]) == ("1.0", "application/json")
    assert first["time"] == "2027-01-15T08:00:00.123Z"
    assert re.fullmatch(r"[0-9a-f-]{36}", first["id"])
    assert first["id"] != items[1]["id"]
    assert first["data"] == {
        "callConnectionId": "conn-1",
        "serverCallId": "server:abc",
        "correlationId": "corr-1",
        "operationContext": "ctx",
        "resultInformation": {"code": 200, "subCode": 0, "message": "Call connected."},
        "version": "2026-03-12",
        "publicEventType": "Microsoft.Communication.CallConnected",
    }
    assert items[1]["data"]["sequenceNumber"] == 3
    assert "operationContext" not in items[1]["data"]


def test_each_item_parses_with_azure_core_and_the_sdk_models() -> None:
    [item] = json.loads(render_batch([CONNECTED], time=NOW))
    event: CloudEvent[Any] = CloudEvent.from_dict(item)
    assert event.type == "Microsoft.Communication.CallConnected"
    assert event.source == "calling/callConnections/conn-1"
    model = CallConnected.deserialize(event.data)
    assert (model.call_connection_id, model.server_call_id) == ("conn-1", "server:abc")
    assert (model.correlation_id, model.operation_context) == ("corr-1", "ctx")
    assert model.result_information is not None
    result = model.result_information
    assert (result.code, result.sub_code, result.message) == (200, 0, "Call connected.")


def test_extra_data_cannot_overwrite_the_common_fields() -> None:
    with pytest.raises(ValueError, match="callConnectionId"):
        CallbackEvent("PlayCompleted", "c", "s", "r", extra={"callConnectionId": "other"})


@pytest.mark.parametrize("name", ["", "callConnected", "Microsoft.Communication.X", "Call Ended"])
def test_event_names_are_acs_short_names(name: str) -> None:
    with pytest.raises(ValueError):
        CallbackEvent(name, "c", "s", "r")


def test_an_empty_batch_is_refused() -> None:
    with pytest.raises(ValueError):
        render_batch([], time=NOW)
