"""SMS: messages and their lifecycle, send requests and per-recipient outcomes.

Outbound:  queued ──submit ok──▶ submitted ──all segments reported──▶ delivered | failed
              │                                                   (any segment failed: failed)
              └──carrier refused / expired──▶ failed
Inbound:   received (final on arrival)
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from switchboard.core.errors import BadRequestError

MAX_RECIPIENTS = 100
MAX_MESSAGE_CHARS = 2048

_E164 = re.compile(r"^\+[1-9]\d{6,14}$")


def is_e164(number: str) -> bool:
    return _E164.match(number) is not None


def check_text(text: str, target: str = "message") -> None:
    """Refuse at the door a text that no carrier could ever take (POST /sms and the
    simulator's handsets share the limits); BadRequestError names ``target``."""
    if not text:
        raise BadRequestError("The message is empty.", target=target)
    if len(text) > MAX_MESSAGE_CHARS:
        raise BadRequestError(
            f"The message is longer than {MAX_MESSAGE_CHARS} characters.", target=target
        )


def digits(number: str) -> str:
    return number.lstrip("+")


def new_message_id(direction: Direction, now: float) -> str:
    """ACS-looking ids: ``Outgoing_<yyyyMMddHHmmss><guid>`` / ``Incoming_...``."""
    stamp = datetime.fromtimestamp(now, UTC).strftime("%Y%m%d%H%M%S")
    prefix = "Outgoing" if direction is Direction.OUTBOUND else "Incoming"
    return f"{prefix}_{stamp}{uuid.uuid4()}"


class Direction(StrEnum):
    OUTBOUND = "outbound"
    INBOUND = "inbound"


class MessageState(StrEnum):
    QUEUED = "queued"
    SUBMITTED = "submitted"
    DELIVERED = "delivered"
    FAILED = "failed"
    RECEIVED = "received"


class MessageOrigin(StrEnum):
    API = "api"  # POST /sms
    KEYWORD_REPLY = "keyword_reply"  # our automatic answer to STOP/START/HELP
    NETWORK = "network"  # inbound, from a carrier


@dataclass(frozen=True, slots=True)
class SendOptions:
    enable_delivery_report: bool = False
    tag: str | None = None


@dataclass(frozen=True, slots=True)
class RecipientRequest:
    to: str
    repeatability_request_id: str | None = None


@dataclass(frozen=True, slots=True)
class RecipientResult:
    to: str
    message_id: str | None
    http_status_code: int
    successful: bool
    repeatability_result: str | None = None  # "accepted" | "rejected" when an id was given
    error_message: str | None = None


@dataclass(frozen=True, slots=True)
class QueuedMessage:
    """An outbound message as the sender sees it when it has claimed it."""

    id: str
    carrier: str
    sender: str
    recipient: str
    text: str
    want_report: bool
    created_ms: int
    claim: str


@dataclass(frozen=True, slots=True)
class SmsMessage:
    id: str
    direction: Direction
    state: MessageState
    sender: str
    recipient: str
    text: str
    tag: str | None
    want_report: bool
    carrier: str
    segments: int | None
    segments_delivered: int
    segments_failed: int
    created_ms: int
    done_ms: int | None
    detail: str | None


@dataclass(frozen=True, slots=True)
class OptOutResult:
    to: str
    http_status_code: int
    is_opted_out: bool | None = None
    error_message: str | None = None
