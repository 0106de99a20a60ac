"""Call connections: what Call Automation knows of one call it controls. Sans-I/O.

createCall / connect ─▶ Connecting ─first target answers / joined─▶ Connected
    ─hangUp (the app leaves) · terminate · everyone else left─▶ Disconnected
(a createCall whose every target fails: CreateCallFailed, then Disconnected)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from switchboard.core.errors import BadRequestError, NotFoundError
from switchboard.core.identifiers import CommunicationIdentifier


class CallConnectionState(StrEnum):
    """ACS ``CallConnectionStateModel`` (the values the SDK knows)."""

    UNKNOWN = "unknown"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    TRANSFERRING = "transferring"
    TRANSFER_ACCEPTED = "transferAccepted"
    DISCONNECTING = "disconnecting"
    DISCONNECTED = "disconnected"


class CallConnectionNotFoundError(NotFoundError):
    """An unknown (or forgotten) call connection id: ACS answers 404 NotFound."""


class CallParticipantNotFoundError(NotFoundError):
    """A participant that is not in the call."""


class InvitationNotFoundError(NotFoundError):
    """``cancelAddParticipant`` for an invitation that is not pending."""


class CallConnectionEndedError(BadRequestError):
    """An operation on a call that is over: a 4xx the SDK does not retry."""

    code = "CallNotActive"


class CallNotConnectedError(BadRequestError):
    """An operation that needs a connected call (e.g. a transfer while one is ringing)."""

    code = "CallNotConnected"


class InvalidCallbackUriError(BadRequestError):
    """ACS: "The field CallbackUri is invalid" (e.g. plain http in production)."""

    code = "InvalidCallbackUri"


class SourceCallerIdError(BadRequestError):
    """A call to a phone number needs a purchased number with outbound calling as caller id."""

    code = "InvalidSourceCallerId"


class AzureAiRequiredError(BadRequestError):
    """What needs Azure AI (e.g. summarizeCall): answered 400, which the SDK does not retry."""

    code = "NotSupported"


@dataclass(frozen=True, slots=True)
class Participant:
    """A participant as Call Automation reports it (``CallParticipant``)."""

    identifier: CommunicationIdentifier
    is_muted: bool = False
    is_on_hold: bool = False


class InvitationKind(StrEnum):
    CREATE = "create"  # one of createCall's targets: its failure can be CreateCallFailed
    ADD = "add"  # addParticipant
    TRANSFER = "transfer"  # transferToParticipant: when answered, the app leaves
    MOVE = "move"  # moveParticipants: a participant of another call rejoins this one


@dataclass(slots=True)
class Invitation:
    """A pending invitation: someone is ringing on the app's behalf."""

    invitation_id: str
    target: CommunicationIdentifier
    operation_context: str | None
    callback_uri: str  # operationCallbackUri, else the call's callbackUri
    kind: InvitationKind = InvitationKind.ADD
    transferee: CommunicationIdentifier | None = None
    from_call: str | None = None  # a move's source call connection id


@dataclass(slots=True)
class CallConnection:
    call_connection_id: str
    server_call_id: str
    correlation_id: str
    callback_uri: str
    state: CallConnectionState
    targets: tuple[CommunicationIdentifier, ...] = ()
    source: CommunicationIdentifier | None = None
    source_caller_id: str | None = None  # E.164
    source_display_name: str | None = None
    operation_context: str | None = None  # the createCall/answer/connect one
    answered_by: CommunicationIdentifier | None = None
    invitations: dict[str, Invitation] = field(default_factory=dict)
    participants: tuple[Participant, ...] = ()
    participants_sequence: int = 0  # ParticipantsUpdated.sequenceNumber

    @property
    def is_over(self) -> bool:
        return self.state in (CallConnectionState.DISCONNECTING, CallConnectionState.DISCONNECTED)

    def callback_for(self, operation_callback_uri: str | None) -> str:
        return operation_callback_uri or self.callback_uri


DEFAULT_INVITATION_TIMEOUT_SECONDS = 60.0
MAX_INVITATION_TIMEOUT_SECONDS = 180.0
GROUP_PREFIX = "group:"
ROOM_PREFIX = "room:"


@dataclass(frozen=True, slots=True)
class AddedParticipant:
    participant: Participant
    invitation_id: str
    operation_context: str | None


@dataclass(frozen=True, slots=True)
class CallLocator:
    """``callLocator`` of connect (and later recordings): which running call."""

    kind: str  # groupCallLocator | serverCallLocator | roomCallLocator
    id: str

    def server_call_id(self) -> str:
        if self.kind == "groupCallLocator":
            return GROUP_PREFIX + self.id
        if self.kind == "roomCallLocator":
            return ROOM_PREFIX + self.id
        return self.id


def invitation_timeout(seconds: float | None) -> float:
    if seconds is None or seconds == 0:
        return DEFAULT_INVITATION_TIMEOUT_SECONDS
    if not 0 < seconds <= MAX_INVITATION_TIMEOUT_SECONDS:
        raise BadRequestError(
            f"invitationTimeoutInSeconds must be between 0 and {MAX_INVITATION_TIMEOUT_SECONDS:g}.",
            target="invitationTimeoutInSeconds",
        )
    return seconds


@dataclass(frozen=True, slots=True)
class IncomingOffer:
    """A call ringing for someone an app answers for, held by ``owner_node``."""

    pending_id: str  # what the call plane knows the ringing call by
    server_call_id: str
    to: CommunicationIdentifier
    caller: CommunicationIdentifier
    caller_display_name: str
    correlation_id: str
    owner_node: str


@dataclass(frozen=True, slots=True)
class IncomingClaims:
    pending_id: str
    server_call_id: str
    owner_node: str
    to: CommunicationIdentifier
    caller: CommunicationIdentifier
    correlation_id: str
