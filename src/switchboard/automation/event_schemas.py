"""Callback ``data`` as JSON: the service's domain values (participants, identifiers) rendered
the way ACS writes them (camelCase, CommunicationIdentifier JSON); and the Event Grid
``Microsoft.Communication.IncomingCall`` event."""

from __future__ import annotations

from typing import Any

from switchboard.automation.callbacks_events import CallbackEvent, ResultInformation
from switchboard.automation.models import IncomingOffer, Participant
from switchboard.automation.ports import CallbackData
from switchboard.core.events import IntegrationEvent
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


def callback_event(event: CallbackData) -> CallbackEvent:
    """The service's event as the callbacks machinery sends it (its own data rendered)."""
    result = event.result
    return CallbackEvent(
        name=event.type,
        call_connection_id=event.call_connection_id,
        server_call_id=event.server_call_id,
        correlation_id=event.correlation_id,
        operation_context=event.operation_context,
        result_information=None
        if result is None
        else ResultInformation(result.code, result.sub_code, result.message),
        extra={key: render_value(value) for key, value in event.data.items()},
    )


def incoming_call_event(offer: IncomingOffer, context: str, now: float) -> IntegrationEvent:
    """ACS's AcsIncomingCallEventData; subject ``/caller/{from}/recipient/{to}``."""
    data = {
        "to": identifier_to_json(offer.to),
        "from": identifier_to_json(offer.caller),
        "serverCallId": offer.server_call_id,
        "callerDisplayName": offer.caller_display_name,
        "incomingCallContext": context,
        "correlationId": offer.correlation_id,
    }
    subject = f"/caller/{offer.caller.raw_id}/recipient/{offer.to.raw_id}"
    return IntegrationEvent("Microsoft.Communication.IncomingCall", subject, data, now)
