"""Identity wire shapes (api-version 2023-10-01 and later): the only place with camelCase."""

from __future__ import annotations

import functools
from typing import Any

import msgspec

from switchboard.core.clock import iso8601
from switchboard.core.principal import Principal
from switchboard.http.identifiers import user_identifier_json
from switchboard.identity.models import AccessToken, Identity

# customId and lastTokenIssuedAt came with 2025-03-02-preview; older versions answer {id}.
_WITHOUT_CUSTOM_ID = frozenset(
    {
        "2021-03-07",
        "2021-10-31-preview",
        "2021-11-01",
        "2022-06-01",
        "2022-10-01",
        "2023-08-01",
        "2023-10-01",
    }
)


class CreateIdentityRequest(msgspec.Struct, rename="camel"):
    create_token_with_scopes: list[str] | None = None
    expires_in_minutes: int | None = None
    custom_id: str | None = None


class IssueTokenRequest(msgspec.Struct, rename="camel"):
    scopes: list[str] | None = None  # missing: ACS's ValidationError naming Scopes, not a 400
    expires_in_minutes: int | None = None


def token_json(token: AccessToken) -> dict[str, Any]:
    return {"token": token.token, "expiresOn": _expires_on(token.expires_at)}


@functools.lru_cache(maxsize=16)
def _expires_on(expires_at: float) -> str:
    """Tokens issued in the same second share their expiry: format it once."""
    return iso8601(expires_at)


def identity_json(identity: Identity, api_version: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {"id": identity.id}
    if api_version in _WITHOUT_CUSTOM_ID:
        return body
    if identity.custom_id is not None:
        body["customId"] = identity.custom_id
    if identity.last_token_issued_ms is not None:
        body["lastTokenIssuedAt"] = iso8601(identity.last_token_issued_ms / 1000)
    return body


def created_identity_json(
    identity: Identity, token: AccessToken | None, api_version: str | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"identity": identity_json(identity, api_version)}
    if token is not None:
        body["accessToken"] = token_json(token)
    return body


def me_json(principal: Principal) -> dict[str, Any]:
    """``GET /me``: Switchboard's own route (docs/api.md)."""
    return {
        "identity": user_identifier_json(principal.user_id or ""),
        "scopes": sorted(principal.scopes),
        "expiresOn": iso8601(principal.expires_at) if principal.expires_at else None,
    }
