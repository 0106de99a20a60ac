"""The signaling WebSocket ``/calling/signaling`` (subprotocol ``switchboard.calling.v1``).

connect(token, subprotocol) ─▶ SessionAcceptor: authenticate (voip scope) ─▶ accept
    ─▶ first frame: register ─▶ ack {deviceId, iceServers, …} (+ replay of missed frames
       when resuming) ─▶ HeartbeatSession.run: requests, frames, pings until: token expiry
       (4001) · revocation (4003, calls end now) · no pong (4008) · replaced by a newer
       socket of the device (4011) · unregister (1000)

A page that goes away (the browser closes with 1001, or the SDK unregisters on ``pagehide``)
ends the device's calls at once, but for the 1:1 calls an unregister names in ``keepCalls``
(a reload mid-call: the new page resumes the device within seconds and offers them again).
A socket that just drops leaves the device registered for the reconnect grace period: its
calls go on (media flows peer to peer) and it resumes with ``deviceId`` and ``lastSeq``.
The session is the device's DeviceConnection: the hub queues frames on it, asks it to close
(4011, after what is queued) and to recheck the token.
"""

from __future__ import annotations

import asyncio
import functools
import logging

from starlette.websockets import WebSocket, WebSocketDisconnect

from switchboard.calling import models as m
from switchboard.calling.service import CallingService
from switchboard.calling.signaling.frames import Frame, Ping, encode_frame, nack
from switchboard.calling.signaling.hub import LocalDevice
from switchboard.calling.signaling.protocol import (
    CLOSE_FORBIDDEN,
    CLOSE_NORMAL,
    CLOSE_PROTOCOL,
    CLOSE_REVOKED,
    PROTOCOL,
)
from switchboard.calling.signaling.requests import Pong, Register, Unregister, parse_request
from switchboard.core.clock import Clock
from switchboard.core.errors import SwitchboardError
from switchboard.http.websocket import close_quietly, offered_subprotocols
from switchboard.http.websocket_session import (
    HeartbeatSession,
    HeartbeatSettings,
    SessionAcceptor,
    SessionClosedError,
    TokenAuthority,
)
from switchboard.identity.models import TokenScope

log = logging.getLogger(__name__)

REGISTER_TIMEOUT = 10.0
CLOSE_GOING_AWAY = 1001  # RFC 6455: the endpoint is going away (a browser leaving the page)


class UnregisteredError(SessionClosedError):
    """The client unregistered: close normally and end the device's calls now (but those
    in ``keep``: a page reloading mid-call, which a new page resumes)."""

    def __init__(self, keep: set[str] | None = None) -> None:
        super().__init__(CLOSE_NORMAL, "Unregistered.")
        self.keep = keep or set()


class CallingSignaling:
    def __init__(self, service: CallingService, tokens: TokenAuthority, *, clock: Clock) -> None:
        self._service = service
        self._sessions = SessionAcceptor(
            tokens,
            clock=clock,
            settings=HeartbeatSettings(
                service.settings.heartbeat_seconds, ping_text=self._text(Ping())
            ),
            scopes=(TokenScope.VOIP.value, TokenScope.VOIP_JOIN.value),
            forbidden=CLOSE_FORBIDDEN,
        )

    async def handle(self, websocket: WebSocket) -> None:
        if PROTOCOL not in offered_subprotocols(websocket):
            await websocket.accept()
            await close_quietly(websocket, CLOSE_PROTOCOL, f"Use the subprotocol {PROTOCOL}.")
            return
        session = await self._sessions.accept(websocket, subprotocol=PROTOCOL)
        if session is None:
            return
        device: LocalDevice | None = None
        try:
            device = await self._register(session)
            await session.run(functools.partial(self._on_frame, device))
        except SessionClosedError as closed:
            ended = _calls_end_with(closed)
            if isinstance(closed, UnregisteredError) and closed.keep and device is not None:
                self._service.reloading(device, session, closed.keep)
                device = None
            elif ended is not None and device is not None:
                self._service.drop(device, ended)
                device = None
            await close_quietly(websocket, closed.code, closed.reason)
        except WebSocketDisconnect as gone:
            # A browser's page going away (tab closed, reload, navigation) closes with 1001:
            # the device is gone for good, not dropped by the network, so its calls (a
            # ringing one above all) learn it now rather than after the reconnect grace.
            if gone.code == CLOSE_GOING_AWAY and device is not None:
                self._service.drop(device, m.HUNG_UP)
                device = None
        except TimeoutError:
            pass
        finally:
            if device is not None:
                self._service.detach(device, session)

    async def _register(self, session: HeartbeatSession) -> LocalDevice:
        text = await asyncio.wait_for(session.websocket.receive_text(), REGISTER_TIMEOUT)
        try:
            request = parse_request(text)
        except SwitchboardError as exc:
            raise SessionClosedError(CLOSE_PROTOCOL, exc.message) from exc
        if not isinstance(request, Register):
            raise SessionClosedError(CLOSE_PROTOCOL, "The first frame must be a register.")
        principal = session.principal
        device, registered = self._service.register(
            principal.user_id or "",
            request.device_id,
            request.last_seq,
            session,
            # voip.join (ACS: "calling without the authorization to start new calls")
            join_only=TokenScope.VOIP.value not in principal.scopes,
            request_id=request.id,
        )
        session.send_first(self._text(registered))  # ahead of the replay register queued
        device.first_time(request.id)
        return device

    def _on_frame(self, device: LocalDevice, text: str) -> None:
        try:
            request = parse_request(text)
        except SwitchboardError as exc:
            self._service.hub.deliver(device.device_id, nack(None, exc.error_code, exc.message))
            return
        if isinstance(request, Pong):
            return
        if isinstance(request, Unregister):
            raise UnregisteredError(set(request.keep_calls or ()))
        self._service.handle(device, request)

    @staticmethod
    def _text(frame: Frame) -> str:
        return encode_frame(frame).decode()


def _calls_end_with(closed: SessionClosedError) -> m.EndReason | None:
    """Unregister and revocation end the device's calls now; any other close leaves them
    the reconnect grace."""
    if isinstance(closed, UnregisteredError):
        return m.HUNG_UP
    if closed.code == CLOSE_REVOKED:
        return m.UNAUTHENTICATED
    return None
