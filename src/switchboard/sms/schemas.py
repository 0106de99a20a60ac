"""SMS wire shapes (api-version 2021-03-07 … 2026-01-23) and the simulator's admin shapes."""

from __future__ import annotations

from typing import Any

import msgspec

from switchboard.core.clock import iso8601
from switchboard.sms.models import OptOutResult, RecipientResult, SmsMessage
from switchboard.sms.simstore import InboxMessage


class SmsRecipient(msgspec.Struct, rename="camel"):
    to: str
    repeatability_request_id: str | None = None
    repeatability_first_sent: str | None = None


class SmsSendOptions(msgspec.Struct, rename="camel"):
    enable_delivery_report: bool = False
    tag: str | None = None
    validity_period_seconds: int | None = None
    delivery_report_timeout_in_seconds: int | None = None


class SendMessageRequest(
    msgspec.Struct,
    rename={"sender": "from", "recipients": "smsRecipients", "options": "smsSendOptions"},
):
    sender: str
    message: str
    recipients: list[SmsRecipient]
    options: SmsSendOptions | None = None


class OptOutRecipient(msgspec.Struct):
    to: str


class OptOutRequest(msgspec.Struct, rename={"sender": "from"}):
    sender: str
    recipients: list[OptOutRecipient]


class InjectInboundRequest(msgspec.Struct, rename={"sender": "from"}):
    sender: str
    to: str
    message: str


class HandsetRequest(msgspec.Struct, rename="camel"):
    delivery_report: str = "delivered"
    delay_seconds: float = 0.0


def send_result_json(result: RecipientResult) -> dict[str, Any]:
    body: dict[str, Any] = {
        "to": result.to,
        "httpStatusCode": result.http_status_code,
        "successful": result.successful,
    }
    if result.message_id is not None:
        body["messageId"] = result.message_id
    if result.repeatability_result is not None:
        body["repeatabilityResult"] = result.repeatability_result
    if result.error_message is not None:
        body["errorMessage"] = result.error_message
    return body


def opt_out_json(result: OptOutResult) -> dict[str, Any]:
    body: dict[str, Any] = {"to": result.to, "httpStatusCode": result.http_status_code}
    if result.is_opted_out is not None:
        body["isOptedOut"] = result.is_opted_out
    if result.error_message is not None:
        body["errorMessage"] = result.error_message
    return body


def delivery_report_json(message: SmsMessage) -> dict[str, Any]:
    done = iso8601((message.done_ms or message.created_ms) / 1000)
    body: dict[str, Any] = {
        "messageId": message.id,
        "from": message.sender,
        "to": message.recipient,
        "deliveryStatus": message.state.value.capitalize(),
        "deliveryStatusDetails": message.detail or "",
        "deliveryAttempts": [
            {
                "timestamp": done,
                "segmentsSucceeded": message.segments_delivered,
                "segmentsFailed": message.segments_failed,
            }
        ],
        "receivedTimestamp": done,
    }
    if message.tag is not None:
        body["tag"] = message.tag
    return body


def inbox_json(message: InboxMessage) -> dict[str, Any]:
    return {
        "id": message.carrier_message_id,
        "from": message.sender,
        "to": message.recipient,
        "message": message.text,
        "segments": message.segments,
        "receivedAt": iso8601(message.received_ms / 1000),
    }
