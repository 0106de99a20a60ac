"""ACS's chat real-time channel ("trouter"), server side (docs/trouter.md).

What the unmodified ``@azure/communication-chat`` browser SDK does on
``startRealtimeNotifications()``, and what answers it here:

    GET  /chat/config/realTimeNotifications (Bearer) ─▶ {trouterServiceUrl: origin,
         registrarServiceUrl: origin/registrar, cloudType}
    POST /v4/a (X-Skypetoken) ─▶ allocation {socketio: origin/, surl, connectparams{sr}, ttl}
    GET  /socket.io/1/?sr=… ─▶ "sid:heartbeat:close:websocket"
    WS   /socket.io/1/websocket/{sid} ─▶ TrouterSocket (chat/trouter/socket.py)
    POST /registrar/v3/registrations {registrationId, transports.TROUTER[0].path = surl}
         ─▶ bind the registration to that socket: replay after its cursor, then live
    socket ends ─▶ bus "chat.trouter.cursors" {registrationId, user, cursor} ─▶ every node
         remembers it, so the client's next registration resumes there on whichever node
    DELETE /registrar/v3/registrations/{registrationId} ─▶ forget it

The paths ``/v4/a`` and ``/socket.io/1/`` sit at the root because the client puts them
there: it reconnects to ``{socketio}v4/a`` and Socket.IO 0.9's resource is ``socket.io``.
"""

from __future__ import annotations

import contextlib
import logging
from urllib.parse import urlsplit

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from switchboard.bus.base import Bus, Subscription
from switchboard.chat.access import ANY_CHAT
from switchboard.chat.hub import ChatHub
from switchboard.chat.store import ChatStore
from switchboard.chat.trouter import socketio
from switchboard.chat.trouter.registrations import Allocation, TrouterRegistry
from switchboard.chat.trouter.socket import CLOSE_TOO_SLOW, TrouterSocket
from switchboard.core.clock import Clock
from switchboard.core.errors import (
    AuthenticationError,
    BadRequestError,
    NotFoundError,
    SwitchboardError,
)
from switchboard.core.principal import Principal
from switchboard.core.tasks import TaskScope
from switchboard.http.apiversion import ApiVersions
from switchboard.http.auth import Authenticator
from switchboard.http.json import decode_json, empty_response, json_response, read_body
from switchboard.http.routing import Auth, request_origin, route
from switchboard.http.websocket import close_code, close_quietly
from switchboard.http.websocket_session import (
    HeartbeatSession,
    HeartbeatSettings,
    SessionClosedError,
    SlowClientLimit,
    TokenAuthority,
)

log = logging.getLogger(__name__)

CURSORS = "chat.trouter.cursors"
CONFIG_VERSIONS = ApiVersions("Chat", ["2024-09-01"])
HEARTBEAT_SECONDS = 25.0
HEARTBEAT_TIMEOUT = 60  # what the handshake tells the client: a packet at least this often
REGISTRAR_PATH = "/registrar/v3/registrations"
QUEUE_LIMIT = 10_000  # frames waiting for a socket that does not read: closed (4010)


class TrouterTransport(msgspec.Struct, frozen=True):
    path: str
    context: str = ""
    ttl: float | None = None


class RegistrationTransports(msgspec.Struct, frozen=True, rename={"trouter": "TROUTER"}):
    trouter: list[TrouterTransport]


class RegisterRequest(msgspec.Struct, frozen=True, rename="camel"):
    registration_id: str
    transports: RegistrationTransports


class CursorNote(msgspec.Struct, array_like=True):
    """On the bus when a registration's socket ends: where a reconnect on any node resumes."""

    registration_id: str
    user_id: str
    cursor: int


