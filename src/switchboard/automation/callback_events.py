"""The mid-call events the service emits (acs-wire-reference §10): type name, common fields
and the event's own ``data`` keys. Values stay domain objects (``Participant``,
``CommunicationIdentifier``); event_schemas.py renders them as JSON when the callback is
written, and the CloudEvent envelope is callbacks.py's."""

from __future__ import annotations

from typing import Any

from switchboard.automation.models import CallConnection, Participant
from switchboard.automation.ports import CallbackData, EndReason
from switchboard.core.identifiers import CommunicationIdentifier
from switchboard.media.endpoint.models import (
    ContinuousDtmfStopped,
    ContinuousDtmfToneReceived,
    MediaEvent,
    Outcome,
    PlayCanceled,
    PlayCompleted,
    PlayFailed,
    PlayStarted,
    RecognizeCanceled,
    RecognizeCompleted,
    RecognizeFailed,
    SendDtmfCompleted,
)

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


# --- the media endpoint's outcomes ------------------------------------------------------------


def _outcome(outcome: Outcome) -> EndReason:
    return EndReason(outcome.code, outcome.sub_code, outcome.message)


def media_event(call: CallConnection, event: MediaEvent, context: str | None) -> CallbackData:
    """The callback for one media endpoint event (acs-wire-reference §10)."""
    if isinstance(event, PlayStarted):
        return _media("PlayStarted", call, context, PLAY_OK)
    if isinstance(event, PlayCompleted):
        return _media("PlayCompleted", call, context, PLAY_OK)
    if isinstance(event, PlayFailed):
        extra = (
            {}
            if event.failed_source_index is None
            else {"failedPlaySourceIndex": event.failed_source_index}
        )
        return _media("PlayFailed", call, context, _outcome(event.outcome), **extra)
    if isinstance(event, PlayCanceled):
        return _media("PlayCanceled", call, context, CANCELED)
    if isinstance(event, RecognizeCompleted):
        return _media(
            "RecognizeCompleted", call, context, _outcome(event.outcome), **recognized(event)
        )
    if isinstance(event, RecognizeFailed):
        extra = (
            {}
            if event.failed_source_index is None
            else {"failedPlaySourceIndex": event.failed_source_index}
        )
        return _media("RecognizeFailed", call, context, _outcome(event.outcome), **extra)
    if isinstance(event, RecognizeCanceled):
        return _media("RecognizeCanceled", call, context, CANCELED)
    if isinstance(event, ContinuousDtmfToneReceived):
        return _media(
            "ContinuousDtmfRecognitionToneReceived",
            call,
            context,
            TONE_OK,
            tone=event.tone.acs_name,
            sequenceId=event.sequence_id,
        )
    if isinstance(event, ContinuousDtmfStopped):
        return _media("ContinuousDtmfRecognitionStopped", call, context, STOPPED)
    if isinstance(event, SendDtmfCompleted):
        return _media("SendDtmfTonesCompleted", call, context, OK)
    return _media("SendDtmfTonesFailed", call, context, _outcome(event.outcome))


def recognized(event: RecognizeCompleted) -> dict[str, Any]:
    if event.kind == "dtmf":
        return {
            "recognitionType": "dtmf",
            "dtmfResult": {"tones": [t.acs_name for t in event.tones]},
        }
    if event.kind == "choices":
        return {
            "recognitionType": "choices",
            "choiceResult": {
                "label": event.choice_label,
                "recognizedPhrase": event.recognized_phrase,
                "confidence": event.confidence,
            },
        }
    return {
        "recognitionType": "speech",
        "speechResult": {"speech": event.speech, "confidence": event.confidence},
    }


def _media(
    name: str, call: CallConnection, context: str | None, result: EndReason, **data: Any
) -> CallbackData:
    return event(name, call, operation_context=context, result=result, **data)


PLAY_OK = EndReason(200, 0, "Action completed successfully.")
TONE_OK = EndReason(200, 0, "Success")
CANCELED = EndReason(400, 8508, "Action failed, the operation was canceled.")
STOPPED = EndReason(200, 0, "Continuous DTMF recognition stopped.")


def transfer_accepted(
    call: CallConnection,
    target: Participant,
    transferee: CommunicationIdentifier | None,
    operation_context: str | None,
) -> CallbackData:
    data: dict[str, Any] = {"transferTarget": target.identifier}
    if transferee is not None:
        data["transferee"] = transferee
    return event(
        "CallTransferAccepted", call, operation_context=operation_context, result=OK, **data
    )


def transfer_failed(
    call: CallConnection, operation_context: str | None, reason: EndReason
) -> CallbackData:
    return event("CallTransferFailed", call, operation_context=operation_context, result=reason)
