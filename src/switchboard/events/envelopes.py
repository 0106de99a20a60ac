"""What a subscriber receives: an event in the Event Grid schema or as a CloudEvent 1.0.

Event Grid schema: a JSON array (one event per request), ``aeg-event-type: Notification``::

    [{"id", "topic", "subject", "data", "eventType", "dataVersion", "metadataVersion": "1",
      "eventTime"}]

CloudEvents 1.0, structured mode, one event per request
(``Content-Type: application/cloudevents+json; charset=utf-8``)::

    {"id", "source", "specversion": "1.0", "type", "subject", "time", "data"}

``topic``/``source`` is the resource's ARM id. ``data`` is embedded exactly as the producer
encoded it (msgspec.Raw), never re-serialised.
"""

from __future__ import annotations

import uuid
from typing import Any

import msgspec

from switchboard.core.clock import iso8601
from switchboard.events.models import DeliverySchema, StoredEvent

EVENT_GRID_CONTENT_TYPE = "application/json; charset=utf-8"
CLOUD_EVENT_CONTENT_TYPE = "application/cloudevents+json; charset=utf-8"
VALIDATION_EVENT_TYPE = "Microsoft.EventGrid.SubscriptionValidationEvent"

_encoder = msgspec.json.Encoder()


def default_topic(resource_id: str) -> str:
    """The ARM-style id of a Switchboard resource when ``events_topic`` is not configured."""
    return (
        f"/subscriptions/{resource_id}/resourceGroups/switchboard/providers/"
        "Microsoft.Communication/communicationServices/switchboard"
    )


def event_grid_event(event: StoredEvent, topic: str) -> dict[str, Any]:
    return {
        "id": event.id,
        "topic": topic,
        "subject": event.subject,
        "data": msgspec.Raw(event.data_json),
        "eventType": event.type,
        "dataVersion": event.data_version,
        "metadataVersion": "1",
        "eventTime": iso8601(event.event_time_ms / 1000),
    }


def cloud_event(event: StoredEvent, source: str) -> dict[str, Any]:
    return {
        "id": event.id,
        "source": source,
        "specversion": "1.0",
        "type": event.type,
        "subject": event.subject,
        "time": iso8601(event.event_time_ms / 1000),
        "data": msgspec.Raw(event.data_json),
    }


def envelope(event: StoredEvent, schema: DeliverySchema, topic: str) -> dict[str, Any]:
    """The event as one subscriber sees it (also what dead-letter listings show)."""
    if schema is DeliverySchema.CLOUD_EVENTS:
        return cloud_event(event, topic)
    return event_grid_event(event, topic)


def delivery_body(event: StoredEvent, schema: DeliverySchema, topic: str) -> tuple[bytes, str]:
    """The request body and its content type."""
    if schema is DeliverySchema.CLOUD_EVENTS:
        return _encoder.encode(cloud_event(event, topic)), CLOUD_EVENT_CONTENT_TYPE
    return _encoder.encode([event_grid_event(event, topic)]), EVENT_GRID_CONTENT_TYPE


def validation_body(code: str, topic: str, now: float) -> bytes:
    """Event Grid's handshake event; the receiver must answer ``{"validationResponse": code}``."""
    event = {
        "id": str(uuid.uuid4()),
        "topic": topic,
        "subject": "",
        "data": {"validationCode": code},
        "eventType": VALIDATION_EVENT_TYPE,
        "eventTime": iso8601(now),
        "metadataVersion": "1",
        "dataVersion": "1",
    }
    return _encoder.encode([event])
