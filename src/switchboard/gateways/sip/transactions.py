"""SipEndpoint: the node's SIP socket (UDP) and its client transactions (RFC 3261 §17.1).

datagram ─parse_message─▶ (malformed: dropped, counted)
    response ─▶ the client transaction of its top Via's branch
    request  ─▶ RequestHandler.request(request, source) (the carrier: dialogs, new calls)
ClientTransaction(request, destination)
    UDP: retransmit every T1, doubling (INVITE: until a provisional; others: up to T2)
    a final response ─▶ on_response once (an INVITE's non-2xx is ACKed here, §17.1.1.3)
    nothing final within ``timeout`` ─▶ on_timeout
server side: the last response to each request (by branch + method) is kept a while,
    so a retransmitted request gets it again instead of a second answer
"""

from __future__ import annotations

import asyncio
import logging
import os
import ssl
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol, cast

from switchboard.gateways.sip.errors import SipParseError
from switchboard.gateways.sip.message import (
    Headers,
    SipMessage,
    SipRequest,
    SipResponse,
    branch_of,
    cseq,
    parse_message,
)
from switchboard.gateways.sip.streams import SipStreamConnection, connect

log = logging.getLogger(__name__)

T1 = 0.5
T2 = 4.0
MAGIC_COOKIE = "z9hG4bK"
REMEMBERED_RESPONSES = 1024

Address = tuple[str, int]


def new_branch() -> str:
    return MAGIC_COOKIE + os.urandom(8).hex()


def new_tag() -> str:
    return os.urandom(6).hex()


class RequestHandler(Protocol):
    def request(self, request: SipRequest, source: Address) -> None: ...


class ClientTransaction:
    def __init__(
        self,
        endpoint: SipEndpoint,
        request: SipRequest,
        destination: Address,
        on_response: Callable[[SipResponse], None],
        on_timeout: Callable[[], None],
        *,
        timeout: float = 64 * T1,
    ) -> None:
        self.request = request
        self.destination = destination
        self.branch = branch_of(request.header("Via")) or ""
        self.key = (self.branch, request.method)
        self.invite = request.method == "INVITE"
        self.done = False
        self._endpoint = endpoint
        self._on_response = on_response
        self._on_timeout = on_timeout
        self._interval = T1
        loop = asyncio.get_running_loop()
        self._retransmit: asyncio.TimerHandle | None = (
            None if endpoint.is_stream(destination) else loop.call_later(T1, self._again)
        )  # a stream is reliable: no retransmissions (§17.1.1.2)
        self._timeout: asyncio.TimerHandle | None = loop.call_later(timeout, self._timed_out)
        endpoint.clients[self.key] = self
        endpoint.send(request, destination)

    def receive(self, response: SipResponse) -> None:
        if self.invite and response.status >= 300:
            self._endpoint.send(ack_for(self.request, response), self.destination)
        if self.done:
            if self.invite and 200 <= response.status < 300:
                self._on_response(response)  # a retransmitted 2xx: the TU ACKs it again
            return
        if response.status < 200:
            if self.invite:  # proceeding: the TU (its CANCEL, its timer) ends it now
                self._stop_timers()
            else:
                self._interval = T2
            self._on_response(response)
            return
        self.done = True
        self._stop_timers()
        loop = asyncio.get_running_loop()  # absorb retransmitted finals a while, then forget
        loop.call_later(64 * T1, self._endpoint.clients.pop, self.key, None)
        self._on_response(response)

    def stop(self) -> None:
        """Nothing more is wanted from it (the TU gave up)."""
        self.done = True
        self._stop_timers()
        self._endpoint.clients.pop(self.key, None)

    def fail(self) -> None:
        self._stop_timers()
        self._timed_out()

    def _again(self) -> None:
        if self.done:
            return
        self._endpoint.send(self.request, self.destination)
        self._interval = self._interval * 2 if self.invite else min(self._interval * 2, T2)
        self._retransmit = asyncio.get_running_loop().call_later(self._interval, self._again)

    def _timed_out(self) -> None:
        self._timeout = None
        if not self.done:
            self.stop()
            self._on_timeout()

    def _stop_timers(self) -> None:
        for timer in (self._retransmit, self._timeout):
            if timer is not None:
                timer.cancel()
        self._retransmit = self._timeout = None


