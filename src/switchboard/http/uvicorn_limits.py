"""uvicorn's httptools protocol with limits on request heads and slow clients.

httptools has no limit on header size or count, and buffers a header until its end, so an
8 MiB header was held whole before anyone looked at it. This subclass counts instead:

    connection made ─▶ head timer
    data (head) ─▶ count bytes ─▶ over max_header_bytes? ─▶ 431, close (the parser never sees
        more than the allowance) ─▶ parser ─▶ on_header: over max_header_count? ─▶ 431, close
    on_headers_complete ─▶ head timer off
    data (body) ─▶ note the time; still mid-body after a read? ─▶ body timer (idle gap)
    on_message_complete ─▶ body timer off, count again from zero for the next head

Head bytes are counted per read, so a read that also carries a pipelined next request starts
that request's count at the following read: the slack is one read (≤ 256 KiB), never more.
A request that arrives in one read arms no timer of its own (the hot path stays as it was):
the only timer it meets is the one armed when its connection was made.
"""

from __future__ import annotations

import asyncio
import enum
from typing import Any, ClassVar, cast

import httptools
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from switchboard.core.sections import ServerConfig
from switchboard.http.limits import RAW_RESPONSES, Refusal


class _Phase(enum.Enum):
    HEAD = "head"
    BODY = "body"
    UPGRADED = "upgraded"  # a WebSocket's protocol owns the connection now: hands off


_on_header = HttpToolsProtocol.on_header
_on_headers_complete = HttpToolsProtocol.on_headers_complete
_on_message_complete = HttpToolsProtocol.on_message_complete


class _HeaderCountError(Exception):
    """Stops the parser mid-head once the 431 is written."""


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    max_header_bytes: ClassVar[int] = 64 * 1024
    max_header_count: ClassVar[int] = 100
    header_timeout: ClassVar[float] = 10.0
    body_timeout: ClassVar[float] = 30.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._phase = _Phase.HEAD
        self._head_bytes = 0
        self._header_count = 0
        self._refused = False
        self._timer: asyncio.TimerHandle | None = None
        self._body_data_at = 0.0

    @classmethod
    def configured(cls, config: ServerConfig) -> type[LimitedHttpToolsProtocol]:
        """A subclass carrying ``config``'s limits: uvicorn builds protocols from a class."""
        return cast(
            "type[LimitedHttpToolsProtocol]",
            type(
                cls.__name__,
                (cls,),
                {
                    "max_header_bytes": config.max_header_bytes,
                    "max_header_count": config.max_header_count,
                    "header_timeout": config.header_timeout_seconds,
                    "body_timeout": config.body_timeout_seconds,
                },
            ),
        )

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(self.header_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        if self._phase is _Phase.BODY:
            self._body_data_at = self.loop.time()
            self._feed(data)
        else:
            allowance = self.max_header_bytes - self._head_bytes
            self._head_bytes += len(data)
            if len(data) <= allowance:
                self._feed(data)
            else:
                # Let the parser see only what the limit allows: if the head did not end
                # within it, the rest is never parsed (nor buffered).
                self._feed(data[:allowance])
                if self._phase is _Phase.HEAD:
                    self._refuse(Refusal.HEADERS_TOO_LARGE)
                    return
                self.data_received(data[allowance:])
                return
        # Only a head or body still incomplete after this read needs a timer (one armed on a
        # closing transport is harmless: _timed_out looks first).
        if self._timer is not None or self._refused:
            return
        if self._phase is _Phase.BODY:
            self._body_data_at = self.loop.time()
            self._arm(self.body_timeout)
        elif self._phase is _Phase.HEAD and self._head_bytes:
            self._arm(self.header_timeout)

    def _feed(self, data: bytes) -> None:
        # HttpToolsProtocol.data_received, except that a refusal from a callback is not
        # answered (and logged) as a malformed request.
        self._unset_keepalive_if_required()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            if self._refused:
                return
            msg = "Invalid HTTP request received."
            self.logger.warning(msg)
            self.send_400_response(msg)
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_count += 1
        if self._header_count > self.max_header_count:
            self._refuse(Refusal.HEADERS_TOO_LARGE)
            raise _HeaderCountError
        _on_header(self, name, value)  # not super(): this runs for every header

    def on_headers_complete(self) -> None:
        if self._timer is not None:
            self._disarm()
        self._phase = _Phase.BODY
        _on_headers_complete(self)

    def handle_websocket_upgrade(self) -> None:
        self._disarm()
        self._phase = _Phase.UPGRADED
        super().handle_websocket_upgrade()
        # The parser holds this protocol's callbacks and this protocol holds the parser:
        # uvicorn breaks that cycle in connection_lost, which an upgraded connection never
        # calls here (the WebSocket protocol gets it). Left alone, the cycle keeps the TLS
        # transport and its buffers alive after the socket closes, until a full collection.
        self.parser = None  # type: ignore[assignment]

    def on_message_complete(self) -> None:
        if self._phase is not _Phase.UPGRADED:
            if self._timer is not None:
                self._disarm()
            self._phase = _Phase.HEAD
            self._head_bytes = 0
            self._header_count = 0
        _on_message_complete(self)

    def _arm(self, delay: float) -> None:
        self._timer = self.loop.call_later(delay, self._timed_out)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _timed_out(self) -> None:
        self._timer = None
        if self._refused or self._phase is _Phase.UPGRADED or self.transport.is_closing():
            return
        if self._phase is _Phase.HEAD:
            self._refuse(Refusal.HEAD_TIMEOUT, answer=self._head_bytes > 0)
            return
        idle = self.loop.time() - self._body_data_at
        waiting_for_us = self.cycle is not None and self.cycle.waiting_for_100_continue
        if idle < self.body_timeout or self.flow.read_paused or waiting_for_us:
            # Data came since the timer was set, or the app is the slow one: it paused
            # reading, or the client waits for the app's "100 Continue" before sending.
            self._arm(self.body_timeout - idle if idle < self.body_timeout else self.body_timeout)
            return
        self._refuse(Refusal.BODY_TIMEOUT)

    def _refuse(self, refusal: Refusal, *, answer: bool = True) -> None:
        """Answer (unless the app already started a response) and close the connection."""
        self._refused = True
        self._disarm()
        cycle = self.cycle
        in_flight = cycle is not None and not cycle.response_complete
        if self._phase is _Phase.BODY:
            # The cycle is this request's: answer unless the app already began to.
            answer = answer and not (cycle is not None and cycle.response_started)
        else:
            # A pipelined head while the previous response is still being written: a 431 or
            # 408 now would land in the middle of it.
            answer = answer and not in_flight
        if cycle is not None and in_flight:
            cycle.disconnected = True  # the app's receive() now sees http.disconnect
            cycle.message_event.set()
        if answer:
            self.transport.write(RAW_RESPONSES[refusal])
        self.transport.close()