class TrouterServer:
    def __init__(
        self,
        hub: ChatHub,
        bus: Bus,
        store: ChatStore,
        tokens: TokenAuthority,
        *,
        clock: Clock,
        heartbeat_seconds: float = HEARTBEAT_SECONDS,
    ) -> None:
        self._hub = hub
        self._bus = bus
        self._store = store
        self._tokens = tokens
        self._clock = clock
        self.registry = TrouterRegistry()
        self._tasks = TaskScope("trouter")
        self._notes: Subscription | None = None
        self._decoder = msgspec.json.Decoder(CursorNote)
        self._sockets: dict[str, TrouterSocket] = {}  # allocation id → its live socket
        self._settings = HeartbeatSettings(
            heartbeat_seconds,
            ping_text=socketio.HEARTBEAT,
            slow_client=SlowClientLimit(
                QUEUE_LIMIT, CLOSE_TOO_SLOW, "The client is too slow; reconnect."
            ),
            coalesce=True,  # as chat/realtime.py: one write per socket per burst of events
        )

    async def start(self) -> None:
        self._notes = await self._bus.subscribe(CURSORS)
        await self._tasks.start()
        self._tasks.spawn(self._listen(self._notes), name="trouter cursors")

    async def stop(self) -> None:
        if self._notes is not None:
            await self._notes.close()
        await self._tasks.stop()

    async def _listen(self, notes: Subscription) -> None:
        async for raw in notes:
            try:
                note = self._decoder.decode(raw)
            except msgspec.ValidationError:
                log.warning("dropping a malformed trouter cursor note")
                continue
            self.registry.remember(
                note.registration_id, note.user_id, note.cursor, self._clock.now()
            )

    def registered_sockets(self) -> int:
        """Sockets a registration is bound to (the hub's receivers among them), for metrics."""
        return sum(1 for socket in self._sockets.values() if socket.registration is not None)

    def routes(self, authenticator: Authenticator) -> list[BaseRoute]:
        return [
            route(
                "/chat/config/realTimeNotifications",
                self.configuration,
                methods=["GET"],
                auth=Auth.BEARER,
                authenticator=authenticator,
                versions=CONFIG_VERSIONS,
            ),
            route("/v4/a", self.allocate, methods=["POST"], auth=Auth.NONE),
            route("/socket.io/1/", self.handshake, methods=["GET"], auth=Auth.NONE),
            WebSocketRoute("/socket.io/1/websocket/{session_id}", self.connect),
            route(REGISTRAR_PATH, self.register, methods=["POST"], auth=Auth.NONE),
            route(
                REGISTRAR_PATH + "/{registration_id}",
                self.unregister,
                methods=["DELETE"],
                auth=Auth.NONE,
            ),
        ]

    # ── HTTP ────────────────────────────────────────────────────────────────────────

    async def configuration(self, request: Request, principal: Principal) -> Response:
        principal.require_scope(*ANY_CHAT)
        origin = request_origin(request)
        return json_response(
            {
                "trouterServiceUrl": origin,
                "registrarServiceUrl": origin + "/registrar",
                "cloudType": "public",
            }
        )

    async def allocate(self, request: Request, _: Principal) -> Response:
        token, principal = await self._caller(request)
        allocation = self.registry.allocate(
            token, principal, self._hub.next_seq - 1, self._clock.now()
        )
        origin = request_origin(request)
        surl = self._surl(origin, allocation)
        return json_response(
            {
                "id": allocation.id,
                "socketio": origin + "/",
                "surl": surl,
                "url": surl,
                "ccid": "",
                "curlb": origin,
                "ttl": str(int(allocation.expires_at - self._clock.now())),
                "connectparams": {"sr": allocation.id},
            }
        )

    async def handshake(self, request: Request, _: Principal) -> Response:
        allocation = self.registry.allocation(request.query_params.get("sr", ""))
        if allocation is None:
            raise NotFoundError("Unknown or expired trouter allocation; allocate again.")
        body = socketio.handshake(allocation.session_id, HEARTBEAT_TIMEOUT, HEARTBEAT_TIMEOUT)
        return Response(body, 200, media_type="text/plain")

    async def register(self, request: Request, _: Principal) -> Response:
        _token, principal = await self._caller(request)
        body = decode_json(await read_body(request, 64 * 1024), RegisterRequest)
        if not body.transports.trouter:
            raise BadRequestError("A registration needs a TROUTER transport.")
        allocation_id = urlsplit(body.transports.trouter[0].path).path.rstrip("/")
        allocation_id = allocation_id.rsplit("/", 1)[-1]
        socket = self._sockets.get(allocation_id)
        if socket is None or socket.user_id != principal.user_id:
            raise NotFoundError("No connected trouter socket at that path; connect again.")
        registration = self.registry.register(
            body.registration_id, socket.allocation, socket, self._clock.now()
        )
        await socket.bind(registration, self._store)
        return json_response({"registrationId": registration.id, "ttl": 86_400}, 202)

    async def unregister(self, request: Request, _: Principal) -> Response:
        _token, principal = await self._caller(request)
        self.registry.unregister(request.path_params["registration_id"], principal.user_id or "")
        return empty_response(200)

    async def _caller(self, request: Request) -> tuple[str, Principal]:
        """The user behind ``X-Skypetoken`` (what the trouter client sends) or a Bearer."""
        token = request.headers.get("x-skypetoken", "")
        authorization = request.headers.get("authorization", "")
        if not token and authorization.lower().startswith("bearer "):
            token = authorization[7:].strip()
        if not token:
            raise AuthenticationError("An X-Skypetoken or Authorization header is required.")
        principal = await self._tokens.authenticate_token(token)
        principal.require_scope(*ANY_CHAT)
        return token, principal

    @staticmethod
    def _surl(origin: str, allocation: Allocation) -> str:
        return f"{origin}/trouter/{allocation.id}"

    # ── the socket ──────────────────────────────────────────────────────────────────

    async def connect(self, websocket: WebSocket) -> None:
        allocation = self.registry.by_session(websocket.path_params["session_id"])
        await websocket.accept()
        if allocation is None:
            await close_quietly(websocket, 4004, "Unknown socket.io session; allocate again.")
            return
        try:  # the token may have been revoked since the allocation
            principal = await self._tokens.authenticate_token(allocation.token)
        except SwitchboardError as exc:
            await close_quietly(websocket, close_code(exc), exc.message)
            return
        session = HeartbeatSession(
            websocket,
            allocation.token,
            principal,
            self._tokens,
            clock=self._clock,
            settings=self._settings,
        )
        origin = f"{'https' if websocket.url.scheme == 'wss' else 'http'}://{websocket.url.netloc}"
        socket = TrouterSocket(session, allocation, self._hub, self._surl(origin, allocation))
        previous = self._sockets.pop(allocation.id, None)
        if previous is not None:
            previous.closed()
        self._sockets[allocation.id] = socket
        socket.greet()
        try:
            await session.run(socket.on_text)
        except SessionClosedError as closed:
            await close_quietly(websocket, closed.code, closed.reason)
        except WebSocketDisconnect:
            pass
        finally:
            registration = socket.registration
            socket.closed()
            if self._sockets.get(allocation.id) is socket:
                del self._sockets[allocation.id]
            self.registry.release(allocation)
            if registration is not None:  # a reconnect may land on another node
                note = CursorNote(registration.id, registration.user_id, registration.cursor)
                with contextlib.suppress(Exception):  # the bus down: this node still knows
                    await self._bus.publish(CURSORS, msgspec.json.encode(note))
