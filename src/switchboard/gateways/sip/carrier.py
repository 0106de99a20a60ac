"""SipCarrier: calling's VoiceCarrier over SIP trunks (UDP or TCP), and the node's SIP socket.

dial(caller id, number, listener) ─▶ SipRouting.trunks_for(number) ─▶ OutboundSipCall
    (no route ─▶ failed 404 not in service)
the socket (SipEndpoint) ─▶ request(request, source):
    in a known call (Call-ID) ─▶ that call
    INVITE from a trunk ─▶ RTP port, SDP answer ─▶ InboundSipCall ─▶ 180 ─▶ the
        InboundCallHandler (PendingCalls) ─ not from a trunk: 403; no common codec (or, from
        a TLS trunk, no SDES key): 488; trunk full: 503
TLS: our listener (``tls``: the node's certificate) for trunks calling in; TLS trunks are
    called over TLS, their certificate verified against ``ca_file`` and their host name
    OPTIONS ─▶ 200 · ACK (stray) ─▶ nothing · else ─▶ 481
OPTIONS keep-alive per trunk every ``options_seconds``: an answer (any) ─▶ up; none ─▶
    down (skipped by dial; an INVITE that times out marks it down too)
register = true ─▶ TrunkRegistration (registration.py): down until registered, and while a
    REGISTER fails; un-REGISTERed on stop
tick() (the node's EndpointTicker, every 20 ms) ─▶ every bridged call's RtpBridge
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

from switchboard.calling.pstn.ports import InboundCallHandler, PhoneCallListener
from switchboard.core.tasks import TaskScope
from switchboard.gateways.sip import sdp
from switchboard.gateways.sip.errors import SipParseError, TrunkConfigError
from switchboard.gateways.sip.inbound import InboundSipCall
from switchboard.gateways.sip.media import RtpBridge, open_bridge
from switchboard.gateways.sip.message import Headers, SipRequest, tag_of
from switchboard.gateways.sip.outbound import OutboundSipCall, OutboundState
from switchboard.gateways.sip.reasons import NO_ROUTE
from switchboard.gateways.sip.registration import TrunkRegistration
from switchboard.gateways.sip.transactions import (
    Address,
    ClientTransaction,
    SipEndpoint,
    new_tag,
    response_to,
)
from switchboard.gateways.sip.trunks import SipRouting, Transport, Trunk

log = logging.getLogger(__name__)

INVITE_TIMEOUT = 8.0  # no final answer from a trunk within this: try the next trunk
OPTIONS_TIMEOUT = 4.0


@dataclass(slots=True)
class TrunkHealth:
    up: bool = True
    active: int = 0  # calls it carries now (either way)
    registered: bool = True  # a trunk with register = true: registered now

    @property
    def usable(self) -> bool:
        return self.up and self.registered


_STREAMED = (Transport.TCP, Transport.TLS)  # transports on one connection per trunk


class SipCarrier:
    def __init__(
        self,
        routing: SipRouting,
        inbound: InboundCallHandler,
        *,
        host: str = "127.0.0.1",
        port: int = 5060,
        media_host: str | None = None,
        invite_timeout: float = INVITE_TIMEOUT,
        tls: tuple[int, ssl.SSLContext] | None = None,
    ) -> None:
        """``tls``: our SIP-over-TLS port (0: any) and the context with the node's
        certificate; None: no TLS listener (TLS trunks are still called)."""
        if host in ("0.0.0.0", "::", ""):  # it is written into SDP, Via and Contact
            raise TrunkConfigError("sip_host must be the address carriers reach, not a wildcard.")
        self.routing = routing
        self.media_host = media_host or host
        self.invite_timeout = invite_timeout
        self.calls: dict[str, OutboundSipCall | InboundSipCall] = {}  # by Call-ID
        self.ticking: set[RtpBridge] = set()
        self.health: dict[str, TrunkHealth] = {}
        self.registrations: dict[str, TrunkRegistration] = {}  # trunks with register = true
        self._inbound = inbound
        self._host = host
        self._port = port
        self._endpoint: SipEndpoint | None = None
        self._scope = TaskScope("sip carrier")
        self._health_changed = asyncio.Event()
        self._resolved: dict[str, Trunk] = {}  # trunk hosts and their addresses
        self._addresses: dict[str, str] = {}  # trunk name ─▶ its host's first address
        self._arriving: set[str] = set()  # Call-IDs of INVITEs whose RTP port is opening
        self._tls = tls
        self._keep_alives: dict[str, tuple[Trunk, asyncio.Task[None]]] = {}  # by trunk name
        self._registering: dict[str, tuple[Trunk, asyncio.Task[None]]] = {}  # by trunk name

    # ── life ─────────────────────────────────────────────────────────────────────────

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        _, self._endpoint = await loop.create_datagram_endpoint(
            lambda: SipEndpoint(self), local_addr=(self._host, self._port)
        )
        self._resolved = await self._trunk_addresses()
        self._endpoint.trusted_hosts = set(self._resolved)
        await self._endpoint.listen_tcp(self._host, self._endpoint.address[1])
        if self._tls is not None:
            await self._endpoint.listen_tls(self._host, *self._tls)
        await self._scope.start()
        self._watch_trunks()

    async def reconfigure(self, routing: SipRouting) -> None:
        """New trunks and routes, without a restart (the routing table changed): calls under
        way keep their trunk; new calls, INVITEs and OPTIONS follow the new table."""
        self.routing.replace(list(routing.trunks.values()), routing.routes)
        self._resolved = await self._trunk_addresses()
        self.endpoint.trusted_hosts = set(self._resolved)
        self._watch_trunks()
        log.info("SIP routing now: %d trunks, %d routes", len(routing.trunks), len(routing.routes))

    def _watch_trunks(self) -> None:
        """Stream (TCP, TLS) peers, one OPTIONS keep-alive and one registration per trunk
        that wants them, as the routing says now (a trunk that changed starts afresh)."""
        endpoint = self.endpoint
        trunks = self.routing.trunks
        endpoint.stream_peers = {
            (t.host, t.port) for t in trunks.values() if t.transport in _STREAMED
        }
        endpoint.tls_peers = {
            (t.host, t.port): (ssl.create_default_context(cafile=t.ca_file), t.host)
            for t in trunks.values()
            if t.secure
        }
        for name, (trunk, task) in list(self._keep_alives.items()):
            if trunks.get(name) != trunk:
                task.cancel()
                del self._keep_alives[name]
        for name, (trunk, task) in list(self._registering.items()):
            if trunks.get(name) != trunk:
                task.cancel()
                del self._registering[name]
                gone = self.registrations.pop(name)
                self.spawn(gone.stop(), f"trunk {name} un-REGISTER")
        for trunk in self.routing.trunks.values():
            if trunk.options_seconds > 0 and trunk.name not in self._keep_alives:
                task = self._scope.spawn(
                    self._keep_alive(trunk), name=f"trunk {trunk.name} OPTIONS"
                )
                self._keep_alives[trunk.name] = (trunk, task)
            elif trunk.options_seconds <= 0:
                self._mark(trunk, up=True)  # no keep-alive: taken as up
            if trunk.register and trunk.name not in self._registering:
                registration = TrunkRegistration(self, trunk, self._registered)
                self.registrations[trunk.name] = registration
                self.health.setdefault(trunk.name, TrunkHealth()).registered = False
                task = self._scope.spawn(registration.run(), name=f"trunk {trunk.name} REGISTER")
                self._registering[trunk.name] = (trunk, task)

    async def _trunk_addresses(self) -> dict[str, Trunk]:
        """The trunks by host and by address (a name is resolved now, once; one that does
        not resolve is logged and matched by name only)."""
        loop = asyncio.get_running_loop()
        hosts: dict[str, Trunk] = {}
        addresses: dict[str, str] = {}
        for trunk in self.routing.trunks.values():
            hosts.setdefault(trunk.host, trunk)
            try:
                infos = await loop.getaddrinfo(trunk.host, trunk.port, type=socket.SOCK_DGRAM)
            except OSError as exc:
                log.warning("trunk %s: %s does not resolve: %s", trunk.name, trunk.host, exc)
                continue
            for info in infos:
                hosts.setdefault(str(info[4][0]), trunk)
                addresses.setdefault(trunk.name, str(info[4][0]))
        self._addresses = addresses
        return hosts

    async def stop(self) -> None:
        await self._scope.stop()
        for call in list(self.calls.values()):
            call.hang_up()
        if self.registrations:
            await asyncio.gather(*(r.stop() for r in self.registrations.values()))
        if self._endpoint is not None:
            self._endpoint.close()

    @property
    def endpoint(self) -> SipEndpoint:
        assert self._endpoint is not None, "start() first"
        return self._endpoint

    @property
    def address(self) -> Address:
        return self.endpoint.address

    def spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        self._scope.spawn(_logged(work, name), name=name)

    # ── VoiceCarrier ─────────────────────────────────────────────────────────────────

    def routes(self, number: str) -> bool:
        """A route's pattern takes ``number`` (else the call is not ours to place)."""
        return any(route.pattern.fullmatch(number) for route in self.routing.routes)

    def dial(self, caller_id: str, number: str, listener: PhoneCallListener) -> OutboundSipCall:
        call = OutboundSipCall(self, self.routing.trunks_for(number), caller_id, number, listener)
        if not call.trunks:
            call.state = OutboundState.OVER
            asyncio.get_running_loop().call_soon(listener.failed, NO_ROUTE)
            return call
        self.spawn(call.start(), f"call to {number}")
        return call

    # ── trunks ───────────────────────────────────────────────────────────────────────

    def acquire(self, trunk: Trunk) -> bool:
        health = self.health.setdefault(trunk.name, TrunkHealth())
        if not health.usable or health.active >= trunk.max_calls:
            return False
        health.active += 1
        return True

    def release(self, trunk: Trunk) -> None:
        health = self.health.setdefault(trunk.name, TrunkHealth())
        health.active = max(0, health.active - 1)

    def trunk_unresponsive(self, trunk: Trunk) -> None:
        if trunk.options_seconds > 0:  # OPTIONS will tell when it is back
            self._mark(trunk, up=False)

    def _mark(self, trunk: Trunk, *, up: bool) -> None:
        health = self.health.setdefault(trunk.name, TrunkHealth())
        if health.up != up:
            log.warning("trunk %s is %s", trunk.name, "up" if up else "down")
            health.up = up
            self._changed()

    def _registered(self, trunk: Trunk, registered: bool) -> None:
        health = self.health.setdefault(trunk.name, TrunkHealth())
        if health.registered != registered:
            log.warning(
                "trunk %s is %s", trunk.name, "registered" if registered else "unregistered"
            )
            health.registered = registered
            self._changed()

    def _changed(self) -> None:
        self._health_changed.set()
        self._health_changed = asyncio.Event()

    async def health_changed(self) -> None:
        """Wait until a trunk goes up or down."""
        await self._health_changed.wait()

    async def _keep_alive(self, trunk: Trunk) -> None:
        while True:
            self._mark(trunk, up=await self.ping(trunk))
            await asyncio.sleep(trunk.options_seconds)

    async def ping(self, trunk: Trunk) -> bool:
        """One OPTIONS: does the trunk answer at all (any status is an answer)? A host that
        does not resolve does not (the socket sends to addresses only)."""
        address = self._addresses.get(trunk.name)
        if address is None:
            return False
        host, port = self.address
        answered: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        uri = f"sip:{trunk.host}:{trunk.port}"
        request = SipRequest(
            "OPTIONS",
            uri,
            Headers(
                (
                    ("Via", self.endpoint.via((trunk.host, trunk.port))),
                    ("Max-Forwards", "70"),
                    ("From", f"<sip:switchboard@{host}:{port}>;tag={new_tag()}"),
                    ("To", f"<{uri}>"),
                    ("Call-ID", new_tag() + new_tag()),
                    ("CSeq", "1 OPTIONS"),
                )
            ),
        )

        def settle(value: bool) -> None:
            if not answered.done():
                answered.set_result(value)

        ClientTransaction(
            self.endpoint,
            request,
            (address, trunk.port),
            lambda response: settle(True),
            lambda: settle(False),
            timeout=OPTIONS_TIMEOUT,
        )
        return await answered

    # ── the socket's requests (RequestHandler) ───────────────────────────────────────

    def request(self, request: SipRequest, source: Address) -> None:
        call = self.calls.get(request.header("Call-ID") or "")
        if call is not None:
            call.request(request, source)
            return
        method = request.method
        if method == "INVITE" and tag_of(request.header("To")) is None:
            call_id = request.header("Call-ID") or ""
            if call_id in self._arriving:  # retransmitted while we set it up
                self.endpoint.send(response_to(request, 100, "Trying"), source)
                return
            self._arriving.add(call_id)
            self.spawn(self._incoming(request, source), "incoming SIP call")
        elif method == "OPTIONS":
            ok = response_to(request, 200, "OK", to_tag=new_tag())
            self.endpoint.send(ok.with_header("Allow", "INVITE, ACK, CANCEL, BYE, OPTIONS"), source)
        elif method != "ACK":
            self.endpoint.send(response_to(request, 481, "Call/Transaction Does Not Exist"), source)

    async def _incoming(self, invite: SipRequest, source: Address) -> None:
        try:
            await self._set_up_incoming(invite, source)
        finally:
            self._arriving.discard(invite.header("Call-ID") or "")

    async def _set_up_incoming(self, invite: SipRequest, source: Address) -> None:
        trunk = self.routing.trunk_for_peer(*source) or self._resolved.get(source[0])
        if trunk is None:
            self.endpoint.send(response_to(invite, 403, "Forbidden", to_tag=new_tag()), source)
            return
        try:
            offer = sdp.parse_sdp(invite.body)
        except SipParseError:
            self.endpoint.send(response_to(invite, 488, "Not Acceptable Here"), source)
            return
        if not self.acquire(trunk):
            self.endpoint.send(response_to(invite, 503, "Service Unavailable"), source)
            return
        self.endpoint.send(response_to(invite, 100, "Trying"), source)
        bridge = await open_bridge(self.media_host, frozenset({trunk.host, source[0]}))
        origin = sdp.new_origin()
        agreed = sdp.answer_to(
            offer,
            self.media_host,
            bridge.port,
            trunk.codecs,
            origin=origin,
            srtp_key=bridge.srtp_key if trunk.secure else None,
        )
        if agreed is None:
            bridge.close()
            self.release(trunk)
            self.endpoint.send(response_to(invite, 488, "Not Acceptable Here"), source)
            return
        call = InboundSipCall(self, invite, source, trunk, bridge, *agreed, origin)
        self.calls[call.call_id] = call
        call.ring()
        call.listener = self._inbound.incoming(call)

    def inbound_over(self, call: InboundSipCall) -> None:
        if self.calls.get(call.call_id) is call:
            del self.calls[call.call_id]
            self.release(call.trunk)

    # ── Tickable ─────────────────────────────────────────────────────────────────────

    def tick(self) -> None:
        for bridge in list(self.ticking):
            bridge.tick()


async def _logged(work: Coroutine[Any, Any, None], name: str) -> None:
    try:
        await work
    except Exception:
        log.exception("%s failed", name)
