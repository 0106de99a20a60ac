"""The composition root: the one place that picks concrete classes and wires them together.

``await build_node(config)`` builds and starts one node in order, each part from its own
config section, and returns a ``Node`` with nothing left to fill in. Every part that started
registers its stop on one exit stack, so a failed build stops what did start, and
``Node.stop()`` stops everything in reverse order.

    build_node(NodeConfig)
      ├─ Database (SQLite file in the data dir, or PostgreSQL)      storage/    config.storage
      ├─ Bus: MemoryBus, or RedisBus when redis_url is set          bus/        config.bus
      ├─ SqlSecretStore ─▶ AccessKeyRing ─▶ HmacVerifier             storage/, http/  .auth
      ├─ SigningKeyRing ─▶ TokenCodec ─▶ IdentityService             identity/
      ├─ SqlRoomStore ─▶ RoomsService (+ Repeatability, paging)      rooms/
      ├─ NumbersService: inventory, searches, reservations, LROs    numbers/    .numbers
      ├─ SipRoutingService: trunks and routes (+ the file's)        siprouting/ .sip
      ├─ EventsComponent: outbox, EventDispatcher, admin services   events/     .events
      ├─ TurnRelay (─▶ CoturnSupervisor with --turn) ─▶ RelayService traversal/  .turn
      ├─ SmsComponent: carriers (simulator, SMPP), queue, senders   sms/, gateways/smpp/ .sms
      ├─ ChatService, ChatHub, ChatRealtime                         chat/       .chat
      ├─ CallingComponent: signaling, group calls, the SFU           calling/, media/ .calling
      │                                                                          .media
      ├─ push: providers, PushService, PushDispatcher; rings offline   push/  app/push.py  .push
      │    callees (CallPushRinger), chat users (ChatPushes)
      ├─ upkeep tasks (key reloads, retention, event-loop lag)      core/tasks.py
      ├─ every domain's metrics collector (app/observability.py)    http/metrics.py
      └─ ASGI app: RequestContext (+ metrics) ─▶ DispatchRouter(routes)  http/

The HTTP servers (http/server.py, http/granian_server.py) know nothing of this module: the CLI
hands them ``build_node`` as the factory of what they serve.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from switchboard.app.automation import start_automation
from switchboard.app.chat_pushes import ChatPushes, ChatPushLimiter
from switchboard.app.observability import Observed, register_metrics
from switchboard.app.parts import (
    calling_parts,
    chat_rules,
    new_bus,
    signing_key_ring,
    sms_carrier_factory,
)
from switchboard.app.push import PushParts, start_push
from switchboard.app.push_ringer import CallPushRinger, InvitationPushRinger
from switchboard.app.recording import start_recording
from switchboard.app.siprouting import start_sip_routing
from switchboard.automation.component import AutomationComponent
from switchboard.bus.base import Bus, Subscription
from switchboard.calling.component import CallingComponent
from switchboard.calling.service import CallingService
from switchboard.chat.changes import ChatChanges
from switchboard.chat.eventgrid import ChatEventGrid
from switchboard.chat.hub import ChatHub
from switchboard.chat.realtime import ChatRealtime, RealtimeSettings
from switchboard.chat.roster import ChatRosterService
from switchboard.chat.routes import chat_routes
from switchboard.chat.service import ChatService
from switchboard.chat.sql_store import SqlChatStore
from switchboard.chat.trouter.server import TrouterServer
from switchboard.core.clock import Clock, SystemClock
from switchboard.core.config import NodeConfig
from switchboard.core.errors import NotFoundError, PermissionDeniedError
from switchboard.core.sections import ServerConfig
from switchboard.core.tasks import TaskScope
from switchboard.events.component import EventsComponent, request_origin
from switchboard.events.outbox import PostCommitPublisher
from switchboard.http.accesskeys import AccessKeyRing
from switchboard.http.assets import BrowserModules
from switchboard.http.auth import Authenticator
from switchboard.http.cluster_ca import cluster_ca
from switchboard.http.context import RequestContextMiddleware
from switchboard.http.cors import CorsMiddleware, CorsPolicy
from switchboard.http.dispatch import DispatchRouter
from switchboard.http.hmac import HmacVerifier
from switchboard.http.json import json_response
from switchboard.http.metrics import Metrics, metrics_endpoint
from switchboard.http.paging import ContinuationCodec
from switchboard.http.proxy import ForwardedHeadersMiddleware, address_in, parse_networks
from switchboard.http.repeatability import Repeatability
from switchboard.http.tls import LocalCa
from switchboard.identity.keys import SigningKeyRing
from switchboard.identity.routes import identity_routes
from switchboard.identity.service import IdentityService
from switchboard.identity.store import SqlIdentityStore
from switchboard.identity.tokens import TokenCodec
from switchboard.numbers.routes import numbers_routes
from switchboard.numbers.service import configured_inventory
from switchboard.numbers.sql_stores import sql_numbers_service
from switchboard.push.routes import push_routes
from switchboard.rooms.routes import rooms_routes
from switchboard.rooms.service import RoomsService
from switchboard.rooms.store import SqlRoomStore
from switchboard.siprouting.routes import sip_routing_routes
from switchboard.sms.component import SmsComponent
from switchboard.sms.eventgrid import SmsEventRenderer, event_casing
from switchboard.sms.simstore_sql import SqlSimulatorStore
from switchboard.sms.simulator import SimulatorNetwork
from switchboard.sms.store_sql import SqlSmsStore
from switchboard.storage.database import Database
from switchboard.storage.repeatability import SqlRepeatabilityStore
from switchboard.storage.secrets import (
    ACCESS_KEYS_CHANGED,
    PAGING_SECRET,
    RESOURCE_ID,
    SqlSecretStore,
)
from switchboard.traversal.plan import plan_turn
from switchboard.traversal.relay import TurnRelay
from switchboard.traversal.routes import traversal_routes

log = logging.getLogger(__name__)

MAINTENANCE_INTERVAL_SECONDS = 60.0


@contextlib.asynccontextmanager
async def open_database(config: NodeConfig) -> AsyncIterator[Database]:
    """The node's database for a shell command (migrated, then closed)."""
    database = Database(config.storage.database_url)
    await database.start()
    try:
        yield database
    finally:
        await database.stop()


