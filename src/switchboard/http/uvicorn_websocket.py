"""uvicorn's sans-I/O WebSocket protocol, with a shutdown that cannot fail.

uvicorn 0.55's ``WebSocketsSansIOProtocol.shutdown`` sends close 1012 to every open socket
when the server stops; a socket whose client had already sent its close frame (the server's
reply not yet written) is in state CLOSING, and ``send_close`` raises ``InvalidState`` there:
the exception ends the server's shutdown with exit code 1. Such a socket only needs its
transport closed (the handshake of the close is the client's business now).
"""

from __future__ import annotations

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.exceptions import InvalidState


class SafeShutdownWebSocketProtocol(WebSocketsSansIOProtocol):
    def shutdown(self) -> None:
        try:
            super().shutdown()
        except InvalidState:  # the client's close frame came first: just drop the socket
            self.transport.close()
