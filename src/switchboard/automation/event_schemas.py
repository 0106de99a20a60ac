"""Callback ``data`` as JSON: the service's domain values (participants, identifiers) rendered
the way ACS writes them (camelCase, CommunicationIdentifier JSON)."""

from __future__ import annotations

from typing import Any

from switchboard.automation.models import Participant
from switchboard.automation.ports import CallbackData
from switchboard.core.identifiers import CommunicationIdentifier
from switchboard.http.identifiers import identifier_to_json


def render_value(value: Any) -> Any:
    if isinstance(value, Participant):
        return {
            "identifier": identifier_to_json(value.identifier),
            "isMuted": value.is_muted,
            "isOnHold": value.is_on_hold,
        }
    if isinstance(value, CommunicationIdentifier):
        return identifier_to_json(value)
    if isinstance(value, list | tuple):
        return [render_value(item) for item in value]
    if isinstance(value, dict):
        return {key: render_value(item) for key, item in value.items()}
    return value


def data_json(event: CallbackData) -> dict[str, Any]:
    """The event's ``data``: the common fields, then its own (acs-wire-reference §10)."""
    body: dict[str, Any] = {
        "callConnectionId": event.call_connection_id,
        "serverCallId": event.server_call_id,
        "correlationId": event.correlation_id,
    }
    if event.operation_context is not None:
        body["operationContext"] = event.operation_context
    if event.result is not None:
        body["resultInformation"] = {
            "code": event.result.code,
            "subCode": event.result.sub_code,
            "message": event.result.message,
        }
    body.update({key: render_value(value) for key, value in event.data.items()})
    return body
