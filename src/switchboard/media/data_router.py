"""A call's data-channel forwarding on the media node: routes by (sender, channel id).

Signaling opens a sender's route (``dataChannelSender``: reliability, priority, bitrate,
participants or everyone) after checking its role; the node forwards only routed messages. A
frame on the wrong stream for its route, from a participant without a route, malformed, or
beyond the route's bitrate (one second's worth of tokens: a client that skips the SDK's own
check) is dropped.

    participant's SctpLink ─on_message(stream, frame)─▶ route (sender, channelId)? within
        its bitrate? ─▶ sender id written into the frame ─▶ high or normal queue (bounded)
        ─▶ forwarding task (high first) ─▶ each chosen participant's SctpLink.send

Forwarding runs in its own task, off the media socket's reader: a burst of data never holds
up a media packet, and a slow receiver only fills its own SCTP backlog (media/sctp.py).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from dataclasses import dataclass

from switchboard.core.tasks import cancel_and_wait
from switchboard.media.data_frames import (
    DURABLE_STREAM,
    DataFrameError,
    DataPriority,
    DataReliability,
    channel_of,
    is_close_mark,
    with_sender,
)
from switchboard.media.handshake import PeerHandshake
from switchboard.media.sctp import SctpLink

logger = logging.getLogger(__name__)

FORWARD_QUEUE = 2048  # messages received and not yet forwarded (full: dropped, counted)


@dataclass(frozen=True, slots=True)
class DataRoute:
    """Where one sender's channel goes: ``targets`` None is everyone else in the call."""

    reliability: DataReliability
    targets: frozenset[str] | None = None
    priority: DataPriority = DataPriority.NORMAL
    bitrate_kbps: int | None = None  # None: no cap


@dataclass(slots=True)
class _Budget:
    """A token bucket of one second at the route's bitrate (bytes)."""

    tokens: float
    at: float

    def spend(self, size: int, bitrate_kbps: int, now: float) -> bool:
        ceiling = bitrate_kbps * 125.0
        self.tokens = min(ceiling, self.tokens + (now - self.at) * ceiling)
        self.at = now
        if size > self.tokens:
            return False
        self.tokens -= size
        return True


@dataclass(slots=True)
class DataCounters:
    received: int = 0
    forwarded: int = 0
    unrouted: int = 0
    too_fast: int = 0
    dropped: int = 0


class DataRouter:
    def __init__(self, call_id: str) -> None:
        self.call_id = call_id
        self.links: dict[str, SctpLink] = {}
        self.routes: dict[tuple[str, int], DataRoute] = {}
        self.counters = DataCounters()
        self._budgets: dict[tuple[str, int], _Budget] = {}
        self._queues = {p: deque[tuple[str, DataRoute, bytes]]() for p in DataPriority}
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def attach(self, peer: PeerHandshake) -> SctpLink:
        """The participant's data channels: SCTP over its DTLS, once it sends any."""
        participant_id = peer.participant_id
        transport, dtls = peer.transport, peer.dtls

        def send_datagram(packet: bytes) -> None:
            remote = transport.remote
            if remote is not None:
                for datagram in dtls.send(packet):
                    transport.send_raw(datagram, remote)

        def on_message(stream: int, frame: bytes) -> None:
            self._received(participant_id, stream, frame)

        link = SctpLink(participant_id, send_datagram, on_message)
        dtls.on_application_data = link.deliver
        self.links[participant_id] = link
        return link

    async def detach(self, participant_id: str) -> None:
        self.routes = {k: r for k, r in self.routes.items() if k[0] != participant_id}
        link = self.links.pop(participant_id, None)
        if link is not None:
            await link.close()

    def set_route(self, sender: str, channel_id: int, route: DataRoute | None) -> None:
        key = (sender, channel_id)
        if route is None:
            self.routes.pop(key, None)
            self._budgets.pop(key, None)
        else:
            self.routes[key] = route

    def link(self, participant_id: str) -> SctpLink | None:
        return self.links.get(participant_id)

    async def close(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None
        for participant_id in list(self.links):
            await self.detach(participant_id)

    def _received(self, sender: str, stream: int, frame: bytes) -> None:
        self.counters.received += 1
        try:
            key = (sender, channel_of(frame))
        except DataFrameError:
            self.counters.unrouted += 1
            return
        route = self.routes.get(key)
        closing = stream == DURABLE_STREAM and is_close_mark(frame)
        if route is None or (route.reliability.stream != stream and not closing):
            self.counters.unrouted += 1
            return
        if closing:  # forwarded reliably, after the sender's durable messages; route gone
            self.set_route(sender, key[1], None)
            route = DataRoute(DataReliability.DURABLE, route.targets, route.priority)
        if route.bitrate_kbps is not None and not closing:
            now = time.monotonic()
            budget = self._budgets.setdefault(key, _Budget(route.bitrate_kbps * 125.0, now))
            if not budget.spend(len(frame), route.bitrate_kbps, now):
                self.counters.too_fast += 1
                return
        try:
            forwarded = with_sender(frame, sender.encode())
        except DataFrameError:
            self.counters.unrouted += 1
            return
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(
                self._forward_forever(), name=f"data router {self.call_id}"
            )
        queue = self._queues[route.priority]
        if len(queue) >= FORWARD_QUEUE:
            self.counters.dropped += 1
            return
        queue.append((sender, route, forwarded))
        self._ready.set()

    async def _forward_forever(self) -> None:
        high, normal = self._queues[DataPriority.HIGH], self._queues[DataPriority.NORMAL]
        while True:
            if not high and not normal:
                self._ready.clear()
                await self._ready.wait()
                continue
            sender, route, frame = high.popleft() if high else normal.popleft()
            try:
                await self._forward(sender, route, frame)
            except Exception:
                logger.exception("call %s: forwarding a data message failed", self.call_id)

    async def _forward(self, sender: str, route: DataRoute, frame: bytes) -> None:
        lossy = route.reliability is DataReliability.LOSSY
        stream = route.reliability.stream
        targets = route.targets if route.targets is not None else self.links.keys()
        for target in list(targets):
            link = self.links.get(target)
            if target == sender or link is None:
                continue
            if await link.send(stream, frame, lossy=lossy):
                self.counters.forwarded += 1
            else:
                self.counters.dropped += 1
