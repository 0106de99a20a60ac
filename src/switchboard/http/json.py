"""JSON in and out of handlers, with msgspec (typed decode, fast encode)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

import msgspec
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from switchboard.core.errors import BadRequestError, PayloadTooLargeError

T = TypeVar("T")

JSON_MEDIA_TYPE = "application/json; charset=utf-8"
DEFAULT_BODY_LIMIT = 1024 * 1024

_encoder = msgspec.json.Encoder()


async def read_body(request: Request, limit: int = DEFAULT_BODY_LIMIT) -> bytes:
    """The raw body, refusing bodies over ``limit`` bytes before reading them whole.

    Read once per request (HMAC verification reads it before the handler does) and kept
    where Starlette keeps it, so ``request.body()`` and ``request.json()`` still work.
    """
    body: bytes | None = request.scope.get(_BODY_KEY)
    if body is None:
        declared = _declared_length(request.scope["headers"])
        if declared is not None and declared > limit:
            raise PayloadTooLargeError(f"The request body exceeds the limit of {limit} bytes.")
        body = await _receive_body(request)
        request.scope[_BODY_KEY] = body
    if len(body) > limit:
        raise PayloadTooLargeError(f"The request body exceeds the limit of {limit} bytes.")
    return body


_BODY_KEY = "switchboard.body"


def _declared_length(headers: list[tuple[bytes, bytes]]) -> int | None:
    for name, value in headers:
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


async def _receive_body(request: Request) -> bytes:
    """Starlette's ``request.body()`` without its async generator (a few µs a request)."""
    if hasattr(request, "_body"):
        return request._body
    chunks: list[bytes] = []
    receive = request.receive
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
    request._body = body  # Starlette's own cache: request.body() answers from it
    request._stream_consumed = True
    return body


def decode_json(body: bytes, schema: type[T], *, allow_empty: bool = False) -> T:
    """Decode and validate; an empty body decodes as ``{}`` when ``allow_empty``."""
    if not body.strip():
        if not allow_empty:
            raise BadRequestError("The request body is required.")
        body = b"{}"
    try:
        return msgspec.json.decode(body, type=schema)
    except msgspec.ValidationError as exc:
        raise BadRequestError(f"Invalid request body: {exc}") from exc
    except msgspec.DecodeError as exc:
        raise BadRequestError(f"The request body is not valid JSON: {exc}") from exc
    except RecursionError:  # msgspec's guard against JSON nested deeper than it will follow
        raise BadRequestError("The request body is nested too deeply.") from None


_JSON_CONTENT_TYPE = (b"content-type", JSON_MEDIA_TYPE.encode("latin-1"))


class JsonResponse(Response):
    """A JSON ``Response`` whose usual headers are laid out directly (what Starlette's
    ``init_headers`` would make, in its order) when no others are given: every ACS answer
    is one, so this saves its generic header building on each."""

    media_type = JSON_MEDIA_TYPE

    def __init__(
        self, body: bytes, status: int = 200, headers: Mapping[str, str] | None = None
    ) -> None:
        if headers or status < 200 or status in (204, 304):
            super().__init__(body, status, headers)
            return
        self.status_code = status
        self.background = None
        self.body = body
        self.raw_headers = [(b"content-length", b"%d" % len(body)), _JSON_CONTENT_TYPE]


def json_response(
    content: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    return JsonResponse(_encoder.encode(content), status, headers)


def empty_response(status: int = 204, headers: Mapping[str, str] | None = None) -> Response:
    return Response(b"", status, headers)