class OkResender:
    """A UAS's 2xx to an INVITE, sent again until its ACK comes (RFC 3261 §13.3.1.4): after
    T1, doubling up to T2; after 64·T1 without an ACK, ``on_give_up``. ``stop`` on the ACK."""

    def __init__(self, send: Callable[[], None], on_give_up: Callable[[], None]) -> None:
        self._send = send
        self._on_give_up = on_give_up
        self._interval = T1
        self._waited = 0.0
        self._timer: asyncio.TimerHandle | None = asyncio.get_running_loop().call_later(
            T1, self._again
        )

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _again(self) -> None:
        self._timer = None
        self._waited += self._interval
        if self._waited >= 64 * T1:
            self._on_give_up()
            return
        self._send()
        self._interval = min(self._interval * 2, T2)
        self._timer = asyncio.get_running_loop().call_later(self._interval, self._again)


def ack_for(invite: SipRequest, response: SipResponse) -> SipRequest:
    """The ACK of a non-2xx final response: same branch, To with the response's tag."""
    headers = Headers(
        (
            ("Via", invite.header("Via") or ""),
            ("Max-Forwards", "70"),
            ("From", invite.header("From") or ""),
            ("To", response.header("To") or ""),
            ("Call-ID", invite.header("Call-ID") or ""),
            ("CSeq", f"{cseq(invite.headers)[0]} ACK"),
        )
    )
    for route in invite.headers.get_all("Route"):
        headers = Headers((*headers.items, ("Route", route)))
    return SipRequest("ACK", invite.uri, headers)


def response_to(
    request: SipRequest, status: int, reason: str, *, to_tag: str | None = None
) -> SipResponse:
    """A response echoing the request's Via, From, To (tagged), Call-ID and CSeq (§8.2.6)."""
    to = request.header("To") or ""
    if to_tag is not None and ";tag=" not in to:
        to = f"{to};tag={to_tag}"
    items = [("Via", via) for via in request.headers.get_all("Via")]
    items += [("Record-Route", rr) for rr in request.headers.get_all("Record-Route")]
    items += [
        ("From", request.header("From") or ""),
        ("To", to),
        ("Call-ID", request.header("Call-ID") or ""),
        ("CSeq", request.header("CSeq") or ""),
    ]
    return SipResponse(status, reason, Headers(tuple(items)))


