"""What every WebSocket endpoint (chat realtime, calling signaling) does the same way.

token_of(ws): "Authorization: Bearer …", else a subprotocol "access_token.<token>" (browsers
    cannot set headers, and a URL lands in consoles and access logs), else ?access_token=…
    (deprecated; kept for clients of protocol version 1 that put it there)
close_code(exc): an authentication failure → the close code the docs promise
close_quietly(ws, code, reason): close if still open; a socket that is gone is not an error
send_texts(ws, texts): several text frames in one ASGI message, one write of the socket, where
    the server offers it (SEND_TEXTS in the scope's extensions: our uvicorn protocol does)

The session itself (accept, queue, heartbeat, token checks) is websocket_session.py.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from switchboard.core.errors import PermissionDeniedError, SwitchboardError, TokenRevokedError

CLOSE_UNAUTHORIZED = 4001  # token missing, invalid or expired: a fresh token, reconnect
CLOSE_REVOKED = 4003  # tokens revoked or identity deleted: stop
CLOSE_HEARTBEAT = 4008  # nothing heard from the client for two heartbeats: reconnect
CLOSE_UNSUPPORTED_DATA = 1003  # RFC 6455: a binary frame where only text frames are defined
MAX_REASON = 120  # a close frame's reason is at most 123 bytes


# An ASGI extension of ours (http/uvicorn_websockets.py serves it): the message
# {"type": SEND_TEXTS, "texts": [str, …]} sends each as a text frame, all in one transport
# write, so a burst to one socket costs one TLS record and one send() instead of one each.
SEND_TEXTS = "switchboard.websocket.send_texts"

TOKEN_SUBPROTOCOL_PREFIX = "access_token."  # a JWT's characters are all legal in a subprotocol


def token_of(websocket: WebSocket) -> str:
    """The bearer token of the upgrade request ("" when there is none)."""
    header = websocket.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    for offered in offered_subprotocols(websocket):
        if offered.startswith(TOKEN_SUBPROTOCOL_PREFIX):
            return offered[len(TOKEN_SUBPROTOCOL_PREFIX) :]
    return websocket.query_params.get("access_token", "")


def offered_subprotocols(websocket: WebSocket) -> list[str]:
    """The subprotocols the client offered, in its order."""
    return list(websocket.scope.get("subprotocols") or [])


def close_code(exc: SwitchboardError, *, forbidden: int = CLOSE_UNAUTHORIZED) -> int:
    """Revoked → 4003; a valid token without the needed scope → ``forbidden`` (calling: 4006;
    chat documents none, so 4001); anything else → 4001."""
    if isinstance(exc, TokenRevokedError):
        return CLOSE_REVOKED
    if isinstance(exc, PermissionDeniedError):
        return forbidden
    return CLOSE_UNAUTHORIZED


async def close_quietly(websocket: WebSocket, code: int, reason: str) -> None:
    if websocket.client_state is WebSocketState.CONNECTED:
        with contextlib.suppress(Exception):
            await websocket.close(code, reason[:MAX_REASON])


def sends_texts(websocket: WebSocket) -> bool:
    """The server takes several frames in one message (``send_texts``)."""
    extensions: dict[str, Any] | None = websocket.scope.get("extensions")
    return extensions is not None and SEND_TEXTS in extensions


async def send_texts(websocket: WebSocket, texts: Sequence[str]) -> None:
    """Send text frames in one write; only where ``sends_texts``. Fails as ``send_text`` does
    (``WebSocketDisconnect`` when the socket is gone)."""
    # Starlette's WebSocket.send only passes the standard message types: the extension's goes
    # to the server's send callable itself, as Starlette would after its state checks.
    try:
        await websocket._send({"type": SEND_TEXTS, "texts": texts})
    except OSError as exc:  # uvicorn's ClientDisconnected, as Starlette maps it
        raise WebSocketDisconnect(code=1006) from exc
