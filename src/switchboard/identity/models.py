"""Identity domain model."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from switchboard.core.errors import AuthenticationError, BadRequestError

MIN_TOKEN_MINUTES = 60
MAX_TOKEN_MINUTES = 1440
DEFAULT_TOKEN_MINUTES = 1440


class TokenScope(StrEnum):
    CHAT = "chat"
    VOIP = "voip"
    CHAT_JOIN = "chat.join"
    CHAT_JOIN_LIMITED = "chat.join.limited"
    VOIP_JOIN = "voip.join"


_SCOPES = {scope.value: scope for scope in TokenScope}  # a dict lookup, not an enum call


MAX_CUSTOM_ID_LENGTH = 256


class IdentityNotOwnedError(AuthenticationError):
    """A user id of another ACS resource: ACS answers 401 IdentityNotOwned."""

    code = "IdentityNotOwned"


def validation_error(message: str, target: str) -> BadRequestError:
    """ACS Identity's 400: code ``ValidationError``, the field (PascalCase) as the target."""
    return BadRequestError(message, code="ValidationError", target=target)


def parse_scopes(raw: Iterable[str] | None, target: str = "Scopes") -> tuple[TokenScope, ...]:
    """Validate and de-duplicate scopes, keeping their order; at least one is required."""
    scopes: list[TokenScope] = []
    for value in raw or ():
        scope = _SCOPES.get(value) or _SCOPES.get(value.strip().lower())
        if scope is None:
            allowed = ", ".join(s.value for s in TokenScope)
            raise validation_error(f"Invalid scope '{value}'. Allowed scopes: {allowed}.", target)
        if scope not in scopes:
            scopes.append(scope)
    if not scopes:
        raise validation_error(f"{target}: The {target} field is required.", target)
    return tuple(scopes)


def token_minutes(value: int | None) -> int:
    if value is None:
        return DEFAULT_TOKEN_MINUTES
    if not MIN_TOKEN_MINUTES <= value <= MAX_TOKEN_MINUTES:
        raise validation_error(
            f"ExpiresInMinutes value {value} is invalid. Value must be within the "
            f"[{MIN_TOKEN_MINUTES}, {MAX_TOKEN_MINUTES}] interval.",
            "ExpiresInMinutes",
        )
    return value


def check_custom_id(value: str) -> str:
    if not value.strip() or len(value) > MAX_CUSTOM_ID_LENGTH:
        raise validation_error(
            f"CustomId must have 1 to {MAX_CUSTOM_ID_LENGTH} characters.", "CustomId"
        )
    return value


def resource_of(identity_id: str) -> str | None:
    """The resource part of ``8:acs:<resource>_<uuid>`` (None for any other shape)."""
    if not identity_id.startswith("8:acs:"):
        return None
    resource, separator, _ = identity_id[6:].partition("_")
    return resource if separator else None


@dataclass(frozen=True, slots=True)
class Identity:
    id: str
    created_ms: int
    deleted_ms: int | None = None
    tokens_revoked_ms: int | None = None
    custom_id: str | None = None  # the app's own key for the user (api-version 2025-03-02-preview)
    last_token_issued_ms: int | None = None  # to the minute (see IdentityService.issue_token)

    @property
    def is_deleted(self) -> bool:
        return self.deleted_ms is not None


@dataclass(frozen=True, slots=True)
class AccessToken:
    token: str
    expires_at: float  # epoch seconds
