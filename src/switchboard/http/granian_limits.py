"""The request limits granian has no knob for, as a thin ASGI wrapper around the node's app.

granian (hyper underneath) enforces the rest itself, configured in ``http1_settings``:
``max_buffer_size`` bounds the request head (431 past it, nothing more is buffered),
``header_read_timeout`` drops a connection whose head is slow, and hyper refuses more than
100 headers (431). What is left:

    http request ─▶ more headers than max_header_count (below hyper's 100)? ─▶ 431, close
        ─▶ headers over max_header_bytes? ─▶ 431, close (hyper checks its buffer only while
           a head is incomplete: a head that arrived whole in one read, as on a busy server,
           passes it up to a read's size beyond the limit)
        ─▶ GET/HEAD/OPTIONS: app(scope, receive, send), untouched
        ─▶ otherwise: app(scope, receive with a deadline, send)
    app awaits the body ─▶ nothing for body_timeout_seconds ─▶ 408 (unless the app already
        answered), the app's receive() sees http.disconnect, the connection closes

Once the body is complete, receive() is passed through untouched: a streaming response waits
on it for http.disconnect for as long as it streams, which is not a slow client.
"""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from switchboard.core.sections import ServerConfig
from switchboard.http.limits import Refusal, refusal_body

HYPER_MAX_HEADERS = 100  # hyper's fixed limit: granian does not expose it
_EXPIRED = "switchboard: request body deadline"
_BODILESS = frozenset({"GET", "HEAD", "OPTIONS"})


class GranianLimits:
    def __init__(self, app: ASGIApp, config: ServerConfig) -> None:
        self._app = app
        self._max_header_count = config.max_header_count
        self._max_header_bytes = config.max_header_bytes
        self._body_timeout = config.body_timeout_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        headers = scope["headers"]
        if len(headers) > self._max_header_count or (
            sum(len(name) + len(value) for name, value in headers) > self._max_header_bytes
        ):
            await _send_refusal(send, Refusal.HEADERS_TOO_LARGE)
            return
        if scope["method"] in _BODILESS:  # nothing to wait for: no wrapper, no timer
            await self._app(scope, receive, send)
            return
        exchange = _BodyDeadline(receive, send, self._body_timeout)
        await self._app(scope, exchange.receive, exchange.send)


class _BodyDeadline:
    """One request's receive/send, with a deadline on each wait for the next body chunk."""

    __slots__ = ("_body_done", "_gone", "_inner_receive", "_inner_send", "_started", "_timeout")

    def __init__(self, receive: Receive, send: Send, timeout: float) -> None:
        self._inner_receive = receive
        self._inner_send = send
        self._timeout = timeout
        self._body_done = False
        self._started = False
        self._gone = False  # refused: the app's later messages go nowhere

    async def receive(self) -> Message:
        if self._body_done:
            return await self._inner_receive()
        if self._gone:
            return {"type": "http.disconnect"}
        task = asyncio.current_task()
        assert task is not None
        # A cancel carrying our marker, landing only in this await (no closure, one timer).
        timer = asyncio.get_running_loop().call_later(self._timeout, task.cancel, _EXPIRED)
        try:
            message = await self._inner_receive()
        except asyncio.CancelledError as exc:
            if exc.args != (_EXPIRED,):
                raise
            # Our own cancellation, landed here and nowhere else in the app: answer for it.
            task.uncancel()
            return await self._refuse()
        finally:
            timer.cancel()
        if message["type"] != "http.request" or not message.get("more_body", False):
            self._body_done = True
        return message

    async def send(self, message: Message) -> None:
        if self._gone:
            return
        if message["type"] == "http.response.start":
            self._started = True
        await self._inner_send(message)

    async def _refuse(self) -> Message:
        self._gone = True
        if not self._started:
            await _send_refusal(self._inner_send, Refusal.BODY_TIMEOUT)
        return {"type": "http.disconnect"}


async def _send_refusal(send: Send, refusal: Refusal) -> None:
    body = refusal_body(refusal)
    headers = [
        (b"content-type", b"application/json; charset=utf-8"),
        (b"content-length", str(len(body)).encode("ascii")),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": refusal.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
