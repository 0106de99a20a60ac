"""uvicorn's sans-I/O WebSocket protocol, without what a held socket no longer needs.

uvicorn keeps the handshake's request and response (websockets' ``Request`` and ``Response``,
each with a ``Headers`` of a dict and a list, and every header as a str) for the life of the
connection, though it reads them only to answer the handshake: ≈ 4 KB of a held socket
(tracemalloc, 1,000 idle chat sockets; more with a browser's headers). This subclass lets
them go once the 101 is written:

    handle_connect ─▶ request, response kept; the ASGI scope built from the request
        ─▶ app sends websocket.accept ─▶ uvicorn writes the 101, start_keepalive()
        ─▶ here: request and response dropped, and the request's headers emptied (websockets'
           parser generator keeps the request itself as a local until the socket closes)

It serves our ``SEND_TEXTS`` extension (http/websocket.py): several text frames in one ASGI
message, framed one by one and written with one ``transport.write``. A chat event goes to
every member's socket, and a burst of them (one group commit's messages) would otherwise cost
each socket one TLS record and one ``send()`` per frame: the largest share of the server's
CPU per chat message (py-spy, 20 threads × 10 listeners).

It also stops without failing: uvicorn 0.55's ``shutdown`` sends close 1012 to every open
socket, and a socket whose client had already sent its close frame (our reply not yet
written) is in state CLOSING, where ``send_close`` raises ``InvalidState``: the exception
ended the server's stop with exit code 1. Such a socket only needs its transport closed.

Trap: it leans on uvicorn calling ``start_keepalive`` right after writing the 101 and reading
``request``/``response`` only up to there (uvicorn 0.55, websockets 17). If an upgrade moves
either, tests/unit/test_uvicorn_websockets.py fails (a held socket that still has them or the
request's headers, or a handshake that no longer completes).
"""

from __future__ import annotations

from typing import Any, cast

from uvicorn._types import ASGISendEvent
from uvicorn.protocols.utils import ClientDisconnected
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.exceptions import InvalidState
from websockets.protocol import State

from switchboard.http.websocket import SEND_TEXTS

_OFFERED: dict[str, object] = {}  # the extension's entry in every scope (nothing per socket)
_TEXT_FIN = 0x81


def _header(length: int) -> bytes:
    """A final text frame's header, unmasked, for a payload of ``length`` bytes."""
    if length < 126:
        return bytes((_TEXT_FIN, length))
    if length < 1 << 16:
        return bytes((_TEXT_FIN, 126)) + length.to_bytes(2, "big")
    return bytes((_TEXT_FIN, 127)) + length.to_bytes(8, "big")


class LeanWebSocketProtocol(WebSocketsSansIOProtocol):
    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)
        scope = getattr(self, "scope", None)  # none when the upgrade was refused
        if scope is not None:
            cast(dict[str, Any], scope["extensions"])[SEND_TEXTS] = _OFFERED

    async def send(self, message: ASGISendEvent) -> None:
        if message["type"] != SEND_TEXTS:
            await super().send(message)
            return
        await self.writable.wait()
        if self.disconnected or self.close_sent or not self.handshake_complete:
            raise ClientDisconnected()
        conn = self.conn
        texts: list[str] = cast(dict[str, Any], message)["texts"]
        if conn.extensions:  # permessage-deflate (we offer none): websockets frames them
            try:
                for text in texts:
                    conn.send_text(text.encode())
            except InvalidState:  # closing: as uvicorn's own send of one frame fails
                raise ClientDisconnected() from None
            self.transport.write(b"".join(conn.data_to_send()))
            return
        if conn.state is not State.OPEN:
            raise ClientDisconnected()
        # An unmasked, unfragmented server frame is its header and its payload (RFC 6455
        # §5.2); websockets' Frame and its checks cost more than the rest of the write.
        parts = conn.data_to_send()  # nothing pending, unless something left it there
        for text in texts:
            data = text.encode()
            parts.append(_header(len(data)))
            parts.append(data)
        self.transport.write(b"".join(parts))

    def start_keepalive(self) -> None:
        super().start_keepalive()
        # Called once, after the 101: the handshake's objects have served their purpose.
        request = self.__dict__.pop("request", None)
        self.__dict__.pop("response", None)
        if request is not None:
            # websockets' parser generator still holds the request as a local for the life
            # of the connection; its headers (every one a str) are what weighs.
            request.headers.clear()

    def shutdown(self) -> None:
        try:
            super().shutdown()
        except InvalidState:  # the client's close frame came first: just drop the socket
            self.transport.close()
