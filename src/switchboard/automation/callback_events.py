"""The mid-call events the service emits (acs-wire-reference §10): type name, common fields
and the event's own ``data`` keys. Values stay domain objects (``Participant``,
``CommunicationIdentifier``); event_schemas.py renders them as JSON when the callback is
written, and the CloudEvent envelope is callbacks.py's."""

from __future__ import annotations

from typing import Any

from switchboard.automation.models import CallConnection, Participant
from switchboard.automation.ports import CallbackData, EndReason

OK = EndReason(200, 0, "Action completed successfully.")


def event(
    name: str,
    call: CallConnection,
    *,
    operation_context: str | None = None,
    result: EndReason | None = None,
    **data: Any,
) -> CallbackData:
    return CallbackData(
        type=name,
        call_connection_id=call.call_connection_id,
        server_call_id=call.server_call_id,
        correlation_id=call.correlation_id,
        operation_context=operation_context,
        result=result,
        data=data,
    )


def call_connected(call: CallConnection) -> CallbackData:
    return event("CallConnected", call, operation_context=call.operation_context, result=OK)


def call_disconnected(call: CallConnection, reason: EndReason) -> CallbackData:
    return event("CallDisconnected", call, operation_context=call.operation_context, result=reason)


def create_call_failed(call: CallConnection, reason: EndReason) -> CallbackData:
    return event("CreateCallFailed", call, operation_context=call.operation_context, result=reason)


def connect_failed(call: CallConnection, reason: EndReason) -> CallbackData:
    return event("ConnectFailed", call, operation_context=call.operation_context, result=reason)


def participants_updated(call: CallConnection) -> CallbackData:
    return event(
        "ParticipantsUpdated",
        call,
        sequenceNumber=call.participants_sequence,
        participants=list(call.participants),
    )


def add_participant_succeeded(
    call: CallConnection, participant: Participant, operation_context: str | None
) -> CallbackData:
    return event(
        "AddParticipantSucceeded",
        call,
        operation_context=operation_context,
        result=OK,
        participant=participant.identifier,
    )


def add_participant_failed(
    call: CallConnection, target: Participant, operation_context: str | None, reason: EndReason
) -> CallbackData:
    return event(
        "AddParticipantFailed",
        call,
        operation_context=operation_context,
        result=reason,
        participant=target.identifier,
    )


def remove_participant_succeeded(
    call: CallConnection, participant: Participant, operation_context: str | None
) -> CallbackData:
    return event(
        "RemoveParticipantSucceeded",
        call,
        operation_context=operation_context,
        result=OK,
        participant=participant.identifier,
    )


def cancel_add_participant_succeeded(
    call: CallConnection, invitation_id: str, operation_context: str | None
) -> CallbackData:
    return event(
        "CancelAddParticipantSucceeded",
        call,
        operation_context=operation_context,
        result=OK,
        invitationId=invitation_id,
    )


def cancel_add_participant_failed(
    call: CallConnection, invitation_id: str, operation_context: str | None, reason: EndReason
) -> CallbackData:
    return event(
        "CancelAddParticipantFailed",
        call,
        operation_context=operation_context,
        result=reason,
        invitationId=invitation_id,
    )