@contextlib.asynccontextmanager
async def open_bus(config: NodeConfig) -> AsyncIterator[Bus]:
    """The node's bus for a shell command (so running nodes hear what it changes)."""
    bus = new_bus(config.bus)
    await bus.start()
    try:
        yield bus
    finally:
        await bus.stop()


class Node:
    """One running node, as ``build_node`` made it: serve ``asgi``, then ``stop()``."""

    def __init__(
        self,
        *,
        config: NodeConfig,
        port: int,
        database: Database,
        bus: Bus,
        secrets: SqlSecretStore,
        access_keys: AccessKeyRing,
        signing_keys: SigningKeyRing,
        metrics: Metrics,
        identity: IdentityService,
        rooms: RoomsService,
        chat: ChatService,
        chat_store: SqlChatStore,
        calling: CallingService,
        automation: AutomationComponent,
        events: EventsComponent,
        sms: SmsComponent,
        push: PushParts,
        repeatability: Repeatability,
        clock: Clock,
        asgi: ASGIApp,
        stack: contextlib.AsyncExitStack,
    ) -> None:
        self.config = config
        self.automation = automation
        self.port = port
        self.database = database
        self.bus = bus
        self.secrets = secrets
        self.access_keys = access_keys
        self.signing_keys = signing_keys
        self.metrics = metrics
        self.identity = identity
        self.rooms = rooms
        self.chat = chat
        self.chat_store = chat_store
        self.calling = calling
        self.events = events
        self.sms = sms
        self.push = push
        self.repeatability = repeatability
        self.asgi = asgi
        self._stack = stack
        self._clock = clock

    async def stop(self) -> None:
        """Stop every part, the last started first (each part's stop ran at most once)."""
        await self._stack.aclose()

    async def local_ca(self) -> LocalCa:
        """The local CA every node sharing this database serves certificates from."""
        return await cluster_ca(self.secrets, self.config.server.data_dir / "tls")

    async def connection_string(self) -> str:
        primary, _ = await self.secrets.access_keys()
        return f"endpoint={self.config.server.endpoint(self.port)};accesskey={primary}"

    async def maintain(self) -> None:
        """Periodic upkeep: pick up keys other nodes rotated (rotate when due); forget what is
        past retention (chat events, stored repeatable responses)."""
        while True:
            await asyncio.sleep(MAINTENANCE_INTERVAL_SECONDS)
            try:
                await self.signing_keys.load()
                retention_ms = self.config.chat.event_retention_hours * 3_600_000
                await self.chat_store.prune_events(int(self._clock.now() * 1000 - retention_ms))
                await self.chat.delete_expired_threads()  # threads past their retentionPolicy
                await self.repeatability.prune()
            except Exception:  # upkeep must survive a database blip; it retries next round
                log.exception("maintenance round failed")

    async def watch_access_keys(self, changes: Subscription) -> None:
        """Re-read the access keys when told (bus) or every few seconds, whichever is first,
        so a rotated key stops working promptly on every node."""
        interval = self.config.auth.access_key_reload_seconds
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changes.get(), timeout=interval)
            try:
                await self.access_keys.load()
            except Exception:  # a database blip must not end the watcher; next round retries
                log.exception("reloading access keys failed")


