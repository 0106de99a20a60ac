"""read_body: one read from the server per request, whoever asks for the body."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.requests import Request

from switchboard.core.errors import PayloadTooLargeError
from switchboard.http.json import read_body

pytestmark = pytest.mark.anyio


def request_with(
    chunks: list[bytes], headers: list[tuple[bytes, bytes]] | None = None
) -> tuple[Request, list[int]]:
    calls = [0]
    messages = [
        {"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1}
        for i, chunk in enumerate(chunks)
    ]

    async def receive() -> Any:
        calls[0] += 1
        return messages.pop(0)

    scope = {"type": "http", "method": "POST", "headers": headers or [], "path": "/"}
    return Request(scope, receive), calls


async def test_the_body_is_received_once_for_every_reader() -> None:
    request, calls = request_with([b'{"a":', b"1}"])

    first = await read_body(request)
    again = await read_body(Request(request.scope, request.receive))
    starlette = await request.json()

    assert first == again == b'{"a":1}'
    assert starlette == {"a": 1}
    assert calls == [2]  # two chunks, received once


async def test_a_declared_length_over_the_limit_is_refused_before_reading() -> None:
    request, calls = request_with([b"x" * 10], [(b"content-length", b"10")])

    with pytest.raises(PayloadTooLargeError):
        await read_body(request, limit=5)
    assert calls == [0]


async def test_a_body_read_earlier_is_still_held_to_a_smaller_limit() -> None:
    request, _ = request_with([b"x" * 10])
    await read_body(request)

    with pytest.raises(PayloadTooLargeError):
        await read_body(request, limit=5)
