"""GuardedWebSocketConnector: the streams' WebSocket client, through events' SSRF guard.

    connect(url) ─▶ ws:// or wss:// only ─▶ EndpointGuard.addresses(host) (resolve once,
        refuse private addresses in production unless allowed) ─▶ TCP to an approved address,
        TLS with the URL's host name (SNI, certificate) ─▶ the WebSocket handshake

No proxies (a proxy would connect for us, unchecked), no redirects; compression off (PCM in
base64 hardly compresses, and deflate costs CPU on every frame).
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import WebSocketException

from switchboard.automation.streaming.socket import StreamConnectError
from switchboard.core.errors import EndpointRefusedError
from switchboard.events.endpoints import EndpointGuard

MAX_APP_MESSAGE_BYTES = 1 << 20


class WebSocketStream:
    def __init__(self, connection: ClientConnection) -> None:
        self._connection = connection

    async def send(self, message: bytes) -> None:
        await self._connection.send(message, text=True)

    async def messages(self) -> AsyncIterator[str | bytes]:
        async for message in self._connection:
            yield message

    async def close(self) -> None:
        await self._connection.close()


class GuardedWebSocketConnector:
    def __init__(self, guard: EndpointGuard, ssl_context: ssl.SSLContext | None = None) -> None:
        self._guard = guard
        self._ssl = ssl_context or ssl.create_default_context()

    async def connect(self, url: str) -> WebSocketStream:
        parts = urlsplit(url)
        secure = parts.scheme == "wss"
        if parts.scheme not in ("ws", "wss") or not parts.hostname:
            raise StreamConnectError(f"{url} is not a ws:// or wss:// URL")
        host, port = parts.hostname, parts.port or (443 if secure else 80)
        try:
            addresses = await self._guard.addresses(host, port)
        except EndpointRefusedError as error:
            raise StreamConnectError(error.message) from None
        except OSError as error:
            raise StreamConnectError(f"cannot resolve {host}: {error}") from None
        failure: Exception = StreamConnectError(f"{host} has no address")
        for address in addresses:
            try:
                connection = await connect(
                    url,
                    host=address,
                    port=port,
                    ssl=self._ssl if secure else None,
                    server_hostname=host if secure else None,
                    proxy=None,
                    compression=None,
                    max_size=MAX_APP_MESSAGE_BYTES,
                    open_timeout=None,  # the caller's timeout
                    user_agent_header="Switchboard-MediaStreaming/1.0",
                )
            except (OSError, WebSocketException, ssl.SSLError) as error:
                failure = error
                continue
            return WebSocketStream(connection)
        raise StreamConnectError(str(failure) or type(failure).__name__)
