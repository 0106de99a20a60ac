"""Who is calling: the resource itself (HMAC key) or a user (bearer token)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from switchboard.core.errors import PermissionDeniedError


class PrincipalKind(StrEnum):
    ANONYMOUS = "anonymous"
    RESOURCE = "resource"  # holds an access key: may do anything on the data plane
    USER = "user"  # an ACS user with a token's scopes


@dataclass(frozen=True, slots=True)
class Principal:
    kind: PrincipalKind
    user_id: str | None = None
    scopes: frozenset[str] = frozenset()
    expires_at: float | None = None

    def require_scope(self, *accepted: str) -> None:
        """Raise unless the principal is the resource or holds one of ``accepted``."""
        if self.kind is PrincipalKind.RESOURCE:
            return
        if not self.scopes.intersection(accepted):
            raise PermissionDeniedError(
                f"The access token lacks a required scope (one of: {', '.join(accepted)})."
            )


ANONYMOUS = Principal(PrincipalKind.ANONYMOUS)
RESOURCE = Principal(PrincipalKind.RESOURCE)
