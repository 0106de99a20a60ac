"""SIP over TCP or TLS: one connection per peer, either way, framed by ``SipStreamFramer``.

SipEndpoint.send to a trunk whose transport is tcp ─▶ its connection (opened on first use;
    what is sent meanwhile waits) ─▶ bytes
an accepted or opened connection ─▶ framed messages ─▶ SipEndpoint.received(data, peer),
    as if they were datagrams from the connection's peer; replies to that peer go back on
    the same connection
a byte stream that cannot be framed ─▶ the connection is closed (its transactions time out)
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from typing import TYPE_CHECKING

from switchboard.gateways.sip.errors import SipParseError
from switchboard.gateways.sip.framing import SipStreamFramer

if TYPE_CHECKING:
    from switchboard.gateways.sip.transactions import Address, SipEndpoint

log = logging.getLogger(__name__)


class SipStreamConnection(asyncio.Protocol):
    def __init__(
        self, endpoint: SipEndpoint, peer: Address | None = None, *, tls: bool = False
    ) -> None:
        self.peer = peer
        self.tls = tls  # accepted on our TLS port
        self.transport: asyncio.Transport | None = None
        self._endpoint = endpoint
        self._framer = SipStreamFramer()
        self._waiting: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        if self.peer is None:  # accepted: known by the address it came from
            host, port = transport.get_extra_info("peername")[:2]
            if not self._endpoint.trusts(str(host)):
                log.info("SIP over TCP from %s refused: not a trunk", host)
                transport.close()
                return
            self.peer = (str(host), int(port))
            if self.tls:
                self._endpoint.tls_connections.add(self.peer)
        self._endpoint.connections[self.peer] = self
        for data in self._waiting:
            transport.write(data)
        self._waiting.clear()

    def data_received(self, data: bytes) -> None:
        try:
            messages = self._framer.feed(data)
        except SipParseError as exc:
            log.warning("SIP over TCP from %s: %s; closing", self.peer, exc)
            self.close()
            return
        assert self.peer is not None
        for message in messages:
            self._endpoint.received(message, self.peer)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.peer is not None and self._endpoint.connections.get(self.peer) is self:
            del self._endpoint.connections[self.peer]
            if self.tls:
                self._endpoint.tls_connections.discard(self.peer)

    def write(self, data: bytes) -> None:
        if self.transport is None:
            self._waiting.append(data)
        elif not self.transport.is_closing():
            self.transport.write(data)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


async def connect(
    endpoint: SipEndpoint,
    connection: SipStreamConnection,
    tls: tuple[ssl.SSLContext, str] | None = None,
) -> None:
    """Open it (``tls``: the context that verifies the peer, and the name it must carry);
    a refusal or a certificate that does not verify ─▶ the peer is unreachable."""
    assert connection.peer is not None
    host, port = connection.peer
    loop = asyncio.get_running_loop()
    try:
        if tls is None:
            await loop.create_connection(lambda: connection, host, port)
        else:
            context, name = tls
            await loop.create_connection(
                lambda: connection, host, port, ssl=context, server_hostname=name
            )
    except OSError as exc:  # ssl.SSLError (a certificate that does not verify) included
        log.warning("SIP over TCP to %s:%s: %s", host, port, exc)
        if endpoint.connections.get(connection.peer) is connection:
            del endpoint.connections[connection.peer]
        endpoint.unreachable(connection.peer)
