"""CallingComponent: calling's running parts on one node, from the pieces app.py picked.

app.py chooses (the only place that does): the router (``LocalCallRouter`` alone,
``BusCallRouter`` with Redis), the placement (``LocalPlacement`` / ``RedisPlacement``) and
the media node (``LocalMediaNode``, the SFU); ``calling_settings`` reads the config.

start(relay, tokens, outbox, wants, rooms) ─▶ media node ─▶ CallEventGridSink
    ─▶ CallingService(bus, router, media, placement) ─▶ service.start (router listens)
    ─▶ routes(): WebSocketRoute /calling/signaling ─▶ CallingSignaling.handle
stop() ─▶ service (timers, router, subscriptions) ─▶ media node ─▶ sink (drains its queue)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from starlette.routing import BaseRoute, WebSocketRoute

from switchboard.bus.base import Bus
from switchboard.calling.conference.placement import Placement
from switchboard.calling.eventgrid import CallEventGridSink
from switchboard.calling.routing.router import CallRouter
from switchboard.calling.service import CallingService, CallingSettings
from switchboard.calling.signaling.endpoint import CallingSignaling
from switchboard.calling.signaling.protocol import PATH, IceServer
from switchboard.core.clock import Clock
from switchboard.core.sections import BusConfig, CallingConfig
from switchboard.events.outbox import Outbox
from switchboard.http.websocket_session import TokenAuthority
from switchboard.media.node import EventHandler, MediaNode
from switchboard.rooms.service import RoomDirectory
from switchboard.storage.database import Database
from switchboard.traversal.service import RelayService

# With Redis, other nodes may hold the callee's devices: wait this long for them to answer an
# invite before concluding "no device" (480) or "busy" (486). Alone, every device is local.
CLUSTER_PRESENCE_SECONDS = 1.0


def calling_settings(config: CallingConfig, cluster: BusConfig) -> CallingSettings:
    return CallingSettings(
        ring_timeout_seconds=config.ring_timeout_seconds,
        presence_seconds=CLUSTER_PRESENCE_SECONDS if cluster.clustered else 0.0,
        reconnect_grace_seconds=config.reconnect_grace_seconds,
        max_participants=config.max_participants,
    )


class HostedMediaNode(MediaNode, Protocol):
    """A media node this process runs (``LocalMediaNode``): started, stopped, and telling
    the calling service its events."""

    on_event: EventHandler | None

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


def ice_servers_of(relay: RelayService, user_id: str) -> list[IceServer]:
    """RTCIceServers for a user, from the TURN service (fresh TURN REST credentials); none
    when the TURN server is known not to answer (host candidates still connect)."""
    if not relay.available:
        return []
    config = relay.issue(user_id)
    servers = config.ice_servers[:1]  # every route type carries the same URLs here
    return [
        IceServer(list(server.urls), server.credential.username, server.credential.password)
        for server in servers
    ]


class CallingComponent:
    def __init__(
        self,
        settings: CallingSettings,
        *,
        bus: Bus,
        database: Database,
        router: CallRouter,
        media: HostedMediaNode,
        placement: Placement,
    ) -> None:
        self._settings = settings
        self._bus = bus
        self._database = database
        self._router = router
        self._media = media
        self._placement = placement
        self.service: CallingService | None = None
        self._sink: CallEventGridSink | None = None
        self._endpoint: CallingSignaling | None = None
        self._media_started = False

    async def start(
        self,
        relay: RelayService,
        tokens: TokenAuthority,
        outbox: Outbox,
        *,
        wants: Callable[[str], bool] | None = None,
        clock: Clock,
        rooms: RoomDirectory | None = None,
    ) -> CallingService:
        await self._media.start()
        self._media_started = True
        self._sink = CallEventGridSink(self._database, outbox, wants=wants)
        await self._sink.start()
        self.service = CallingService(
            self._bus,
            self._router,
            lambda user_id: ice_servers_of(relay, user_id),
            media=self._media,
            placement=self._placement,
            clock=clock,
            settings=self._settings,
            sink=self._sink,
            rooms=rooms,
        )
        self._media.on_event = self.service.on_media_event
        await self.service.start()
        self._endpoint = CallingSignaling(self.service, tokens, clock=clock)
        return self.service

    def routes(self) -> list[BaseRoute]:
        if self._endpoint is None:
            raise RuntimeError("start the calling component first")
        return [WebSocketRoute(PATH, self._endpoint.handle)]

    async def stop(self) -> None:
        if self.service is not None:
            await self.service.stop()  # closes the placement too (ConferenceHost.stop)
        if self._media_started:
            await self._media.stop()
        if self._sink is not None:
            await self._sink.stop()
