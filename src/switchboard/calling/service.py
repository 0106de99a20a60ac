"""CallingService: the only thing that touches calling state on a node.

    endpoint (socket) ─register/detach/drop─▶ DeviceRegistry ─▶ DeviceHub (local devices)
                      ─handle(request)──────▶ startCall: TwoPartyCalls (this node owns it)
                                              joinGroupCall/joinRoom: ConferenceHost (placed)
                                              call requests: to the call's owner node
    bus (node topic, invites) ─▶ owner: TwoPartyCalls / ConferenceHost ─▶ frames (hub or bus),
                                 lifecycle (Event Grid sink)

Everything that changes state is synchronous (one event-loop step, so no locks); bus
publishes go through one owned publisher task, in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec

from switchboard.bus.base import Bus, Subscription
from switchboard.calling.conference.conference import is_conference
from switchboard.calling.conference.host import ConferenceHost
from switchboard.calling.conference.placement import LocalPlacement, Placement
from switchboard.calling.errors import CallNotAllowedError, CallNotFoundError, InvalidSignalError
from switchboard.calling.models import DeviceAddress, EndReason
from switchboard.calling.routing import messages as routing
from switchboard.calling.routing.messages import Envelope
from switchboard.calling.signaling.frames import ClientMessage, Request, nack
from switchboard.calling.signaling.hub import DeviceConnection, DeviceHub, LocalDevice
from switchboard.calling.signaling.registration import DeviceRegistry, IceServers
from switchboard.calling.twoparty.calls import CallEventSink, TwoPartyCalls
from switchboard.calling.twoparty.session import CallTimeouts, Deliver
from switchboard.core.errors import SwitchboardError
from switchboard.identity.service import IDENTITY_CHANGED
from switchboard.media.forwarder import ForwarderEvent
from switchboard.media.node import LocalMediaNode, MediaNode
from switchboard.rooms.service import ROOM_PARTICIPANTS_CHANGED, RoomDirectory

log = logging.getLogger(__name__)

__all__ = ["CallEventSink", "CallingService", "CallingSettings", "IceServers"]

_CALL_REQUESTS = {
    ClientMessage.ADMIT,
    ClientMessage.REJECT_LOBBY,
    ClientMessage.DATA_CHANNEL,
    ClientMessage.SET_VIDEO_STREAMS,
    ClientMessage.ACCEPT,
    ClientMessage.REJECT,
    ClientMessage.HANG_UP,
    ClientMessage.SDP,
    ClientMessage.CANDIDATE,
    ClientMessage.MEDIA_STATE,
    ClientMessage.HOLD,
    ClientMessage.RESUME,
}


@dataclass(frozen=True, slots=True)
class CallingSettings:
    ring_timeout_seconds: float = 85.0
    presence_seconds: float = 1.0  # 0 on a single node: every device is local
    reconnect_grace_seconds: float = 30.0
    heartbeat_seconds: float = 15.0
    max_participants: int = 350  # per group call or Room call, as ACS


class CallingService:
    def __init__(
        self,
        bus: Bus,
        ice_servers: IceServers,
        *,
        clock: Callable[[], float],
        settings: CallingSettings | None = None,
        sink: CallEventSink | None = None,
        node_id: str | None = None,
        media: MediaNode | None = None,
        rooms: RoomDirectory | None = None,
        placement: Placement | None = None,
    ) -> None:
        self.node_id = node_id or uuid.uuid4().hex[:12]
        self.settings = settings or CallingSettings()
        self.hub = DeviceHub(self.node_id)
        self._bus = bus
        self._outgoing: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue()
        self._subscriptions: list[Subscription] = []
        self._tasks: list[asyncio.Task[None]] = []
        self.devices = DeviceRegistry(
            self.hub,
            ice_servers=ice_servers,
            heartbeat_seconds=self.settings.heartbeat_seconds,
            reconnect_grace_seconds=self.settings.reconnect_grace_seconds,
            clock=clock,
            to_owner=self._to_owner,
        )
        self.two_party = TwoPartyCalls(
            self.node_id,
            self.hub,
            clock=clock,
            timeouts=CallTimeouts(
                self.settings.ring_timeout_seconds, self.settings.presence_seconds
            ),
            sink=sink,
            deliver=self._deliver,
            send=self._send,
            to_owner=self._to_owner,
        )
        self.conferences = ConferenceHost(
            self.node_id,
            media=media or LocalMediaNode(),
            rooms=rooms,
            placement=placement or LocalPlacement(),
            deliver=self._deliver,
            to_owner=self._to_owner,
            clock=clock,
            max_participants=self.settings.max_participants,
            sink=sink,
        )

    # ---- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        mine = await self._bus.subscribe(routing.node_topic(self.node_id))
        invites = await self._bus.subscribe(routing.INVITES)
        identities = await self._bus.subscribe(IDENTITY_CHANGED)
        rosters = await self._bus.subscribe(ROOM_PARTICIPANTS_CHANGED)
        self._subscriptions = [mine, invites, identities, rosters]
        await self.conferences.start()
        self._tasks = [
            asyncio.create_task(self._watch_rosters(rosters), name="calling rosters"),
            asyncio.create_task(self._listen(mine), name="calling node topic"),
            asyncio.create_task(self._listen(invites), name="calling invites"),
            asyncio.create_task(self._watch_identities(identities), name="calling identities"),
            asyncio.create_task(self._publish(), name="calling publisher"),
        ]

    async def stop(self) -> None:
        self.two_party.stop()
        self.devices.stop()
        for subscription in self._subscriptions:
            await subscription.close()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.conferences.stop()

    # ---- devices (called by the endpoint) ------------------------------------------------

    def register(
        self,
        user_id: str,
        device_id: str | None,
        last_seq: int | None,
        connection: DeviceConnection,
        *,
        join_only: bool = False,
    ) -> tuple[LocalDevice, dict[str, Any]]:
        return self.devices.register(user_id, device_id, last_seq, connection, join_only=join_only)

    def detach(self, device: LocalDevice, connection: DeviceConnection) -> None:
        self.devices.detach(device, connection)

    def drop(self, device: LocalDevice, reason: EndReason) -> None:
        self.devices.drop(device, reason)

    # ---- requests from a local device ----------------------------------------------------

    def handle(self, device: LocalDevice, request: Request) -> None:
        """Apply one request; its ack (or nack) reaches the device as a frame."""
        if not device.first_time(request.id):
            return  # resent after a reconnect: the ack is in the replay
        try:
            kind = ClientMessage(request.type)
        except ValueError:
            self._nack(
                device.address, request.id, InvalidSignalError(f"Unknown type '{request.type}'.")
            )
            return
        try:
            if kind is ClientMessage.START_CALL:
                if device.join_only:
                    raise CallNotAllowedError("A voip.join token can join calls, not start them.")
                self.two_party.start_call(device, request)
            elif kind in (ClientMessage.JOIN_GROUP_CALL, ClientMessage.JOIN_ROOM):
                self.conferences.join(device, request, kind)
            elif kind in _CALL_REQUESTS:
                owner = device.calls.get(request.call_id or "")
                if not owner:
                    raise CallNotFoundError(f"No call '{request.call_id}' on this device.")
                if kind is ClientMessage.ACCEPT:
                    device.active.add(request.call_id or "")
                payload = msgspec.to_builtins(request)
                self._to_owner(
                    owner,
                    Envelope(
                        "cmd",
                        request.call_id or "",
                        user=device.user_id,
                        node=self.node_id,
                        device=device.device_id,
                        req=payload,
                    ),
                )
            else:
                raise InvalidSignalError(f"'{request.type}' is not a request after register.")
        except SwitchboardError as exc:
            self._nack(device.address, request.id, exc)

    # ---- owner side ----------------------------------------------------------------------

    def _apply(self, envelope: Envelope) -> None:
        request = msgspec.convert(envelope.req or {}, Request)
        if not is_conference(envelope.call):
            self.two_party.apply(envelope, request)
            return
        try:
            kind = ClientMessage(request.type)
        except ValueError:
            return
        self.conferences.apply(envelope, request, kind)

    def _lost(self, envelope: Envelope) -> None:
        if is_conference(envelope.call):
            self.conferences.lost(envelope)
        else:
            self.two_party.lost(envelope)

    # ---- plumbing ------------------------------------------------------------------------

    def _to_owner(self, owner: str, envelope: Envelope) -> None:
        if owner == self.node_id:
            self._receive(envelope)
        else:
            self._send(routing.node_topic(owner), envelope)

    def _deliver(self, output: Deliver) -> None:
        if output.to.node == self.node_id:
            self.hub.deliver(output.to.device_id, output.frame)
        else:
            self._send(
                routing.node_topic(output.to.node),
                Envelope("frame", device=output.to.device_id, frame=output.frame),
            )

    def _nack(self, to: DeviceAddress, request_id: str | None, exc: SwitchboardError) -> None:
        self._deliver(Deliver(to, nack(request_id, exc.error_code, exc.message)))

    def _send(self, topic: str, envelope: Envelope) -> None:
        self._outgoing.put_nowait((topic, routing.encode(envelope)))

    def _receive(self, envelope: Envelope) -> None:
        if envelope.k == "cmd":
            self._apply(envelope)
        elif envelope.k == "present":
            self.two_party.present(envelope)
        elif envelope.k == "lost":
            self._lost(envelope)
        elif envelope.k == "frame" and envelope.frame is not None:
            self.hub.deliver(envelope.device, envelope.frame)
        elif envelope.k == "invite" and envelope.owner != self.node_id:
            self.two_party.invite_here(envelope.call, envelope.owner, envelope.user)

    async def _publish(self) -> None:
        while True:
            topic, message = await self._outgoing.get()
            try:
                await self._bus.publish(topic, message)
            except Exception:  # at-most-once: the request times out or the call rings out
                log.exception("could not publish a calling message on %s", topic)

    async def _listen(self, subscription: Subscription) -> None:
        async for raw in subscription:
            try:
                self._receive(routing.decode(raw))
            except Exception:  # one bad message must not stop the node's calling
                log.exception("dropping an undeliverable calling bus message")

    def on_media_event(self, call_id: str, event: ForwarderEvent) -> None:
        """The media node's events (speaker, streams) for the calls this node owns."""
        self.conferences.on_media_event(call_id, event)

    async def _watch_rosters(self, subscription: Subscription) -> None:
        async for raw in subscription:
            self.conferences.roster_changed(raw.decode())

    async def _watch_identities(self, subscription: Subscription) -> None:
        async for raw in subscription:
            for device in tuple(self.hub.of_user(raw.decode())):
                if device.connection is not None:
                    device.connection.recheck()