class SipEndpoint(asyncio.DatagramProtocol):
    def __init__(self, handler: RequestHandler) -> None:
        self.handler = handler
        self.transport: asyncio.DatagramTransport | None = None
        self.clients: dict[tuple[str, str], ClientTransaction] = {}  # (branch, method)
        self.dropped = 0  # datagrams that were not SIP
        self.stream_peers: set[Address] = set()  # trunks signalled over TCP
        self.trusted_hosts: set[str] | None = None  # who may open TCP to us (None: anyone)
        self.connections: dict[Address, SipStreamConnection] = {}
        # trunks over TLS: the client context verifying them and the name their cert carries
        self.tls_peers: dict[Address, tuple[ssl.SSLContext, str]] = {}
        self.tls_connections: set[Address] = set()  # accepted on our TLS port
        self.tls_address: Address | None = None  # our TLS listener, if any
        self._server: asyncio.Server | None = None
        self._tls_server: asyncio.Server | None = None
        self._connecting: set[asyncio.Task[None]] = set()
        self._answered: OrderedDict[tuple[str, str], tuple[SipResponse, Address]] = OrderedDict()

    @property
    def address(self) -> Address:
        assert self.transport is not None
        host, port = self.transport.get_extra_info("sockname")[:2]
        return str(host), int(port)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # 3.11's selector datagram transport is not a DatagramTransport subclass
        self.transport = cast(asyncio.DatagramTransport, transport)

    async def listen_tcp(self, host: str, port: int) -> None:
        """Accept SIP over TCP too (on the UDP socket's port number)."""
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: SipStreamConnection(self), host, port)

    async def listen_tls(self, host: str, port: int, context: ssl.SSLContext) -> None:
        """Accept SIP over TLS (RFC 3261 §26.2: 5061) with the node's certificate."""
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            lambda: SipStreamConnection(self, tls=True), host, port, ssl=context
        )
        self._tls_server = server
        sockname = server.sockets[0].getsockname()
        self.tls_address = (str(sockname[0]), int(sockname[1]))

    def is_tls(self, destination: Address) -> bool:
        return destination in self.tls_peers or destination in self.tls_connections

    def trusts(self, host: str) -> bool:
        return self.trusted_hosts is None or host in self.trusted_hosts

    def is_stream(self, destination: Address) -> bool:
        return destination in self.stream_peers or destination in self.connections

    def via(self, destination: Address) -> str:
        host, port = self._own(destination)
        transport = self._transport(destination).upper()
        return f"SIP/2.0/{transport} {host}:{port};branch={new_branch()};rport"

    def contact(self, destination: Address, user: str = "switchboard") -> str:
        host, port = self._own(destination)
        transport = self._transport(destination)
        suffix = f";transport={transport}" if transport != "udp" else ""
        return f"<sip:{user}@{host}:{port}{suffix}>"

    def _transport(self, destination: Address) -> str:
        if self.is_tls(destination):
            return "tls"
        return "tcp" if self.is_stream(destination) else "udp"

    def _own(self, destination: Address) -> Address:
        """Where the peer reaches us: our TLS port for a TLS peer, else the SIP port."""
        if self.tls_address is not None and self.is_tls(destination):
            return self.address[0], self.tls_address[1]
        return self.address

    def close(self) -> None:
        for client in list(self.clients.values()):
            client.stop()
        for task in self._connecting:
            task.cancel()
        for connection in list(self.connections.values()):
            connection.close()
        for server in (self._server, self._tls_server):
            if server is not None:
                server.close()
        if self.transport is not None:
            self.transport.close()

    def send(self, message: SipMessage, destination: Address) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        if isinstance(message, SipResponse) and message.status >= 200:
            request_key = _key(message)
            if request_key is not None:
                self._answered[request_key] = (message, destination)
                while len(self._answered) > REMEMBERED_RESPONSES:
                    self._answered.popitem(last=False)
        if self.is_stream(destination):
            self._stream_to(destination).write(message.to_bytes())
        else:
            self.transport.sendto(message.to_bytes(), destination)

    def unreachable(self, destination: Address) -> None:
        """A transport error: what waits for an answer from there gives up now."""
        for client in list(self.clients.values()):
            if client.destination == destination and not client.done:
                client.fail()

    def _stream_to(self, destination: Address) -> SipStreamConnection:
        connection = self.connections.get(destination)
        if connection is None:
            connection = self.connections[destination] = SipStreamConnection(self, destination)
            tls = self.tls_peers.get(destination)
            task = asyncio.get_running_loop().create_task(connect(self, connection, tls))
            self._connecting.add(task)
            task.add_done_callback(self._connecting.discard)
        return connection

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.received(data, (addr[0], addr[1]))

    def received(self, data: bytes, addr: Address) -> None:
        """One message, from a datagram or framed off a TCP connection."""
        if data.strip() == b"":
            return  # CRLF keep-alive (RFC 5626)
        try:
            message = parse_message(data)
        except SipParseError as exc:
            self.dropped += 1
            log.debug("dropped a datagram from %s: %s", addr, exc)
            return
        source = (addr[0], addr[1])
        if isinstance(message, SipResponse):
            key = _key(message)
            client = self.clients.get(key) if key is not None else None
            if client is not None:
                client.receive(message)
            return
        key = _key(message)
        if message.method != "ACK" and key is not None and key in self._answered:
            response, destination = self._answered[key]
            self.send(response, destination)  # a retransmitted request: the same answer
            return
        try:
            self.handler.request(message, source)
        except SipParseError as exc:
            self.send(response_to(message, 400, "Bad Request"), source)
            log.debug("a bad %s from %s: %s", message.method, source, exc)


def _key(message: SipMessage) -> tuple[str, str] | None:
    branch = branch_of(message.header("Via"))
    if branch is None:
        return None
    try:
        method = cseq(message.headers)[1]
    except SipParseError:
        return None
    return branch, method
