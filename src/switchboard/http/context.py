"""Per-request context: a request id on every log line, client request id echo, error rendering.

The outermost middleware of the app, which also records the request metrics (http/metrics.py)
when given a ``Metrics``, and writes the access log (``switchboard.access``, one line per
request, with its request id) when asked. It is a pure ASGI callable (not
BaseHTTPMiddleware), because it sits on every request of a path that must serve thousands of
requests a second.
"""

from __future__ import annotations

import base64
import itertools
import logging
import os
from time import perf_counter
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from switchboard.core.errors import SwitchboardError
from switchboard.core.logs import request_id_var
from switchboard.http.errors import error_body, http_exception_error, internal_error_body
from switchboard.http.metrics import Metrics
from switchboard.http.routing import SUPPORTED_VERSIONS_KEY

log = logging.getLogger(__name__)
access_log = logging.getLogger("switchboard.access")

__all__ = ["RequestContextMiddleware", "request_id_var"]

_CLIENT_REQUEST_ID = b"x-ms-client-request-id"
_JSON = b"application/json; charset=utf-8"


_NODE_PREFIX = os.urandom(8).hex()
_counter = itertools.count(1)


def _next_request_id() -> str:
    """32 hex chars, unique across nodes and restarts: a random per-process prefix and a
    counter (uuid4 per request costs more than the rest of this middleware)."""
    return f"{_NODE_PREFIX}{next(_counter):016x}"


def _correlation_vector(request_id: str) -> bytes:
    """ACS's ``MS-CV`` shape (base64 of 16 bytes, then ``.0``), from the request id, so a
    client's logged correlation vector finds our log lines."""
    raw = base64.b64encode(bytes.fromhex(request_id)).rstrip(b"=")
    return raw + b".0"


class RequestContextMiddleware:
    """Request id, client request id echo and error rendering; with ``metrics``, also what
    MetricsMiddleware records (one layer instead of two: each layer costs a coroutine and a
    wrapped ``send`` per message on every request)."""

    def __init__(
        self, app: ASGIApp, metrics: Metrics | None = None, *, access_log: bool = False
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "websocket":
            # A request id for the socket's log lines, and nothing held for its whole life
            # (inline, not a coroutine of its own: a frame per held socket): no wrapped
            # send, as an accept carries no headers of ours and errors are not rendered.
            token = request_id_var.set(_next_request_id())
            scope.setdefault("app", self)
            try:
                await self.app(scope, receive, send)
            except (SwitchboardError, HTTPException):
                raise
            except Exception:
                log.exception("unhandled error in WebSocket %s", scope.get("path"))
                raise
            finally:
                request_id_var.reset(token)
            return
        if kind != "http":
            await self.app(scope, receive, send)
            return
        metrics = self.metrics
        start = perf_counter()
        request_id = _next_request_id()
        token = request_id_var.set(request_id)
        client_request_id: bytes | None = None
        for name, value in scope["headers"]:
            if name == _CLIENT_REQUEST_ID:
                client_request_id = value
                break
        extra: list[tuple[bytes, bytes]] = [
            (b"x-ms-request-id", request_id.encode()),
            (b"ms-cv", _correlation_vector(request_id)),
        ]
        if client_request_id is not None:
            extra.append((_CLIENT_REQUEST_ID, client_request_id))
        status = 0  # 0 until the response starts
        end = 0.0

        async def send_with_headers(message: Message) -> None:
            nonlocal status, end
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), *extra]
                versions = scope.get(SUPPORTED_VERSIONS_KEY)
                if versions is not None:
                    message["headers"].append(versions)
                await send(message)
                return
            await send(message)
            # The final body (or pathsend) ends the response; later trailers don't count.
            if not end and not message.get("more_body", False):
                end = perf_counter()

        if metrics is not None:
            metrics.in_flight += 1
        # Starlette's routes and mounts raise HTTPException (405 on a route with other
        # methods, 404 in a mount) when they see an app in the scope, instead of answering
        # plain text themselves: rendered below in the ACS error shape.
        scope.setdefault("app", self)
        try:
            await self.app(scope, receive, send_with_headers)
        except SwitchboardError as exc:
            if status:
                raise
            await _send_json(send_with_headers, exc.status, error_body(exc))
        except HTTPException as exc:
            if status:
                raise
            error = http_exception_error(exc.status_code, exc.detail)
            allow = (exc.headers or {}).get("Allow")
            extra_headers = [(b"allow", allow.encode())] if allow else []
            await _send_json(send_with_headers, error.status, error_body(error), extra_headers)
        except Exception:
            log.exception("unhandled error in %s %s", scope.get("method"), scope.get("path"))
            if status:
                raise
            await _send_json(send_with_headers, 500, internal_error_body(request_id))
        finally:
            seconds = (end or perf_counter()) - start
            if self.access_log:
                _log_access(scope, status or 500, seconds)
            request_id_var.reset(token)
            if metrics is not None:
                metrics.in_flight -= 1
                metrics.observe_request(scope, status or 500, seconds)


def _log_access(scope: Scope, status: int, seconds: float) -> None:
    """One access-log line, under the request's id (still set): ``GET /path 200 1.2ms``.

    The path without its query string: query strings may carry secrets (SAS-style tokens)."""
    client = scope.get("client")
    address = client[0] if client else None
    method, path, duration_ms = scope.get("method"), scope.get("path"), round(seconds * 1000, 3)
    access_log.info(
        "%s %s %d %.1fms",
        method,
        path,
        status,
        duration_ms,
        extra={
            "method": method,
            "path": path,
            "status": status,
            "duration_ms": duration_ms,
            "client": address,
        },
    )


async def _send_json(
    send: Send, status: int, body: bytes, extra_headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    headers: list[Any] = [
        (b"content-type", _JSON),
        (b"content-length", str(len(body)).encode()),
        *(extra_headers or ()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
