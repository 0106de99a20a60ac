"""Call Automation callback events, typed, and their wire form: ACS's CloudEvents array.

    CallbackEvent("CallConnected", call_connection_id, …) ─▶ render_batch([...], now)
        ─▶ b'[{"id", "source": "calling/callConnections/<id>", "type":
              "Microsoft.Communication.CallConnected", "specversion": "1.0", "datacontenttype",
              "time", "subject", "data": {callConnectionId, serverCallId, correlationId,
              operationContext, resultInformation, …extra, "version", "publicEventType"}}, …]'

A batch is rendered once, when it is queued: event ids and times are stable across retries,
so a receiver can de-duplicate on ``id``. Field names follow azure-communication-callautomation
1.6.0's generated models (``CallConnected``, ``ResultInformation``: ``code``, ``subCode``,
``message``); each item parses with ``azure.core.messaging.CloudEvent.from_dict``.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec

from switchboard.core.clock import iso8601

EVENT_TYPE_PREFIX = "Microsoft.Communication."
CALLBACK_API_VERSION = "2026-03-12"  # data.version, as ACS stamps its callbacks
CONTENT_TYPE = "application/json"
_NAME = re.compile(r"^[A-Z][A-Za-z0-9]{1,99}$")
_RESERVED_DATA_KEYS = frozenset(
    {
        "callConnectionId",
        "serverCallId",
        "correlationId",
        "operationContext",
        "resultInformation",
        "version",
        "publicEventType",
    }
)


@dataclass(frozen=True, slots=True)
class ResultInformation:
    """Why an operation ended as it did (ACS codes: 200/0 success, 400/8508 cancelled, …)."""

    code: int
    sub_code: int
    message: str

    def wire(self) -> dict[str, Any]:
        return {"code": self.code, "subCode": self.sub_code, "message": self.message}


@dataclass(frozen=True, slots=True)
class CallbackEvent:
    """One mid-call event. ``name`` is ACS's short name (``"CallConnected"``); ``extra`` holds
    the type's own data fields already in wire shape (camelCase keys, e.g. ``participants``,
    ``dtmfResult``), merged into ``data`` beside the common ones."""

    name: str
    call_connection_id: str
    server_call_id: str
    correlation_id: str
    operation_context: str | None = None
    result_information: ResultInformation | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ValueError(f"not an ACS callback event name: {self.name!r}")
        clash = _RESERVED_DATA_KEYS.intersection(self.extra)
        if clash:
            raise ValueError(f"extra data may not set {sorted(clash)}")

    @property
    def type(self) -> str:
        return EVENT_TYPE_PREFIX + self.name


def callback_source(call_connection_id: str) -> str:
    return f"calling/callConnections/{call_connection_id}"


def cloud_event(event: CallbackEvent, *, event_id: str, time: float) -> dict[str, Any]:
    """The event as ACS POSTs it (one item of the array)."""
    data: dict[str, Any] = {
        "callConnectionId": event.call_connection_id,
        "serverCallId": event.server_call_id,
        "correlationId": event.correlation_id,
    }
    if event.operation_context is not None:
        data["operationContext"] = event.operation_context
    if event.result_information is not None:
        data["resultInformation"] = event.result_information.wire()
    data.update(event.extra)
    data["version"] = CALLBACK_API_VERSION
    data["publicEventType"] = event.type
    source = callback_source(event.call_connection_id)
    return {
        "id": event_id,
        "source": source,
        "type": event.type,
        "specversion": "1.0",
        "datacontenttype": CONTENT_TYPE,
        "time": iso8601(time),
        "subject": source,
        "data": data,
    }


def render_batch(events: Sequence[CallbackEvent], *, time: float) -> bytes:
    """The body of one POST: a JSON array, each event with a fresh id."""
    if not events:
        raise ValueError("a callback batch needs at least one event")
    items = [cloud_event(e, event_id=str(uuid.uuid4()), time=time) for e in events]
    return msgspec.json.encode(items)
