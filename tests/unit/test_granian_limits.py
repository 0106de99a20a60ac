"""GranianLimits: the header count below hyper's cap and the body deadline, at the ASGI level."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import msgspec
import pytest
from starlette.types import Message, Receive, Scope, Send

from switchboard.core.sections import ServerConfig
from switchboard.http.granian_limits import GranianLimits

pytestmark = pytest.mark.anyio


def http_scope(header_count: int = 1) -> Scope:
    headers = [(b"x-h%d" % i, b"1") for i in range(header_count)]
    return {"type": "http", "method": "POST", "path": "/", "headers": headers}


class Recorder:
    def __init__(self) -> None:
        self.sent: list[Message] = []

    async def send(self, message: Message) -> None:
        self.sent.append(message)

    @property
    def status(self) -> int:
        return int(self.sent[0]["status"])

    @property
    def error_code(self) -> str:
        body = msgspec.json.decode(self.sent[1]["body"])
        return str(body["error"]["code"])


async def never() -> Message:
    await asyncio.Event().wait()
    raise AssertionError("unreachable")


async def test_more_headers_than_configured_get_431_without_reaching_the_app() -> None:
    reached: list[Scope] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        reached.append(scope)

    wrapped = GranianLimits(app, ServerConfig(max_header_count=10))
    recorder = Recorder()
    await wrapped(http_scope(11), never, recorder.send)
    assert reached == []
    assert recorder.status == 431
    assert recorder.error_code == "RequestHeaderFieldsTooLarge"
    assert (b"connection", b"close") in recorder.sent[0]["headers"]


async def test_headers_over_the_byte_limit_get_431_even_when_hyper_let_them_through() -> None:
    """hyper checks its buffer only while a head is incomplete; a head that arrived whole
    (a busy server reading late) reaches the app: the byte limit is kept here too."""
    reached: list[Scope] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        reached.append(scope)
        await send({"type": "http.response.start", "status": 200, "headers": []})

    wrapped = GranianLimits(app, ServerConfig(max_header_bytes=1024))
    big = {**http_scope(), "method": "GET", "headers": [(b"x-big", b"a" * 1024)]}
    recorder = Recorder()
    await wrapped(big, never, recorder.send)
    assert reached == [] and recorder.status == 431
    assert recorder.error_code == "RequestHeaderFieldsTooLarge"
    small = {**http_scope(), "method": "GET", "headers": [(b"x-small", b"a" * 900)]}
    await wrapped(small, never, Recorder().send)
    assert len(reached) == 1


async def test_a_body_that_stops_arriving_gets_408_and_the_app_sees_a_disconnect() -> None:
    seen: list[Message] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(await receive())
        seen.append(await receive())
        await send({"type": "http.response.start", "status": 200, "headers": []})

    chunks = iter([{"type": "http.request", "body": b"{", "more_body": True}])

    async def first_chunk_then_nothing() -> Message:
        for chunk in chunks:
            return chunk
        return await never()

    wrapped = GranianLimits(app, ServerConfig(body_timeout_seconds=0.05))
    recorder = Recorder()
    await asyncio.wait_for(wrapped(http_scope(), first_chunk_then_nothing, recorder.send), 2)
    assert [message["type"] for message in seen] == ["http.request", "http.disconnect"]
    assert recorder.status == 408
    assert recorder.error_code == "RequestBodyTimeout"
    assert len(recorder.sent) == 2  # the app's own 200 after the refusal went nowhere


async def test_once_the_body_is_in_receive_waits_without_a_deadline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A streaming response waits on receive() for http.disconnect as long as it streams.
    loop = asyncio.get_running_loop()
    deadlines: list[float] = []
    call_later = loop.call_later

    def counting_call_later(delay: float, *args: Any) -> asyncio.TimerHandle:
        deadlines.append(delay)
        return call_later(delay, *args)

    monkeypatch.setattr(loop, "call_later", counting_call_later)
    messages: Iterator[Message] = iter(
        [{"type": "http.request", "body": b"{}", "more_body": False}, {"type": "http.disconnect"}]
    )

    async def receive() -> Message:
        return next(messages)

    outcome: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        outcome.append((await receive())["type"])
        outcome.append((await receive())["type"])

    await GranianLimits(app, ServerConfig(body_timeout_seconds=7))(
        http_scope(), receive, Recorder().send
    )
    assert outcome == ["http.request", "http.disconnect"]
    assert deadlines == [7]  # the body's wait only


async def test_a_cancellation_from_elsewhere_still_cancels_the_app() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()

    wrapped = GranianLimits(app, ServerConfig(body_timeout_seconds=10))
    call = asyncio.create_task(wrapped(http_scope(), never, Recorder().send))
    await asyncio.sleep(0)
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call


async def test_a_get_is_passed_through_without_a_deadline() -> None:
    async def receive() -> Message:
        return {"type": "http.disconnect"}

    received: list[Receive] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        received.append(receive)

    scope = {**http_scope(), "method": "GET"}
    await GranianLimits(app, ServerConfig())(scope, receive, Recorder().send)
    assert received == [receive]
