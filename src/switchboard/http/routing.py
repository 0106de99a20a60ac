"""Routes for ACS APIs: case-insensitive, matched on the raw request target, ids percent-decoded.

An ACS endpoint is built from a handler ``(request, principal) -> response`` and a policy
(which credential, which api-versions); the wrapper runs the policy and then the handler:

    request ─▶ DispatchRouter (http/dispatch.py: only the routes sharing the first segment)
            ─▶ AcsRoute.matches (raw path, IGNORECASE) ─▶ api-version ─▶ auth ─▶ handler

Matching on ``raw_path`` keeps an id containing ``%2F`` one path segment; each parameter is
percent-decoded once after matching (``8%3Aacs%3Ax`` → ``8:acs:x``).
"""

from __future__ import annotations

import functools
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
from switchboard.http.apiversion import ApiVersions, normalize_api_version
from switchboard.http.auth import Authenticator

Handler = Callable[[Request, Principal], Awaitable[Response]]

# The scope key under which an ACS route leaves its ``api-supported-versions`` header.
SUPPORTED_VERSIONS_KEY = "switchboard.api_supported_versions"


class Auth(Enum):
    NONE = "none"
    HMAC = "hmac"  # the resource's access key
    BEARER = "bearer"  # a user access token
    ANY = "any"  # either


class AcsRoute(Route):
    """A route with its ACS policy (api-versions, credential) and a ``(request, principal)``
    handler. ``handle`` is every ACS request's path, so it does what Starlette's
    request_response would, minus the wrappers: errors are rendered by
    RequestContextMiddleware, and a plain Response is sent without another coroutine."""

    def __init__(
        self,
        path: str,
        handler: Handler,
        *,
        methods: Sequence[str],
        auth: Auth,
        authenticator: Authenticator | None = None,
        versions: ApiVersions | None = None,
        name: str | None = None,
    ) -> None:
        if auth is not Auth.NONE and authenticator is None:
            raise ValueError("an authenticated endpoint needs an authenticator")
        super().__init__(path, self.respond, methods=list(methods), name=name)
        self.path_regex = re.compile(self.path_regex.pattern, re.IGNORECASE)
        self._handler = handler
        self._versions = versions
        self._authenticator = authenticator if auth is not Auth.NONE else None
        self._allow_hmac = auth in (Auth.HMAC, Auth.ANY)
        self._allow_bearer = auth in (Auth.BEARER, Auth.ANY)

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
            if "%" in value:
                value = _unquote(value) if len(value) <= _CACHED_ID_LENGTH else unquote(value)
            params[key] = value
        child: Scope = {"endpoint": self.endpoint, "path_params": params}
        if self.methods and scope["method"] not in self.methods:
            return Match.PARTIAL, child
        return Match.FULL, child

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._versions is not None:  # RequestContextMiddleware adds it to the response
            scope[SUPPORTED_VERSIONS_KEY] = self._versions.header
        if self.methods and scope["method"] not in self.methods:
            raise MethodNotAllowedError(
                f"Method {scope['method']} is not allowed here; allowed: "
                f"{', '.join(sorted(self.methods))}."
            )
        response = await self.respond(Request(scope, receive, send))
        if type(response).__call__ is Response.__call__ and response.background is None:
            await send(
                {
                    "type": "http.response.start",
                    "status": response.status_code,
                    "headers": response.raw_headers,
                }
            )
            await send({"type": "http.response.body", "body": response.body})
        else:  # streaming, files, background tasks: the response knows how to send itself
            await response(scope, receive, send)

    async def respond(self, request: Request) -> Response:
        """Check the api-version and the credential, then run the handler."""
        if self._versions is not None:
            self._versions.check(api_version_of(request.scope.get("query_string", b"")))
        principal = ANONYMOUS
        if self._authenticator is not None:
            principal = await self._authenticator.authenticate(
                request, allow_hmac=self._allow_hmac, allow_bearer=self._allow_bearer
            )
        return await self._handler(request, principal)


_CACHED_ID_LENGTH = 256  # longer ids are decoded each time: the cache must stay small


@functools.lru_cache(maxsize=4096)
def _unquote(value: str) -> str:
    """Percent-decoding of path ids, remembered: the same ids come back request after
    request (``8%3Aacs%3A…``), and urllib's unquote is a few µs each time."""
    return unquote(value)


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
        handler,
        methods=methods,
        auth=auth,
        authenticator=authenticator,
        versions=versions,
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


def request_api_version(request: Request) -> str | None:
    """The request's api-version, normalised (``ApiVersion.V2025_03_13`` → ``2025-03-13``);
    what a ``nextLink`` or an ``Operation-Location`` should carry."""
    raw = api_version_of(request.scope.get("query_string", b""))
    return None if raw is None else normalize_api_version(raw)


def request_origin(request: Request) -> str:
    """``https://host:port`` as the client addressed us: what absolute links start with."""
    return str(request.base_url).rstrip("/")


_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


def request_authority(request: Request) -> str:
    """``scheme://netloc`` of ``request.url``, read off the scope without building the URL
    (a Starlette ``URL`` and a ``urlsplit`` per request: a few µs on a chat send's 201)."""
    scope = request.scope
    scheme: str = scope.get("scheme", "http")
    for name, value in scope["headers"]:
        if name == b"host":
            return f"{scheme}://{value.decode('latin-1')}"
    server = scope.get("server")
    if server is None:  # no Host, no server address: Starlette's URL is the bare path
        return "://"
    host, port = server
    if port == _DEFAULT_PORTS.get(scheme):
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


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
