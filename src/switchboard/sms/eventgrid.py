"""The SMS integration events (``Microsoft.Communication.SMS*``), as ACS publishes them.

    SmsReceived               ─▶ Microsoft.Communication.SMSReceived
    SmsDeliveryReportReceived ─▶ Microsoft.Communication.SMSDeliveryReportReceived

ACS's schema says camelCase, but its samples and (by public reports) the live service send
PascalCase keys (``MessageId``, ``From``, …): we send PascalCase unless configured otherwise
(``sms_event_casing = "camel"``); consumers should read keys case-insensitively.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from switchboard.core.clock import iso8601
from switchboard.core.events import IntegrationEvent
from switchboard.core.sections import ConfigError
from switchboard.sms.events import SmsDeliveryReportReceived, SmsEvent, SmsReceived
from switchboard.sms.models import digits

SMS_RECEIVED = "Microsoft.Communication.SMSReceived"
SMS_DELIVERY_REPORT_RECEIVED = "Microsoft.Communication.SMSDeliveryReportReceived"


class EventCasing(StrEnum):
    PASCAL = "pascal"
    CAMEL = "camel"


def event_casing(value: str) -> EventCasing:
    """The ``sms_event_casing`` setting; ConfigError when it is neither."""
    try:
        return EventCasing(value.lower())
    except ValueError:
        raise ConfigError(f"sms_event_casing must be 'pascal' or 'camel', not {value!r}.") from None


class SmsEventRenderer:
    """SMS domain events ─▶ Event Grid integration events, in the configured key casing."""

    def __init__(self, casing: EventCasing = EventCasing.PASCAL) -> None:
        self.casing = casing

    def __call__(self, event: SmsEvent) -> IntegrationEvent:
        if isinstance(event, SmsReceived):
            return sms_received(event, self.casing)
        return delivery_report_received(event, self.casing)


def _cased(data: Mapping[str, Any], casing: EventCasing) -> dict[str, Any]:
    if casing is EventCasing.CAMEL:
        return dict(data)

    def pascal(key: str) -> str:
        return key[:1].upper() + key[1:]

    def convert(value: Any) -> Any:
        if isinstance(value, Mapping):
            return {pascal(k): convert(v) for k, v in value.items()}
        if isinstance(value, list):
            return [convert(v) for v in value]
        return value

    converted: dict[str, Any] = convert(data)
    return converted


def sms_received(event: SmsReceived, casing: EventCasing) -> IntegrationEvent:
    data = {
        "messageId": event.message_id,
        "from": event.sender,
        "to": event.recipient,
        "message": event.text,
        "receivedTimestamp": iso8601(event.received_ms / 1000),
        "segmentCount": event.segments,
    }
    return IntegrationEvent(
        type=SMS_RECEIVED,
        subject=f"/phonenumber/{digits(event.recipient)}",
        data=_cased(data, casing),
        time=event.received_ms / 1000,
    )


def delivery_report_received(
    event: SmsDeliveryReportReceived, casing: EventCasing
) -> IntegrationEvent:
    """The final receipt of an outbound message (sent only when a report was asked for)."""
    done = event.done_ms / 1000
    data: dict[str, Any] = {
        "messageId": event.message_id,
        "from": event.sender,
        "to": event.recipient,
        "deliveryStatus": event.outcome.value,
        "deliveryStatusDetails": event.detail,
        "deliveryAttempts": [
            {
                "timestamp": iso8601(done),
                "segmentsSucceeded": event.segments_delivered,
                "segmentsFailed": event.segments_failed or (0 if event.segments_delivered else 1),
            }
        ],
        "receivedTimestamp": iso8601(done),
    }
    if event.tag is not None:
        data["tag"] = event.tag
    return IntegrationEvent(
        type=SMS_DELIVERY_REPORT_RECEIVED,
        subject=f"/phonenumber/{digits(event.sender)}",
        data=_cased(data, casing),
        time=done,
    )
