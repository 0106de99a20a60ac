"""CallingComponent: calling's wiring for one node, so app.py adds it in a few lines.

start(relay, tokens, outbox, wants, rooms) ─▶ CallEventGridSink ─▶ LocalMediaNode (the SFU)
    ─▶ placement (Redis with several nodes) ─▶ CallingService (bus topics)
    ─▶ routes(): WebSocketRoute /calling/signaling ─▶ CallingSignaling.handle
stop() ─▶ service (timers, subscriptions) ─▶ sink (drains queued events)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from starlette.routing import BaseRoute, WebSocketRoute

from switchboard.bus.base import Bus
from switchboard.calling.conference.placement import LocalPlacement, Placement, RedisPlacement
from switchboard.calling.eventgrid import CallEventGridSink, Outbox
from switchboard.calling.service import CallingService, CallingSettings
from switchboard.calling.signaling.endpoint import CallingSignaling, TokenAuthority
from switchboard.calling.signaling.frames import PATH
from switchboard.core.sections import BusConfig, CallingConfig, MediaConfig
from switchboard.media.node import LocalMediaNode
from switchboard.rooms.service import RoomDirectory
from switchboard.storage.database import Database
from switchboard.traversal.service import RelayService

# With Redis, other nodes may hold the callee's devices: wait this long for them to answer an
# invite before concluding "no device" (480) or "busy" (486). Alone, every device is local.
CLUSTER_PRESENCE_SECONDS = 1.0


def ice_servers_json(relay: RelayService, user_id: str) -> list[dict[str, Any]]:
    """RTCIceServer dicts for a user, from the TURN service (fresh TURN REST credentials);
    none when the TURN server is known not to answer (host candidates still connect)."""
    if not relay.available:
        return []
    config = relay.issue(user_id)
    servers = config.ice_servers[:1]  # every route type carries the same URLs here
    return [
        {
            "urls": list(server.urls),
            "username": server.credential.username,
            "credential": server.credential.password,
        }
        for server in servers
    ]


class CallingComponent:
    def __init__(
        self,
        config: CallingConfig,
        media: MediaConfig,
        cluster: BusConfig,
        bus: Bus,
        database: Database,
    ) -> None:
        self._config = config
        self._media_config = media
        self._cluster = cluster
        self._bus = bus
        self._database = database
        self.service: CallingService | None = None
        self._sink: CallEventGridSink | None = None
        self._endpoint: CallingSignaling | None = None
        self._media: LocalMediaNode | None = None

    async def start(
        self,
        relay: RelayService,
        tokens: TokenAuthority,
        outbox: Outbox,
        *,
        wants: Callable[[str], bool] | None = None,
        clock: Callable[[], float] = time.time,
        rooms: RoomDirectory | None = None,
    ) -> CallingService:
        cfg, cluster = self._config, self._cluster
        settings = CallingSettings(
            ring_timeout_seconds=cfg.ring_timeout_seconds,
            presence_seconds=CLUSTER_PRESENCE_SECONDS if cluster.clustered else 0.0,
            reconnect_grace_seconds=cfg.reconnect_grace_seconds,
            max_participants=cfg.max_participants,
        )
        self._media = LocalMediaNode(host=self._media_config.host, ports=self._media_config.ports)
        await self._media.start()
        placement: Placement = (
            RedisPlacement(cluster.redis_url, cluster.redis_namespace)
            if cluster.redis_url
            else LocalPlacement()
        )
        self._sink = CallEventGridSink(self._database, outbox, wants=wants)
        await self._sink.start()
        self.service = CallingService(
            self._bus,
            lambda user_id: ice_servers_json(relay, user_id),
            clock=clock,
            settings=settings,
            sink=self._sink,
            media=self._media,
            rooms=rooms,
            placement=placement,
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
            await self.service.stop()
        if self._media is not None:
            await self._media.stop()
        if self._sink is not None:
            await self._sink.stop()
