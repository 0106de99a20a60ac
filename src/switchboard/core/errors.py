"""One error hierarchy for the whole server; each class carries an HTTP status and an ACS code.

Only ``switchboard.http.errors`` renders these as ``{"error": {"code", "message"}}``.
Statuses are deliberately never 408/429/5xx for deterministic failures: the Azure SDKs
retry those.

    SwitchboardError (500 InternalError)
    ├── BadRequestError (400 BadRequest)
    │   ├── InvalidApiVersionError (400 InvalidApiVersion / MissingApiVersionParameter)
    │   ├── NotSupportedError (400 NotSupported)
    │   ├── EndpointRefusedError (400 InvalidEndpoint: a webhook URL we will not call)
    │   └── EndpointValidationError (400 EndpointValidationFailed: webhook handshake failed)
    ├── AuthenticationError (401 Unauthorized)
    │   └── TokenRevokedError (401 TokenRevoked)
    ├── PermissionDeniedError (403 Forbidden)
    ├── NotFoundError (404 NotFound)
    │   ├── IdentityNotFoundError (404 IdentityNotFound)
    │   ├── ThreadNotFoundError (404 ThreadNotFound)
    │   ├── MessageNotFoundError (404 MessageNotFound)
    │   ├── RoomNotFoundError (404 NotFound, as ACS Rooms answers)
    │   ├── EventSubscriptionNotFoundError (404 EventSubscriptionNotFound)
    │   └── DeadLetterNotFoundError (404 DeadLetterNotFound)
    ├── MethodNotAllowedError (405 MethodNotAllowed)
    ├── ConflictError (409 Conflict)
    └── PayloadTooLargeError (413 RequestEntityTooLarge)

Domains subclass these next to their models, each with its own ACS code: numbers/models.py
(PhoneNumberNotFound, ReservationNotActive, InvalidCapabilities, …), sms/service.py
(InvalidSender, DeliveryReportNotFound), sms/carrier.py (CarrierUnavailable and
CarrierRejected: between the sender and a carrier only, never rendered to a client),
calling/errors.py (InvalidSignal, CallNotFound, InvalidCallState).

A second, separate family is for the operator, never for a client: what stops a node or a
shell command from starting. Each carries the process exit code; it is raised where the
problem is known (the config loader, the database, the bus, the listening socket) and printed
once, as one line, by cli.py. The codes are documented in docs/operations.md.

    StartupError (exit 1)
    ├── ConfigError (exit 2: a setting, option or config file that cannot work)
    ├── DataDirError (exit 3: the data directory is unusable, or holds no Switchboard data)
    ├── DatabaseUnavailableError (exit 4: cannot reach, log in to or find the database)
    │   └── DatabaseNotMigratedError (exit 4: production, and the schema is not the newest)
    ├── BusUnavailableError (exit 5: cannot reach Redis)
    └── ListenError (exit 6: cannot listen on the host and port)
"""

from __future__ import annotations

from typing import ClassVar


class SwitchboardError(Exception):
    """Base of every error the server reports to a client."""

    status: ClassVar[int] = 500
    code: ClassVar[str] = "InternalError"

    def __init__(
        self,
        message: str,
        *,
        target: str | None = None,
        code: str | None = None,
        details: tuple[SwitchboardError, ...] = (),
        inner: SwitchboardError | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.target = target
        self.error_code = code or self.code
        # ACS's nested ``details`` (Rooms names the bad field there, not at the top).
        self.details = details
        # ACS's ``innererror`` (SIP routing names the broken rule there).
        self.inner = inner


class BadRequestError(SwitchboardError):
    status = 400
    code = "BadRequest"


class InvalidApiVersionError(BadRequestError):
    code = "InvalidApiVersion"


class NotSupportedError(BadRequestError):
    code = "NotSupported"


class EndpointRefusedError(BadRequestError):
    """A webhook endpoint Switchboard will not call (bad URL, or an SSRF-protected address)."""

    code = "InvalidEndpoint"


class EndpointValidationError(BadRequestError):
    """The endpoint did not complete Event Grid's validation handshake."""

    code = "EndpointValidationFailed"


class AuthenticationError(SwitchboardError):
    status = 401
    code = "Unauthorized"


class TokenRevokedError(AuthenticationError):
    code = "TokenRevoked"


class PermissionDeniedError(SwitchboardError):
    status = 403
    code = "Forbidden"


class NotFoundError(SwitchboardError):
    status = 404
    code = "NotFound"


class IdentityNotFoundError(NotFoundError):
    code = "IdentityNotFound"


class ThreadNotFoundError(NotFoundError):
    code = "ThreadNotFound"


class MessageNotFoundError(NotFoundError):
    code = "MessageNotFound"


class RoomNotFoundError(NotFoundError):
    """ACS Rooms answers a plain ``NotFound`` code; the subclass is for callers to catch."""


class EventSubscriptionNotFoundError(NotFoundError):
    code = "EventSubscriptionNotFound"


class DeadLetterNotFoundError(NotFoundError):
    code = "DeadLetterNotFound"


class ConflictError(SwitchboardError):
    status = 409
    code = "Conflict"


class MethodNotAllowedError(SwitchboardError):
    status = 405
    code = "MethodNotAllowed"


class PayloadTooLargeError(SwitchboardError):
    status = 413
    code = "RequestEntityTooLarge"


class StartupError(Exception):
    """What stops the node or a shell command, said in one line an operator can act on.

    Not an HTTP error: it never reaches a client. ``message`` says what is wrong and what to
    do; ``exit_code`` is the process's exit status (docs/operations.md).
    """

    exit_code: ClassVar[int] = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigError(StartupError):
    """A setting that cannot work, found while loading or applying the configuration."""

    exit_code = 2


class DataDirError(StartupError):
    """The data directory is a file, cannot be written, or holds no Switchboard state."""

    exit_code = 3


class DatabaseUnavailableError(StartupError):
    """The database cannot be reached, refuses us, or does not exist."""

    exit_code = 4


class DatabaseNotMigratedError(DatabaseUnavailableError):
    """Production mode, and the database's schema is not the one this version needs."""


class BusUnavailableError(StartupError):
    """Redis (the bus of several nodes) cannot be reached."""

    exit_code = 5


class ListenError(StartupError):
    """The node cannot listen where it was told to (port in use, not a local address)."""

    exit_code = 6
