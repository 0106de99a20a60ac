"""Identity domain model."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from switchboard.core.errors import BadRequestError

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


def parse_scopes(raw: Iterable[str]) -> tuple[TokenScope, ...]:
    """Validate and de-duplicate scopes, keeping their order; at least one is required."""
    scopes: list[TokenScope] = []
    for value in raw:
        scope = _SCOPES.get(value) or _SCOPES.get(value.strip().lower())
        if scope is None:
            allowed = ", ".join(s.value for s in TokenScope)
            raise BadRequestError(
                f"Invalid scope '{value}'. Allowed scopes: {allowed}.", code="InvalidScope"
            )
        if scope not in scopes:
            scopes.append(scope)
    if not scopes:
        raise BadRequestError("At least one scope is required.", code="InvalidScope")
    return tuple(scopes)


def token_minutes(value: int | None) -> int:
    if value is None:
        return DEFAULT_TOKEN_MINUTES
    if not MIN_TOKEN_MINUTES <= value <= MAX_TOKEN_MINUTES:
        raise BadRequestError(
            f"expiresInMinutes must be between {MIN_TOKEN_MINUTES} and {MAX_TOKEN_MINUTES}; "
            f"got {value}.",
            code="InvalidExpiresInMinutes",
        )
    return value


@dataclass(frozen=True, slots=True)
class Identity:
    id: str
    created_ms: int
    deleted_ms: int | None = None
    tokens_revoked_ms: int | None = None

    @property
    def is_deleted(self) -> bool:
        return self.deleted_ms is not None


@dataclass(frozen=True, slots=True)
class AccessToken:
    token: str
    expires_at: float  # epoch seconds
