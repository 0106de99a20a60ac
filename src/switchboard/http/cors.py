"""CORS for the routes a browser SDK calls with a user token (docs/api.md, "CORS").

A web app is served from its own origin, so each call its page makes to the chat REST API
(``@azure/communication-chat`` in a browser, or plain ``fetch``) is cross-origin: the browser
sends a preflight ``OPTIONS`` first and reads the answer only if it carries
``Access-Control-Allow-Origin``. This pure ASGI layer sits outside everything else, so error
answers (401, 404, …) carry the headers too and the SDK can read their ACS error body.

    request ─▶ covered path (/chat/…, /me)?  no ─▶ app, untouched
               │ yes, with an Origin header
               ├─ OPTIONS + Access-Control-Request-Method ─▶ origin, method and every
               │     requested header allowed? 204 + Allow-* headers : 403 ACS error
               └─ any other request ─▶ app; its response gains Allow-Origin (origin allowed)

Origins come from ``cors_allowed_origins`` (config file or environment); an empty list means
any origin in development mode and none in production. The headers allowed are those the
Azure SDKs send (``authorization``, ``content-type``, every ``x-ms-*``, the repeatability
headers, tracing). No credentials mode: ACS user tokens travel in ``Authorization``, never
in cookies, so ``Access-Control-Allow-Credentials`` is never sent.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from switchboard.core.errors import PermissionDeniedError
from switchboard.core.sections import ConfigError
from switchboard.http.errors import error_body

ANY_ORIGIN = "*"
ALLOWED_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
ALLOWED_HEADERS = frozenset(
    {
        "accept",
        "accept-language",
        "authorization",
        "content-type",
        "if-match",
        "if-none-match",
        "repeatability-first-sent",
        "repeatability-request-id",
        "request-id",
        "traceparent",
        "tracestate",
        "user-agent",
        "x-skypetoken",  # ACS's real-time channel (chat/trouter) authenticates with it
    }
)
ALLOWED_HEADER_PREFIX = "x-ms-"  # x-ms-client-request-id, x-ms-useragent, x-ms-date, …
# What an SDK reads from a response: ACS's own "*" plus the names, for browsers that do not
# take the wildcard (it does not apply to credentialed requests).
EXPOSED_HEADERS = (
    "*, Location, Operation-Location, Retry-After, MS-CV, api-supported-versions,"
    " Repeatability-Result, x-ms-client-request-id, x-ms-request-id, x-ms-error-code"
)
PREFLIGHT_MAX_AGE_SECONDS = 600


def normalize_origin(origin: str) -> str:
    """``scheme://host[:port]`` in lower case, default ports and any path dropped."""
    if origin == ANY_ORIGIN:
        return origin
    parts = urlsplit(origin.strip())
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if not scheme or not host:
        raise ValueError(f"not an origin (scheme://host[:port]): {origin!r}")
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    if port is None or (scheme, port) in (("https", 443), ("http", 80)):
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


class CorsPolicy:
    """Which origins may call; ``CorsPolicy.configured`` reads the operator's setting."""

    def __init__(self, origins: Iterable[str]) -> None:
        normalized = {normalize_origin(origin) for origin in origins}
        self.any_origin = ANY_ORIGIN in normalized
        self._origins = frozenset(normalized - {ANY_ORIGIN})

    @classmethod
    def configured(cls, origins: Sequence[str], *, development: bool) -> CorsPolicy:
        if not origins:
            return cls([ANY_ORIGIN] if development else [])
        try:
            return cls(origins)
        except ValueError as exc:
            raise ConfigError(f"cors_allowed_origins: {exc}") from exc

    def allows(self, origin: str) -> bool:
        if self.any_origin:
            return True
        try:
            return normalize_origin(origin) in self._origins
        except ValueError:  # "null" (sandboxed pages, file://) or garbage: never listed
            return False


def header_allowed(name: str) -> bool:
    name = name.strip().lower()
    return name in ALLOWED_HEADERS or name.startswith(ALLOWED_HEADER_PREFIX)


class CorsMiddleware:
    """Answers preflights and adds CORS headers on ``paths`` (prefixes, case-insensitive)."""

    def __init__(self, app: ASGIApp, policy: CorsPolicy, paths: Sequence[str]) -> None:
        self.app = app
        self.policy = policy
        self._paths = tuple(path.lower().rstrip("/") for path in paths)
        # The first segment of every covered prefix: most requests (ACS routes called by
        # servers, not browsers) are told apart by it without a scan of the prefixes.
        self._first_segments = frozenset(p[1:].partition("/")[0] for p in self._paths)

    def covers(self, path: str) -> bool:
        path = path.lower()
        if path[1:].partition("/")[0] not in self._first_segments:
            return False
        return any(path == p or path.startswith(p + "/") for p in self._paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.covers(scope["path"]):
            await self.app(scope, receive, send)
            return
        headers = {k.lower(): v for k, v in scope["headers"]}
        origin_raw = headers.get(b"origin")
        if origin_raw is None:  # not a cross-origin browser request
            await self.app(scope, receive, send)
            return
        origin = origin_raw.decode("latin-1")
        requested_method = headers.get(b"access-control-request-method")
        if scope["method"] == "OPTIONS" and requested_method is not None:
            requested = headers.get(b"access-control-request-headers", b"").decode("latin-1")
            await self._preflight(origin, requested_method.decode("latin-1"), requested, send)
            return
        if not self.policy.allows(origin):
            await self.app(scope, receive, send)  # no CORS headers: the browser blocks it
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message.get("headers", ()),
                    (b"access-control-allow-origin", origin_raw),
                    (b"access-control-expose-headers", EXPOSED_HEADERS.encode()),
                    (b"vary", b"Origin"),
                ]
            await send(message)

        await self.app(scope, receive, send_with_cors)

    async def _preflight(self, origin: str, method: str, requested: str, send: Send) -> None:
        names = [name.strip().lower() for name in requested.split(",") if name.strip()]
        refused: str | None = None
        if not self.policy.allows(origin):
            refused = f"Origin '{origin}' is not allowed (cors_allowed_origins)."
        elif method.upper() not in ALLOWED_METHODS:
            refused = f"Method '{method}' is not allowed cross-origin."
        else:
            denied = [name for name in names if not header_allowed(name)]
            if denied:
                refused = f"Header(s) {', '.join(denied)} not allowed cross-origin."
        if refused is not None:
            body = error_body(PermissionDeniedError(refused, code="CorsRequestNotAllowed"))
            await _respond(
                send,
                403,
                [(b"content-type", b"application/json; charset=utf-8"), (b"vary", b"Origin")],
                body,
            )
            return
        allow = [
            (b"access-control-allow-origin", origin.encode("latin-1")),
            (b"access-control-allow-methods", ", ".join(ALLOWED_METHODS).encode()),
            (b"access-control-max-age", str(PREFLIGHT_MAX_AGE_SECONDS).encode()),
            (b"vary", b"Origin"),
        ]
        if names:
            allow.append((b"access-control-allow-headers", ", ".join(names).encode("latin-1")))
        await _respond(send, 204, allow, b"")


async def _respond(
    send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes
) -> None:
    headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
