"""Turns a request's credential into a Principal: HMAC (the resource) or bearer (a user).

Token verification belongs to the identity domain; this module only needs something that
implements :class:`TokenVerifier`.
"""

from __future__ import annotations

from typing import Protocol

from starlette.requests import Request

from switchboard.core.errors import AuthenticationError
from switchboard.core.principal import RESOURCE, Principal
from switchboard.http.hmac import HmacVerifier
from switchboard.http.json import read_body


class TokenVerifier(Protocol):
    async def authenticate_token(self, token: str) -> Principal: ...


class Authenticator:
    def __init__(self, hmac: HmacVerifier, tokens: TokenVerifier) -> None:
        self._hmac = hmac
        self._tokens = tokens

    async def authenticate(
        self, request: Request, *, allow_hmac: bool, allow_bearer: bool
    ) -> Principal:
        # One pass over the raw headers: the HMAC verifier looks up ten or so of them, and
        # Starlette's Headers scans the whole list on every lookup. (Servers send names in
        # lower case; reversed, so a repeated header keeps its first value as Headers.get.)
        headers = {
            name.decode("latin-1"): value.decode("latin-1")
            for name, value in reversed(list(request.scope["headers"]))
        }
        header = headers.get("authorization")
        if not header:
            raise AuthenticationError("The request has no Authorization header.")
        scheme = header.split(" ", 1)[0].lower()
        if scheme == "hmac-sha256" and allow_hmac:
            body = await read_body(request)
            await self._hmac.verify(request.method, raw_target(request), headers, body)
            return RESOURCE
        if scheme == "bearer" and allow_bearer:
            token = header[len("bearer") :].strip()
            if not token:
                raise AuthenticationError("The bearer token is empty.")
            return await self._tokens.authenticate_token(token)
        expected = " or ".join(
            name for name, ok in (("HMAC-SHA256", allow_hmac), ("Bearer", allow_bearer)) if ok
        )
        raise AuthenticationError(f"This operation needs {expected} authentication.")


def raw_target(request: Request) -> str:
    """The request target exactly as the client sent it (path and query)."""
    scope = request.scope
    raw_path: bytes | None = scope.get("raw_path")
    path = raw_path.decode("latin-1") if raw_path else scope["path"]
    query: bytes = scope.get("query_string", b"")
    return f"{path}?{query.decode('latin-1')}" if query else path
