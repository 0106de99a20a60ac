"""Delivered shapes: Event Grid schema and CloudEvents 1.0, as the official samples have them."""

from __future__ import annotations

import json

import msgspec
import pytest

from switchboard.events.envelopes import (
    CLOUD_EVENT_CONTENT_TYPE,
    EVENT_GRID_CONTENT_TYPE,
    VALIDATION_EVENT_TYPE,
    default_topic,
    delivery_body,
    validation_body,
)
from switchboard.events.models import DeliverySchema, StoredEvent

# From ../shared/acs-openapi/events/examples/cloud-events-schema/incoming_call.json (copied, so
# the tests need nothing outside the repository).
SAMPLE_CLOUD_EVENT_KEYS = {"id", "source", "subject", "data", "type", "specversion", "time"}
SAMPLE_SOURCE = (
    "/subscriptions/{subscription-id}/resourceGroups/{group-name}/providers/"
    "Microsoft.Communication/communicationServices/{communication-services-resource-name}"
)
TOPIC = default_topic("00000000-1111-2222-3333-444444444444")
DATA = b'{"messageBody":"hi","metadata":{"k":"v"},"version":1613694358927}'
EVENT = StoredEvent(
    seq=7,
    id="02272459-badb-4e2e-b538-4cb8a2f71da6",
    type="Microsoft.Communication.ChatMessageReceived",
    subject="thread/19:x@thread.v2/sender/8:acs:a/recipient/8:acs:b",
    data_json=DATA,
    data_version="1.0",
    event_time_ms=1_613_694_359_943,
    created_ms=1_613_694_360_000,
)


def test_event_grid_body_is_an_array_of_one_event() -> None:
    body, content_type = delivery_body(EVENT, DeliverySchema.EVENT_GRID, TOPIC)
    assert content_type == EVENT_GRID_CONTENT_TYPE
    [event] = json.loads(body)
    assert event == {
        "id": EVENT.id,
        "topic": TOPIC,
        "subject": EVENT.subject,
        "data": json.loads(DATA),
        "eventType": EVENT.type,
        "dataVersion": "1.0",
        "metadataVersion": "1",
        "eventTime": "2021-02-19T00:25:59.943Z",
    }


def test_cloud_event_body_is_one_structured_event() -> None:
    body, content_type = delivery_body(EVENT, DeliverySchema.CLOUD_EVENTS, TOPIC)
    assert content_type == CLOUD_EVENT_CONTENT_TYPE
    event = json.loads(body)
    assert event == {
        "id": EVENT.id,
        "source": TOPIC,
        "specversion": "1.0",
        "type": EVENT.type,
        "subject": EVENT.subject,
        "time": "2021-02-19T00:25:59.943Z",
        "data": json.loads(DATA),
    }


def test_data_is_embedded_byte_for_byte() -> None:
    body, _ = delivery_body(EVENT, DeliverySchema.EVENT_GRID, TOPIC)
    assert DATA in body


def test_cloud_event_has_the_keys_of_the_official_sample() -> None:
    body, _ = delivery_body(EVENT, DeliverySchema.CLOUD_EVENTS, TOPIC)
    assert set(json.loads(body)) == SAMPLE_CLOUD_EVENT_KEYS


def test_default_topic_is_an_arm_resource_id_like_the_samples() -> None:
    def fixed_parts(resource_id: str) -> list[str]:
        return resource_id.split("/")[1::2][:4] + resource_id.split("/")[6:7]

    assert fixed_parts(TOPIC) == fixed_parts(SAMPLE_SOURCE)
    assert len(TOPIC.split("/")) == len(SAMPLE_SOURCE.split("/"))


def test_validation_event_carries_the_code() -> None:
    [event] = msgspec.json.decode(validation_body("code-1", TOPIC, 1_800_000_000))
    assert event["eventType"] == VALIDATION_EVENT_TYPE
    assert event["data"] == {"validationCode": "code-1"}
    assert event["topic"] == TOPIC


@pytest.mark.parametrize("schema", list(DeliverySchema))
def test_body_ids_are_the_stored_event_id(schema: DeliverySchema) -> None:
    body, _ = delivery_body(EVENT, schema, TOPIC)
    decoded = json.loads(body)
    events = decoded if isinstance(decoded, list) else [decoded]
    assert [e["id"] for e in events] == [EVENT.id]