async def build_node(config: NodeConfig, *, port: int | None = None) -> Node:
    """Build and start one node from its configuration; on failure nothing is left running."""
    stack = contextlib.AsyncExitStack()  # the node's, once built
    try:
        node = await _build(config, port if port is not None else config.server.port, stack)
    except BaseException:
        await stack.aclose()  # stop what did start, the last started first
        raise
    # Everything built so far lives as long as the node: move it out of the collector's
    # way, and collect young objects less often. With many sockets open a full collection
    # otherwise stalls the loop for 100+ ms (bench/chat.py showed it in the p99).
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 50, 100)
    log.info("switchboard node started on port %d", node.port)
    return node


# What browser SDKs call with a user token: chat REST, /me, and ACS's real-time channel
# (chat/trouter: its allocation, Socket.IO handshake and registrar).
BROWSER_PATHS = ("/chat", "/me", "/v4/a", "/socket.io", "/registrar")


async def _build(config: NodeConfig, port: int, stack: contextlib.AsyncExitStack) -> Node:
    clock = SystemClock()  # the one wall clock every part of the node reads
    database = Database(config.storage.database_url)
    # Production: `switchboard db upgrade` migrates, on purpose; a node only checks.
    await database.start(migrate=config.server.development)
    stack.push_async_callback(database.stop)
    bus = new_bus(config.bus)
    await bus.start()
    stack.push_async_callback(bus.stop)

    secrets = SqlSecretStore(database)
    access_keys = AccessKeyRing(secrets, clock=clock)
    await access_keys.load()
    signing_keys = signing_key_ring(database, config.auth, clock)
    await signing_keys.load()
    resource_id = await secrets.get_or_create(RESOURCE_ID)
    metrics = Metrics()

    tokens = TokenCodec(signing_keys, resource_id=resource_id, clock=clock)
    identity = IdentityService(
        SqlIdentityStore(database), tokens, bus, resource_id=resource_id, clock=clock
    )
    await identity.start()
    stack.push_async_callback(identity.stop)
    hmac = HmacVerifier(
        access_keys,
        clock=clock,
        max_skew_seconds=config.auth.hmac_max_skew_seconds,
        public_authorities=[urlsplit(config.server.endpoint(port)).netloc],
    )
    authenticator = Authenticator(hmac, identity)
    paging = ContinuationCodec(base64.b64decode(await secrets.get_or_create(PAGING_SECRET)))
    repeatability = Repeatability(SqlRepeatabilityStore(database), clock)
    rooms = RoomsService(SqlRoomStore(database), clock, bus=bus)

    numbers = sql_numbers_service(database, clock)
    await numbers.start(configured_inventory(config.numbers))
    sip_routing = await start_sip_routing(config.sip, database, bus)  # the file's trunks

    # Before the TURN relay: a bad [[events.subscriptions]] entry fails here, with nothing
    # (no coturn process) started for nothing.
    events = await EventsComponent.start(
        config.events,
        config.server,
        database,
        bus,
        clock=clock,
        resource_id=resource_id,
        origin=request_origin(config.server),
        registry=metrics.registry,
    )
    stack.push_async_callback(events.stop)

    turn = TurnRelay(plan_turn(config.turn, config.server), secrets, clock)
    stack.push_async_callback(turn.stop)
    relay = await turn.start()

    simulator = SimulatorNetwork(
        SqlSimulatorStore(database), clock=clock, lease_seconds=config.sms.lease_seconds
    )
    sms_events = SmsEventRenderer(event_casing(config.sms.event_casing))
    sms = SmsComponent(
        config.sms,
        SqlSmsStore(database, events.outbox, render=sms_events),
        numbers,
        carriers=sms_carrier_factory(simulator, clock),
        simulator=simulator,
        clock=clock,
    )
    stack.push_async_callback(sms.stop)  # its carriers hand inbound messages to the outbox
    await sms.start()  # after the inventory: carriers come from it

    chat_store = SqlChatStore(database, events.outbox)
    rules = chat_rules(config.chat)
    chat_changes = ChatChanges(
        chat_store,
        PostCommitPublisher(bus, events.outbox),
        clock=clock,
        integration=ChatEventGrid(wants=events.wants),
    )
    chat = ChatService(chat_store, chat_changes, identity, rules)
    chat_roster = ChatRosterService(chat_store, chat_changes, identity, rules)
    chat_hub = ChatHub(chat_store, bus)
    await chat_hub.start()
    stack.push_async_callback(chat_hub.stop)
    realtime = ChatRealtime(
        chat_hub,
        chat_store,
        identity,
        clock=clock,
        settings=RealtimeSettings(heartbeat_seconds=config.chat.heartbeat_seconds),
    )
    trouter = TrouterServer(chat_hub, bus, chat_store, identity, clock=clock)
    await trouter.start()
    stack.push_async_callback(trouter.stop)

    parts = calling_parts(config, bus)
    calling_component = await CallingComponent.start(
        parts,
        bus=bus,
        database=database,
        relay=relay,
        tokens=identity,
        outbox=events.outbox,
        wants=events.wants,
        clock=clock,
        rooms=rooms,
    )
    stack.push_async_callback(calling_component.stop)  # its event sink writes to the outbox
    calling = calling_component.service
    automation = await start_automation(
        stack,
        config,
        port=port,
        database=database,
        bus=bus,
        secrets=secrets,
        calling=calling,
        media=parts.media,
        numbers=numbers,
        outbox=events.outbox,
        clock=clock,
        resource_id=resource_id,
        node_id=parts.router.node_id,
        registry=metrics.registry,
        would_deliver=events.would_deliver,
        sip_routing=sip_routing,
    )

    push = await start_push(
        stack,
        config,
        database=database,
        bus=bus,
        identity=identity,
        clock=clock,
        registry=metrics.registry,
    )
    if push.providers:  # else calls to a user with no device end at once, as before
        ringer = CallPushRinger(
            push.service,
            calling.two_party,
            clock=clock,
            ring_seconds=config.calling.ring_timeout_seconds,
            presence_seconds=calling.settings.presence_seconds,
        )
        await ringer.start()
        stack.push_async_callback(ringer.stop)
        invitation_ringer = InvitationPushRinger(
            push.service,
            calling.server_calls,
            clock=clock,
            presence_seconds=calling.settings.presence_seconds,
        )
        await invitation_ringer.start()
        stack.push_async_callback(invitation_ringer.stop)
        chat_pushes = ChatPushes(
            push.service,
            chat_hub,
            chat_store,
            ChatPushLimiter(
                config.push.chat_thread_interval_seconds, config.push.chat_per_user_per_minute
            ),
            clock=clock,
        )
        await chat_pushes.start()
        stack.push_async_callback(chat_pushes.stop)

    recording = await start_recording(
        stack,
        config,
        port=port,
        database=database,
        calling=calling,
        media=parts.media,
        automation=automation,
        outbox=events.outbox,
        clock=clock,
    )

    cors = CorsPolicy.configured(
        config.server.cors_allowed_origins, development=config.server.development
    )

    router = DispatchRouter(
        routes=[
            *_operational_routes(database, bus, signing_keys, metrics, config.server),
            *identity_routes(identity, authenticator),
            *chat_routes(chat, chat_roster, authenticator, paging, repeatability),
            WebSocketRoute("/chat/realtime", realtime.handle),
            *trouter.routes(authenticator),
            *calling_component.routes(),
            *automation.routes(authenticator, repeatability),
            *recording.routes(authenticator, repeatability),
            Mount("/sdk", BrowserModules(), name="sdk"),
            *rooms_routes(rooms, authenticator, repeatability, paging),
            *numbers_routes(numbers, authenticator),
            *sip_routing_routes(sip_routing, authenticator),
            *sms.routes(authenticator),
            *traversal_routes(relay, authenticator),
            *events.routes(authenticator, paging),
            *push_routes(push.service, authenticator, vapid_public_key=push.vapid_public_key),
        ],
        redirect_slashes=False,
        default=_not_found,
    )
    node = Node(
        config=config,
        port=port,
        database=database,
        bus=bus,
        secrets=secrets,
        access_keys=access_keys,
        signing_keys=signing_keys,
        metrics=metrics,
        identity=identity,
        rooms=rooms,
        chat=chat,
        chat_store=chat_store,
        calling=calling,
        automation=automation.component,
        events=events,
        sms=sms,
        push=push,
        repeatability=repeatability,
        clock=clock,
        # Request id, errors and metrics in one layer (http/context.py says why); CORS
        # outside it, on what browser SDKs call with a user token (http/cors.py); outermost,
        # a trusted proxy's view of the request (http/proxy.py), so all of them see it.
        asgi=_behind_proxies(
            CorsMiddleware(
                RequestContextMiddleware(router, metrics, access_log=config.server.access_log),
                cors,
                BROWSER_PATHS,
            ),
            config,
        ),
        stack=stack,
    )
    upkeep = TaskScope("node upkeep")
    await upkeep.start()
    stack.push_async_callback(upkeep.stop)
    upkeep.spawn(node.maintain(), name="maintenance")
    keys_changed = await bus.subscribe(ACCESS_KEYS_CHANGED)
    upkeep.spawn(node.watch_access_keys(keys_changed), name="access key watcher")
    observed = Observed(
        database=database,
        chat=chat,
        chat_hub=chat_hub,
        trouter=trouter,
        sms=sms,
        calling=calling_component,
        media=parts.media,
        relay=relay,
        sip=automation.voice.sip,
        clock=clock,
    )
    loop_lag = register_metrics(metrics, observed)
    upkeep.spawn(loop_lag.run(), name="event loop lag")
    return node


