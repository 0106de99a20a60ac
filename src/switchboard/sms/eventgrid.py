"""The SMS integration events (``Microsoft.Communication.SMS*``), as ACS publishes them.

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
from switchboard.sms.models import SmsMessage, digits

SMS_RECEIVED = "Microsoft.Communication.SMSReceived"
SMS_DELIVERY_REPORT_RECEIVED = "Microsoft.Communication.SMSDeliveryReportReceived"


class EventCasing(StrEnum):
    PASCAL = "pascal"
    CAMEL = "camel"


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


def sms_received(message: SmsMessage, segments: int, casing: EventCasing) -> IntegrationEvent:
    data = {
        "messageId": message.id,
        "from": message.sender,
        "to": message.recipient,
        "message": message.text,
        "receivedTimestamp": iso8601(message.created_ms / 1000),
        "segmentCount": segments,
    }
    return IntegrationEvent(
        type=SMS_RECEIVED,
        subject=f"/phonenumber/{digits(message.recipient)}",
        data=_cased(data, casing),
        time=message.created_ms / 1000,
    )


def delivery_report_received(message: SmsMessage, casing: EventCasing) -> IntegrationEvent:
    """The final receipt of an outbound message (sent only when a report was asked for)."""
    done = (message.done_ms or message.created_ms) / 1000
    data: dict[str, Any] = {
        "messageId": message.id,
        "from": message.sender,
        "to": message.recipient,
        "deliveryStatus": message.state.value.capitalize(),
        "deliveryStatusDetails": message.detail or "",
        "deliveryAttempts": [
            {
                "timestamp": iso8601(done),
                "segmentsSucceeded": message.segments_delivered,
                "segmentsFailed": message.segments_failed
                or (0 if message.segments_delivered else 1),
            }
        ],
        "receivedTimestamp": iso8601(done),
    }
    if message.tag is not None:
        data["tag"] = message.tag
    return IntegrationEvent(
        type=SMS_DELIVERY_REPORT_RECEIVED,
        subject=f"/phonenumber/{digits(message.sender)}",
        data=_cased(data, casing),
        time=done,
    )
