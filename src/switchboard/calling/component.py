"""CallingComponent: calling's running parts on one node, from the pieces app.py picked.

app.py chooses (the only place that does): the router (``LocalCallRouter`` alone,
``BusCallRouter`` with Redis), the placement (``LocalPlacement`` / ``RedisPlacement``) and
the media node (``LocalMediaNode``, the SFU); ``calling_settings`` reads the config.

CallingComponent.start(CallingParts, relay, tokens, outbox, wants, rooms) ─▶ CallEventGridSink
    ─▶ media node ─▶ CallingService(bus, router, media, placement) ─▶ service.start
    (router listens) ─▶ a started component; routes(): /calling/signaling ─▶ CallingSignaling
stop() ─▶ service (timers, router, subscriptions) ─▶ media node ─▶ sink (drains its queue)
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from starlette.routing import BaseRoute, WebSocketRoute

from switchboard.bus.base import Bus
from switchboard.calling.conference.placement import Placement
from switchboard.calling.eventgrid import CallEventGridSink
from switchboard.calling.metrics import CallMetrics
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


@dataclass(frozen=True, slots=True)
class CallingParts:
    """What app.py picked for calling on this node, before anything starts."""

    settings: CallingSettings
    router: CallRouter
    media: HostedMediaNode
    placement: Placement


class CallingComponent:
    """Calling's started parts (build it with ``await CallingComponent.start(...)``)."""

    def __init__(
        self,
        *,
        service: CallingService,
        signaling: CallingSignaling,
        metrics: CallMetrics,
        stack: contextlib.AsyncExitStack,
    ) -> None:
        self.service = service
        self.signaling = signaling
        self.metrics = metrics  # a Prometheus collector (app registers it)
        self._stack = stack

    @classmethod
    async def start(
        cls,
        parts: CallingParts,
        *,
        bus: Bus,
        database: Database,
        relay: RelayService,
        tokens: TokenAuthority,
        outbox: Outbox,
        wants: Callable[[str], bool] | None = None,
        clock: Clock,
        rooms: RoomDirectory | None = None,
    ) -> CallingComponent:
        """Start the media node, the Event Grid sink and the service; on a failure, stop what
        had started."""
        stack = contextlib.AsyncExitStack()
        try:
            grid = CallEventGridSink(database, outbox, wants=wants)
            await grid.start()
            stack.push_async_callback(grid.stop)  # stops last: it drains what the others said
            sink = CallMetrics(grid)  # counts what passes to the Event Grid sink
            media = parts.media
            await media.start()
            stack.push_async_callback(media.stop)
            service = CallingService(
                bus,
                parts.router,
                lambda user_id: ice_servers_of(relay, user_id),
                media=media,
                placement=parts.placement,
                clock=clock,
                settings=parts.settings,
                sink=sink,
                rooms=rooms,
            )
            # The media node reports to the service it serves (both exist only now).
            media.on_event = service.on_media_event
            await service.start()
            stack.push_async_callback(service.stop)  # closes the placement too
        except BaseException:
            await stack.aclose()
            raise
        return cls(
            service=service,
            signaling=CallingSignaling(service, tokens, clock=clock),
            metrics=sink,
            stack=stack,
        )

    def routes(self) -> list[BaseRoute]:
        return [WebSocketRoute(PATH, self.signaling.handle)]

    async def stop(self) -> None:
        """The service (timers, router, subscriptions), the media node, then the sink."""
        await self._stack.aclose()
