"""Routes for ACS APIs: case-insensitive, matched on the raw request target, ids percent-decoded.

An ACS endpoint is built from a handler ``(request, principal) -> response`` and a policy
(which credential, which api-versions); the wrapper runs the policy and then the handler:

    request ─▶ AcsRoute.matches (raw path, IGNORECASE) ─▶ api-version ─▶ auth ─▶ handler

Matching on ``raw_path`` keeps an id containing ``%2F`` one path segment; each parameter is
percent-decoded once after matching (``8%3Aacs%3Ax`` → ``8:acs:x``).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from enum import Enum
from typing import Any
from urllib.parse import unquote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Route
from starlette.types import Receive, Scope, Send

from switchboard.core.errors import MethodNotAllowedError
from switchboard.core.principal import ANONYMOUS, Principal
from switchboard.http.apiversion import ApiVersions
from switchboard.http.auth import Authenticator

Handler = Callable[[Request, Principal], Awaitable[Response]]


class Auth(Enum):
    NONE = "none"
    HMAC = "hmac"  # the resource's access key
    BEARER = "bearer"  # a user access token
    ANY = "any"  # either


class AcsRoute(Route):
    def __init__(
        self,
        path: str,
        endpoint: Callable[[Request], Awaitable[Response]],
        *,
        methods: Sequence[str],
        name: str | None = None,
    ) -> None:
        super().__init__(path, endpoint, methods=list(methods), name=name)
        self._run = endpoint
        self.path_regex = re.compile(self.path_regex.pattern, re.IGNORECASE)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] != "http":
            return Match.NONE, {}
        raw_path: bytes | None = scope.get("raw_path")
        path = raw_path.decode("latin-1") if raw_path else scope["path"]
        match = self.path_regex.match(path)
        if match is None:
            return Match.NONE, {}
        params: dict[str, Any] = dict(scope.get("path_params", ()))
        for key, value in match.groupdict().items():
            params[key] = unquote(value) if "%" in value else value
        child: Scope = {"endpoint": self.endpoint, "path_params": params}
        if self.methods and scope["method"] not in self.methods:
            return Match.PARTIAL, child
        return Match.FULL, child

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.methods and scope["method"] not in self.methods:
            raise MethodNotAllowedError(
                f"Method {scope['method']} is not allowed here; allowed: "
                f"{', '.join(sorted(self.methods))}."
            )
        # What Starlette's request_response does, minus its exception-handler wrapper: errors
        # are rendered by RequestContextMiddleware, and this is every ACS request's path.
        response = await self._run(Request(scope, receive, send))
        await response(scope, receive, send)


def endpoint(
    handler: Handler,
    *,
    auth: Auth,
    authenticator: Authenticator | None = None,
    versions: ApiVersions | None = None,
) -> Callable[[Request], Awaitable[Response]]:
    """Wrap a handler with its api-version and credential policy."""
    if auth is not Auth.NONE and authenticator is None:
        raise ValueError("an authenticated endpoint needs an authenticator")

    async def run(request: Request) -> Response:
        if versions is not None:
            versions.check(api_version_of(request.scope.get("query_string", b"")))
        principal = ANONYMOUS
        if authenticator is not None and auth is not Auth.NONE:
            principal = await authenticator.authenticate(
                request,
                allow_hmac=auth in (Auth.HMAC, Auth.ANY),
                allow_bearer=auth in (Auth.BEARER, Auth.ANY),
            )
        return await handler(request, principal)

    return run


def route(
    path: str,
    handler: Handler,
    *,
    methods: Sequence[str],
    auth: Auth,
    authenticator: Authenticator | None = None,
    versions: ApiVersions | None = None,
) -> AcsRoute:
    return AcsRoute(
        path,
        endpoint(handler, auth=auth, authenticator=authenticator, versions=versions),
        methods=methods,
        name=getattr(handler, "__name__", None),
    )


RouteMaker = Callable[[str, Handler, str], AcsRoute]


def api_version_of(query_string: bytes) -> str | None:
    """The api-version parameter, without parsing the whole query string."""
    for part in query_string.split(b"&"):
        name, _, value = part.partition(b"=")
        if name == b"api-version":
            text = value.decode("latin-1")
            return unquote(text) if "%" in text else text
    return None


def routes_for(
    *, auth: Auth, authenticator: Authenticator, versions: ApiVersions | None = None
) -> RouteMaker:
    """One API's route maker: ``make(path, handler, method)`` with that API's policy."""

    def make(path: str, handler: Handler, method: str) -> AcsRoute:
        return route(
            path,
            handler,
            methods=[method],
            auth=auth,
            authenticator=authenticator,
            versions=versions,
        )

    return make
