"""The signaling WebSocket ``/calling/signaling`` (subprotocol ``switchboard.calling.v1``).

connect(token, subprotocol) ─▶ authenticate (voip scope) ─▶ accept ─▶ first frame: register
    ─▶ ack {deviceId, iceServers, …} (+ replay of missed frames when resuming) ─▶ requests,
       frames, pings until: token expiry (4001) · revocation (4003, calls end now) · no pong
       (4008) · replaced by a newer socket of the device (4011) · unregister (1000)

A socket that just drops leaves the device registered for the reconnect grace period: its
calls go on (media flows peer to peer) and it resumes with ``deviceId`` and ``lastSeq``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable
from typing import Protocol

from starlette.websockets import WebSocket, WebSocketDisconnect

from switchboard.calling import models as m
from switchboard.calling.service import CallingService
from switchboard.calling.signaling.frames import Frame, Ping, encode_frame, nack
from switchboard.calling.signaling.hub import LocalDevice
from switchboard.calling.signaling.protocol import (
    CLOSE_FORBIDDEN,
    CLOSE_HEARTBEAT,
    CLOSE_NORMAL,
    CLOSE_PROTOCOL,
    CLOSE_REVOKED,
    CLOSE_UNAUTHORIZED,
    PROTOCOL,
)
from switchboard.calling.signaling.requests import Pong, Register, Unregister, parse_request
from switchboard.core.errors import AuthenticationError, SwitchboardError, TokenRevokedError
from switchboard.core.principal import Principal
from switchboard.http.websocket import close_code, close_quietly, token_of
from switchboard.identity.models import TokenScope

log = logging.getLogger(__name__)

REGISTER_TIMEOUT = 10.0


class TokenAuthority(Protocol):
    """What the socket needs from identity (IdentityService fits)."""

    async def authenticate_token(self, token: str) -> Principal: ...

    async def revalidate_token(self, token: str) -> Principal:
        """Like authenticate_token, reading revocation state afresh."""
        ...


class _Closed(Exception):
    def __init__(self, code: int, reason: str, *, drop: m.EndReason | None = None) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.drop = drop  # end the device's calls now (instead of waiting for a reconnect)


class SocketConnection:
    """DeviceConnection for one WebSocket: frames queue here; the socket task sends them."""

    def __init__(self) -> None:
        self.outgoing: deque[str] = deque()
        self.wake = asyncio.Event()
        self.closing: tuple[int, str] | None = None
        self.recheck_due = False

    def send(self, text: str) -> None:
        self.outgoing.append(text)
        self.wake.set()

    def close(self, code: int, reason: str) -> None:
        self.closing = (code, reason)
        self.wake.set()

    def recheck(self) -> None:
        self.recheck_due = True
        self.wake.set()


class CallingSignaling:
    def __init__(
        self, service: CallingService, tokens: TokenAuthority, *, clock: Callable[[], float]
    ) -> None:
        self._service = service
        self._tokens = tokens
        self._clock = clock

    async def handle(self, websocket: WebSocket) -> None:
        offered = websocket.scope.get("subprotocols") or []
        if PROTOCOL not in offered:
            await websocket.accept()
            await close_quietly(websocket, CLOSE_PROTOCOL, f"Use the subprotocol {PROTOCOL}.")
            return
        token = token_of(websocket)
        await websocket.accept(subprotocol=PROTOCOL)
        try:
            principal = await self._tokens.authenticate_token(token)
            principal.require_scope(TokenScope.VOIP.value, TokenScope.VOIP_JOIN.value)
        except SwitchboardError as exc:
            await close_quietly(websocket, close_code(exc, forbidden=CLOSE_FORBIDDEN), exc.message)
            return
        connection = SocketConnection()
        device: LocalDevice | None = None
        try:
            device = await self._register(websocket, principal, connection)
            await self._pump(websocket, connection, device, token, principal)
        except _Closed as closed:
            if closed.drop is not None and device is not None:
                self._service.drop(device, closed.drop)
                device = None
            await close_quietly(websocket, closed.code, closed.reason)
        except (WebSocketDisconnect, TimeoutError):
            pass
        finally:
            if device is not None:
                self._service.detach(device, connection)

    async def _register(
        self, websocket: WebSocket, principal: Principal, connection: SocketConnection
    ) -> LocalDevice:
        text = await asyncio.wait_for(websocket.receive_text(), REGISTER_TIMEOUT)
        try:
            request = parse_request(text)
        except SwitchboardError as exc:
            raise _Closed(CLOSE_PROTOCOL, exc.message) from exc
        if not isinstance(request, Register):
            raise _Closed(CLOSE_PROTOCOL, "The first frame must be a register.")
        device, registered = self._service.register(
            principal.user_id or "",
            request.device_id,
            request.last_seq,
            connection,
            # voip.join (ACS: "calling without the authorization to start new calls")
            join_only=TokenScope.VOIP.value not in principal.scopes,
            request_id=request.id,
        )
        connection.outgoing.appendleft(self._text(registered))
        device.first_time(request.id)
        return device

    async def _pump(
        self,
        websocket: WebSocket,
        connection: SocketConnection,
        device: LocalDevice,
        token: str,
        principal: Principal,
    ) -> None:
        heartbeat = self._service.settings.heartbeat_seconds
        last_heard = last_ping = self._clock()
        receiver = asyncio.create_task(websocket.receive_text())
        woken = asyncio.create_task(connection.wake.wait())
        try:
            while True:
                while connection.outgoing:
                    await websocket.send_text(connection.outgoing.popleft())
                if connection.closing is not None:
                    raise _Closed(*connection.closing)
                if connection.recheck_due:
                    connection.recheck_due = False
                    await self._recheck(token)
                now = self._clock()
                expires = principal.expires_at or float("inf")
                if expires <= now:
                    raise _Closed(CLOSE_UNAUTHORIZED, "The access token has expired.")
                if now - last_heard > 2 * heartbeat:
                    raise _Closed(CLOSE_HEARTBEAT, "No pong from the client.")
                if now - last_ping >= heartbeat:
                    await websocket.send_text(self._text(Ping()))
                    last_ping = now
                deadline = min(last_ping + heartbeat, last_heard + 2 * heartbeat, expires) - now
                done, _ = await asyncio.wait(
                    {receiver, woken}, timeout=max(deadline, 0.0), return_when="FIRST_COMPLETED"
                )
                if woken in done:
                    connection.wake.clear()
                    woken = asyncio.create_task(connection.wake.wait())
                if receiver in done:
                    text = receiver.result()
                    last_heard = self._clock()
                    receiver = asyncio.create_task(websocket.receive_text())
                    self._on_frame(device, text)
        finally:
            for task in (receiver, woken):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    def _on_frame(self, device: LocalDevice, text: str) -> None:
        try:
            request = parse_request(text)
        except SwitchboardError as exc:
            self._service.hub.deliver(device.device_id, nack(None, exc.error_code, exc.message))
            return
        if isinstance(request, Pong):
            return
        if isinstance(request, Unregister):
            raise _Closed(CLOSE_NORMAL, "Unregistered.", drop=m.HUNG_UP)
        self._service.handle(device, request)

    async def _recheck(self, token: str) -> None:
        try:
            await self._tokens.revalidate_token(token)
        except TokenRevokedError as exc:
            raise _Closed(CLOSE_REVOKED, exc.message, drop=m.UNAUTHENTICATED) from exc
        except AuthenticationError as exc:
            raise _Closed(CLOSE_UNAUTHORIZED, exc.message) from exc

    @staticmethod
    def _text(frame: Frame) -> str:
        return encode_frame(frame).decode()
