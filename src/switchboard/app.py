"""The composition root: the one place that picks concrete classes and wires them together.

Switchboard(settings)
  ├─ Database (SQLite file in the data dir, or PostgreSQL)     storage/
  ├─ Bus (MemoryBus, or RedisBus when redis_url is set)        bus/
  ├─ SqlSecretStore → AccessKeyRing → HmacVerifier              storage/, http/
  ├─ SigningKeyRing → TokenCodec → IdentityService              identity/
  ├─ SqlRoomStore → RoomsService (+ Repeatability, paging)      rooms/
  ├─ NumbersService: inventory, searches, reservations, LROs   numbers/
  ├─ SmsComponent: carriers (simulator, SMPP), queue, senders    sms/, gateways/smpp/
  ├─ TurnRelay (→ CoturnSupervisor with --turn) → RelayService  traversal/
  ├─ EventsComponent: outbox, EventDispatcher, admin services    events/
  ├─ CallingComponent: signaling, group calls, media node (SFU)  calling/, media/
  └─ ASGI app: RequestContext (+ metrics) → DispatchRouter(routes) http/
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import gc
import logging
import time
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route, Router, WebSocketRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from switchboard.bus.base import Bus, Subscription
from switchboard.bus.memory import MemoryBus
from switchboard.bus.redis import RedisBus
from switchboard.calling.component import CallingComponent
from switchboard.calling.service import CallingService
from switchboard.chat.eventgrid import ChatEventGridSink
from switchboard.chat.hub import ChatHub
from switchboard.chat.models import ChatLimits
from switchboard.chat.realtime import ChatRealtime, RealtimeSettings
from switchboard.chat.roster import ChatRosterService
from switchboard.chat.routes import chat_routes
from switchboard.chat.rules import ChatRules
from switchboard.chat.service import ChatService
from switchboard.chat.store import SqlChatStore
from switchboard.chat.writer import ChatWriter
from switchboard.core.clock import SystemClock
from switchboard.core.config import Settings
from switchboard.core.errors import NotFoundError
from switchboard.events.component import EventsComponent, request_origin
from switchboard.http.accesskeys import AccessKeyRing
from switchboard.http.assets import BrowserModules
from switchboard.http.auth import Authenticator
from switchboard.http.context import RequestContextMiddleware
from switchboard.http.dispatch import DispatchRouter
from switchboard.http.hmac import HmacVerifier
from switchboard.http.json import json_response
from switchboard.http.metrics import Metrics, metrics_endpoint
from switchboard.http.paging import ContinuationCodec
from switchboard.http.repeatability import Repeatability
from switchboard.identity.keys import SigningKeyRing, SqlSigningKeyStore
from switchboard.identity.models import MAX_TOKEN_MINUTES
from switchboard.identity.routes import identity_routes
from switchboard.identity.service import IdentityService
from switchboard.identity.store import SqlIdentityStore
from switchboard.identity.tokens import TokenCodec
from switchboard.numbers.routes import numbers_routes
from switchboard.numbers.service import configured_inventory, sql_numbers_service
from switchboard.rooms.routes import rooms_routes
from switchboard.rooms.service import RoomsService
from switchboard.rooms.store import SqlRoomStore
from switchboard.sms.component import SmsComponent
from switchboard.storage.database import Database
from switchboard.storage.repeatability import SqlRepeatabilityStore
from switchboard.storage.secrets import PAGING_SECRET, RESOURCE_ID, SqlSecretStore
from switchboard.traversal.plan import plan_turn
from switchboard.traversal.relay import TurnRelay
from switchboard.traversal.routes import traversal_routes

log = logging.getLogger(__name__)

MAINTENANCE_INTERVAL_SECONDS = 60.0
ACCESS_KEYS_CHANGED = "resource.access_keys_changed"


def signing_key_ring(database: Database, settings: Settings) -> SigningKeyRing:
    return SigningKeyRing(
        SqlSigningKeyStore(database),
        clock=time.time,
        rotation_seconds=settings.signing_key_rotation_days * 86400,
        max_token_seconds=MAX_TOKEN_MINUTES * 60,
    )


class Switchboard:
    """One node: build with settings, ``start()``, serve ``asgi``, ``stop()``."""

    def __init__(self, settings: Settings, *, port: int | None = None) -> None:
        self.settings = settings
        self.clock = time.time
        self.database = Database(settings.effective_database_url)
        self.bus: Bus = (
            RedisBus(settings.redis_url, settings.redis_namespace)
            if settings.redis_url
            else MemoryBus()
        )
        self.secrets = SqlSecretStore(self.database)
        self.access_keys = AccessKeyRing(self.secrets, clock=self.clock)
        self.signing_keys = signing_key_ring(self.database, settings)
        self.metrics = Metrics()
        self.port = port if port is not None else settings.port
        self.identity: IdentityService | None = None
        self.chat_hub: ChatHub | None = None
        self.rooms: RoomsService | None = None
        # Built now (no I/O) so other components can take it; start() loads the inventory.
        self.numbers = sql_numbers_service(self.database, SystemClock())
        self.calling_component = CallingComponent(settings, self.bus, self.database)
        self.calling: CallingService | None = None
        self.turn = TurnRelay(plan_turn(settings), self.secrets, SystemClock())
        # Built now so producers can take the outbox; delivery starts in start().
        self.events = EventsComponent(
            settings, self.database, self.bus, clock=self.clock, registry=self.metrics.registry
        )
        self.sms = SmsComponent(
            settings, self.database, self.numbers, self.events.outbox, clock=self.clock
        )
        self._background: list[asyncio.Task[None]] = []
        # Request id, errors and metrics in one layer (http/context.py says why).
        self.asgi: ASGIApp = RequestContextMiddleware(_LazyRouter(self), self.metrics)
        self._router: Router | None = None

    async def start(self) -> None:
        try:
            await self._start()
        except BaseException:
            # Stop whatever did start (sockets, coturn, the bus) before reporting the failure.
            with contextlib.suppress(Exception):
                await self.stop()
            raise

    async def _start(self) -> None:
        await self.database.start()
        await self.bus.start()
        await self.access_keys.load()
        await self.signing_keys.load()
        resource_id = await self.secrets.get_or_create(RESOURCE_ID)
        tokens = TokenCodec(self.signing_keys, resource_id=resource_id, clock=self.clock)
        self.identity = IdentityService(
            SqlIdentityStore(self.database),
            tokens,
            self.bus,
            resource_id=resource_id,
            clock=self.clock,
        )
        await self.identity.start()
        endpoint = urlsplit(self.settings.endpoint(self.port))
        hmac = HmacVerifier(
            self.access_keys,
            clock=self.clock,
            max_skew_seconds=self.settings.hmac_max_skew_seconds,
            public_authorities=[endpoint.netloc],
        )
        authenticator = Authenticator(hmac, self.identity)
        system_clock = SystemClock()
        paging_secret = await self.secrets.get_or_create(PAGING_SECRET)
        paging = ContinuationCodec(base64.b64decode(paging_secret))
        repeatability = Repeatability(SqlRepeatabilityStore(self.database), system_clock)
        self._repeatability = repeatability
        self.rooms = RoomsService(SqlRoomStore(self.database), system_clock, bus=self.bus)
        await self.numbers.start(configured_inventory(self.settings))
        # Before the TURN relay: a bad [[events.subscriptions]] entry fails here, with nothing
        # (no coturn process) left behind.
        await self.events.start(resource_id=resource_id, origin=request_origin(self.settings))
        relay = await self.turn.start()
        await self.sms.start()  # after the inventory: carriers come from it
        chat_store = SqlChatStore(self.database)
        self._chat_store = chat_store
        chat_rules = ChatRules(
            ChatLimits(
                max_message_bytes=self.settings.chat_max_message_bytes,
                max_participants=self.settings.chat_max_participants,
                max_participants_per_add=self.settings.chat_max_participants_per_add,
                max_participants_for_receipts_and_typing=(
                    self.settings.chat_max_participants_for_typing_and_receipts
                ),
            )
        )
        chat_writer = ChatWriter(
            chat_store,
            self.bus,
            clock=self.clock,
            sink=ChatEventGridSink(self.events.outbox, wants=self.events.wants),
        )
        self.chat = ChatService(chat_store, chat_writer, self.identity, chat_rules)
        chat_roster = ChatRosterService(chat_store, chat_writer, self.identity, chat_rules)
        self.chat_hub = ChatHub(chat_store, self.bus)
        await self.chat_hub.start()
        self.calling = await self.calling_component.start(
            relay,
            self.identity,
            self.events.outbox,
            wants=self.events.wants,
            clock=self.clock,
            rooms=self.rooms,
        )
        realtime = ChatRealtime(
            self.chat_hub,
            chat_store,
            self.identity,
            clock=self.clock,
            settings=RealtimeSettings(heartbeat_seconds=self.settings.chat_heartbeat_seconds),
        )
        self._router = DispatchRouter(
            routes=[
                *self._operational_routes(),
                *identity_routes(self.identity, authenticator),
                *chat_routes(self.chat, chat_roster, authenticator, paging, repeatability),
                WebSocketRoute("/chat/realtime", realtime.handle),
                *self.calling_component.routes(),
                Mount("/sdk", BrowserModules(), name="sdk"),
                *rooms_routes(self.rooms, authenticator, repeatability, paging),
                *numbers_routes(self.numbers, authenticator),
                *self.sms.routes(authenticator),
                *traversal_routes(relay, authenticator),
                *self.events.routes(authenticator, paging),
            ],
            redirect_slashes=False,
            default=_not_found,
        )
        keys_changed = await self.bus.subscribe(ACCESS_KEYS_CHANGED)
        self._background = [
            asyncio.create_task(self._maintain()),
            asyncio.create_task(self._watch_access_keys(keys_changed)),
        ]
        # Everything built so far lives as long as the node: move it out of the collector's
        # way, and collect young objects less often. With many sockets open a full collection
        # otherwise stalls the loop for 100+ ms (bench/chat.py showed it in the p99).
        gc.collect()
        gc.freeze()
        gc.set_threshold(20_000, 50, 100)
        log.info("switchboard node started (resource %s)", resource_id)

    async def stop(self) -> None:
        for task in self._background:
            task.cancel()
        for task in self._background:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.calling_component.stop()  # its event sink writes to the outbox
        await self.sms.stop()  # its carriers hand inbound messages to the outbox
        await self.events.stop()  # before the bus and database it delivers from
        if self.chat_hub is not None:
            await self.chat_hub.stop()
        if self.identity is not None:
            await self.identity.stop()
        await self.turn.stop()
        await self.bus.stop()
        await self.database.stop()

    async def connection_string(self) -> str:
        primary, _ = await self.secrets.access_keys()
        return f"endpoint={self.settings.endpoint(self.port)};accesskey={primary}"

    @contextlib.asynccontextmanager
    async def lifespan(self, _app: object) -> AsyncIterator[None]:
        await self.start()
        try:
            yield
        finally:
            await self.stop()

    def _operational_routes(self) -> list[BaseRoute]:
        async def health(_: Request) -> Response:
            return json_response({"status": "ok"})

        async def ready(_: Request) -> Response:
            database, bus = await asyncio.gather(self.database.ping(), self.bus.ping())
            body = {
                "status": "ready" if database and bus else "not ready",
                "database": database,
                "bus": bus,
            }
            return json_response(body, 200 if database and bus else 503)

        async def jwks(_: Request) -> Response:
            return json_response(self.signing_keys.jwks())

        return [
            Route("/health", health, methods=["GET"]),
            Route("/health/ready", ready, methods=["GET"]),
            Route("/metrics", metrics_endpoint(self.metrics), methods=["GET"]),
            Route("/.well-known/jwks.json", jwks, methods=["GET"]),
        ]

    async def _maintain(self) -> None:
        """Periodic upkeep: pick up keys other nodes rotated (rotate when due); forget what is
        past retention (chat events, stored repeatable responses)."""
        while True:
            await asyncio.sleep(MAINTENANCE_INTERVAL_SECONDS)
            try:
                await self.signing_keys.load()
                retention_ms = self.settings.chat_event_retention_hours * 3_600_000
                await self._chat_store.prune_events(int(self.clock() * 1000 - retention_ms))
                await self._repeatability.prune()
            except Exception:  # upkeep must survive a database blip; it retries next round
                log.exception("maintenance round failed")

    async def _watch_access_keys(self, changes: Subscription) -> None:
        """Re-read the access keys when told (bus) or every few seconds, whichever is first,
        so a rotated key stops working promptly on every node."""
        interval = self.settings.access_key_reload_seconds
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changes.get(), timeout=interval)
            try:
                await self.access_keys.load()
            except Exception:  # a database blip must not end the watcher; next round retries
                log.exception("reloading access keys failed")


class _LazyRouter:
    """Routes exist only after start() (they need started services); lifespan goes first."""

    def __init__(self, node: Switchboard) -> None:
        self._node = node

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await Router(lifespan=self._node.lifespan)(scope, receive, send)
            return
        router = self._node._router
        if router is None:
            raise RuntimeError("the node has not started")
        await router(scope, receive, send)


async def _not_found(scope: Scope, _receive: Receive, send: Send) -> None:
    if scope["type"] == "websocket":
        # No route: refuse the upgrade (the server answers 403) rather than fail with a 500,
        # which clients would retry forever.
        await send({"type": "websocket.close", "code": 1008, "reason": "no such endpoint"})
        return
    raise NotFoundError(f"No resource at {scope.get('method', '')} {scope.get('path', '')}.")
