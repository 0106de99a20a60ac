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

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.exceptions import InvalidState


class LeanWebSocketProtocol(WebSocketsSansIOProtocol):
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
