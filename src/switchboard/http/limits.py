"""What a client may send before the app sees a request, and how both HTTP servers refuse it.

    head bytes > max_header_bytes, or headers > max_header_count ─▶ 431, close
    head not in within header_timeout_seconds of its first byte  ─▶ 408, close
    body silent for body_timeout_seconds                         ─▶ 408 (or just close), close

These refusals happen below the ASGI app (the request never reached it), so the responses are
written as raw HTTP/1.1 bytes, in the ACS error shape, always with ``connection: close``: the
rest of what the client sends is never read. uvicorn enforces them in
:mod:`switchboard.http.uvicorn_limits`; granian through its HTTP/1 settings and
:class:`switchboard.http.granian_limits.GranianLimits`.
"""

from __future__ import annotations

import enum
import http

import msgspec


class Refusal(enum.Enum):
    """Why a connection is refused before its request reached the app."""

    HEADERS_TOO_LARGE = "RequestHeaderFieldsTooLarge"
    HEAD_TIMEOUT = "RequestTimeout"
    BODY_TIMEOUT = "RequestBodyTimeout"

    @property
    def status(self) -> int:
        return 431 if self is Refusal.HEADERS_TOO_LARGE else 408

    @property
    def message(self) -> str:
        return _MESSAGES[self]


_MESSAGES = {
    Refusal.HEADERS_TOO_LARGE: "The request headers are too large or too many.",
    Refusal.HEAD_TIMEOUT: "The request headers did not arrive in time.",
    Refusal.BODY_TIMEOUT: "The request body stopped arriving.",
}


def refusal_body(refusal: Refusal) -> bytes:
    return msgspec.json.encode({"error": {"code": refusal.value, "message": refusal.message}})


def _raw_response(refusal: Refusal) -> bytes:
    body = refusal_body(refusal)
    phrase = http.HTTPStatus(refusal.status).phrase
    head = (
        f"HTTP/1.1 {refusal.status} {phrase}\r\n"
        "content-type: application/json; charset=utf-8\r\n"
        f"content-length: {len(body)}\r\n"
        "connection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


RAW_RESPONSES = {refusal: _raw_response(refusal) for refusal in Refusal}
