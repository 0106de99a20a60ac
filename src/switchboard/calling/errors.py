"""Calling's errors: leaves of the one hierarchy in core/errors.py, with ACS-style codes.

    BadRequestError ── InvalidSignalError (400 InvalidSignal: a malformed or unknown message)
    NotFoundError ──── CallNotFoundError (404 CallNotFound: no such call for this device)
                       CallParticipantNotFoundError (404 ParticipantNotFound: a server call's)
    ConflictError ──── CallStateError (409 InvalidCallState: not allowed in the call's state)
                       └── CallFullError (409 ParticipantLimitReached, in group.py)
    PermissionDeniedError ─ CallPermissionError (403 Forbidden: the room role does not allow it;
                       CallNotAllowed: a voip.join token starting a call, a closed room)
    BadRequestError ── InvalidCallerIdError (400 InvalidAlternateCallerId: a call to a phone
                       number from a number that is not ours with outbound calling)
    NotSupportedError ─ (400 NotSupported: e.g. more than one target before group calls)

Over the signaling socket they travel in a failed ack: ``{"type":"ack","ok":false,
"error":{"code","message"}}`` (docs/calling-protocol.md).
"""

from __future__ import annotations

from switchboard.core.errors import (
    BadRequestError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
)


class InvalidSignalError(BadRequestError):
    code = "InvalidSignal"


class CallNotFoundError(NotFoundError):
    code = "CallNotFound"


class CallStateError(ConflictError):
    code = "InvalidCallState"


class CallPermissionError(PermissionDeniedError):
    code = "Forbidden"


class CallNotAllowedError(PermissionDeniedError):
    code = "CallNotAllowed"


class CallParticipantNotFoundError(NotFoundError):
    code = "ParticipantNotFound"


class InvalidCallerIdError(BadRequestError):
    code = "InvalidAlternateCallerId"
