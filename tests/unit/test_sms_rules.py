"""SMS rules without I/O: keywords, send rate, event shapes, ids."""

from __future__ import annotations

import pytest

from switchboard.core.config import ConfigError
from switchboard.sms.eventgrid import (
    EventCasing,
    SmsEventRenderer,
    delivery_report_received,
    event_casing,
    sms_received,
)
from switchboard.sms.events import SmsDeliveryReportReceived, SmsReceived
from switchboard.sms.keywords import Keyword, keyword_of
from switchboard.sms.models import Direction, MessageState, SmsMessage, is_e164, new_message_id
from switchboard.sms.ratelimit import SendRateLimiter


def message(**changes: object) -> SmsMessage:
    values: dict[str, object] = {
        "id": "Outgoing_1",
        "direction": Direction.OUTBOUND,
        "state": MessageState.DELIVERED,
        "sender": "+18005550100",
        "recipient": "+14255550123",
        "text": "hi",
        "tag": "t1",
        "want_report": True,
        "carrier": "simulator",
        "segments": 2,
        "segments_delivered": 2,
        "segments_failed": 0,
        "created_ms": 1_800_000_000_000,
        "done_ms": 1_800_000_001_000,
        "detail": "DELIVRD",
    }
    values.update(changes)
    return SmsMessage(**values)  # type: ignore[arg-type]


def test_opt_out_keywords_are_whole_message_and_case_insensitive() -> None:
    assert keyword_of("STOP") is Keyword.STOP
    assert keyword_of("  unsubscribe ") is Keyword.STOP
    assert keyword_of("Stop.") is Keyword.STOP
    assert keyword_of("start") is Keyword.START
    assert keyword_of("Help") is Keyword.HELP
    assert keyword_of("please stop sending") is None
    assert keyword_of("") is None


def test_rate_limiter_lets_a_burst_through_then_spaces_messages() -> None:
    limiter = SendRateLimiter(60, burst=2)  # one a second, two at once
    assert limiter.reserve("+1", 100.0) == 0
    assert limiter.reserve("+1", 100.0) == 0
    wait = limiter.reserve("+1", 100.0)
    assert 0.99 < wait <= 1.0
    assert limiter.reserve("+1", 100.0 + wait) == 0
    assert limiter.reserve("+2", 100.0) == 0  # numbers are paced independently


def test_refused_reservation_counts_nothing() -> None:
    limiter = SendRateLimiter(60, burst=1)
    assert limiter.reserve("+1", 0.0) == 0
    for _ in range(5):
        assert limiter.reserve("+1", 0.5) > 0
    assert limiter.reserve("+1", 1.0) == 0


def test_e164_numbers() -> None:
    assert is_e164("+14255550123")
    assert not is_e164("14255550123")
    assert not is_e164("+0123456789")
    assert not is_e164("+1425")


def test_message_ids_look_like_acs_ids() -> None:
    outgoing = new_message_id(Direction.OUTBOUND, 1_800_000_000.0)
    assert outgoing.startswith("Outgoing_20270115")
    assert new_message_id(Direction.INBOUND, 0).startswith("Incoming_19700101000000")


def test_delivery_report_event_is_pascal_case_by_default() -> None:
    event = delivery_report_received(SmsDeliveryReportReceived.of(message()), EventCasing.PASCAL)
    assert event.type == "Microsoft.Communication.SMSDeliveryReportReceived"
    assert event.subject == "/phonenumber/18005550100"
    assert event.data["MessageId"] == "Outgoing_1"
    assert event.data["DeliveryStatus"] == "Delivered"
    assert event.data["DeliveryAttempts"] == [
        {"Timestamp": "2027-01-15T08:00:01.000Z", "SegmentsSucceeded": 2, "SegmentsFailed": 0}
    ]
    assert event.data["Tag"] == "t1"


def test_failed_report_and_camel_case() -> None:
    failed = message(state=MessageState.FAILED, segments_delivered=0, segments=None)
    event = delivery_report_received(SmsDeliveryReportReceived.of(failed), EventCasing.CAMEL)
    assert event.data["deliveryStatus"] == "Failed"
    assert event.data["deliveryAttempts"][0]["segmentsFailed"] == 1


def test_received_event_names_our_number_in_the_subject() -> None:
    inbound = message(
        direction=Direction.INBOUND,
        state=MessageState.RECEIVED,
        sender="+14255550123",
        recipient="+18005550100",
        segments=1,
    )
    event = sms_received(SmsReceived.of(inbound), EventCasing.PASCAL)
    assert event.subject == "/phonenumber/18005550100"
    assert event.data["From"] == "+14255550123"
    assert event.data["SegmentCount"] == 1


def test_renderer_picks_the_event_type_and_keeps_the_configured_casing() -> None:
    render = SmsEventRenderer(event_casing("Camel"))
    inbound = message(direction=Direction.INBOUND, state=MessageState.RECEIVED)
    received = render(SmsReceived.of(inbound))
    report = render(SmsDeliveryReportReceived.of(message()))
    assert received.type == "Microsoft.Communication.SMSReceived"
    assert received.data["segmentCount"] == 2
    assert report.type == "Microsoft.Communication.SMSDeliveryReportReceived"
    assert report.data["deliveryStatusDetails"] == "DELIVRD"


def test_an_unknown_event_casing_is_a_configuration_error() -> None:
    with pytest.raises(ConfigError, match="sms_event_casing"):
        event_casing("snake")