def _behind_proxies(app: ASGIApp, config: NodeConfig) -> ASGIApp:
    trusted = parse_networks(config.server.trusted_proxies)
    return ForwardedHeadersMiddleware(app, trusted) if trusted else app


def _operational_routes(
    database: Database,
    bus: Bus,
    signing_keys: SigningKeyRing,
    metrics: Metrics,
    server: ServerConfig,
) -> list[BaseRoute]:
    async def health(_: Request) -> Response:
        return json_response({"status": "ok"})

    async def ready(_: Request) -> Response:
        database_ok, bus_ok = await asyncio.gather(database.ping(), bus.ping())
        body = {
            "status": "ready" if database_ok and bus_ok else "not ready",
            "database": database_ok,
            "bus": bus_ok,
        }
        return json_response(body, 200 if database_ok and bus_ok else 503)

    async def jwks(_: Request) -> Response:
        return json_response(signing_keys.jwks())

    scrape = metrics_endpoint(metrics)
    scrapers = parse_networks(server.metrics_allowed_networks)

    async def metrics_route(request: Request) -> Response:
        if scrapers and not address_in(request.client.host if request.client else None, scrapers):
            raise PermissionDeniedError("/metrics is open only to metrics_allowed_networks.")
        return await scrape(request)

    return [
        Route("/health", health, methods=["GET"]),
        Route("/health/ready", ready, methods=["GET"]),
        Route("/metrics", metrics_route, methods=["GET"]),
        Route("/.well-known/jwks.json", jwks, methods=["GET"]),
    ]


async def _not_found(scope: Scope, _receive: Receive, send: Send) -> None:
    if scope["type"] == "websocket":
        # No route: refuse the upgrade (the server answers 403) rather than fail with a 500,
        # which clients would retry forever.
        await send({"type": "websocket.close", "code": 1008, "reason": "no such endpoint"})
        return
    raise NotFoundError(f"No resource at {scope.get('method', '')} {scope.get('path', '')}.")
