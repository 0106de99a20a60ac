"""CallingService: the only thing that touches calling state on a node.

    endpoint (socket) ─register/detach/drop─▶ DeviceRegistry ─▶ DeviceHub (local devices)
                      ─handle(request)──────▶ startCall: TwoPartyCalls (this node owns it);
                                              to a phone number: phone_calls (calling/pstn)
                                              joinGroupCall/joinRoom: ConferenceHost (placed)
                                              server calls: ServerCallHost (the app's)
                                              call requests: router.to_owner(the call's node)
    router (this node: the objects; other nodes: the bus) ─receive─▶ TwoPartyCalls /
        ConferenceHost ─▶ frames (router.deliver), lifecycle (Event Grid sink)

Everything that changes state is synchronous (one event-loop step, so no locks). Nothing
here picks a class: app.py passes the router, the media node and the placement.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

import msgspec

from switchboard.bus.base import Bus, Subscription
from switchboard.calling.conference.conference import is_conference, is_server_call
from switchboard.calling.conference.host import ConferenceHost
from switchboard.calling.conference.placement import Placement
from switchboard.calling.errors import CallNotAllowedError, CallNotFoundError, InvalidSignalError
from switchboard.calling.models import Deliver, DeviceAddress, EndReason
from switchboard.calling.routing.messages import Command, ForOwner, Invite, Lost, Present
from switchboard.calling.routing.router import CallRouter
from switchboard.calling.server.host import ServerCallHost
from switchboard.calling.signaling.frames import Ack, ServerFrame, ack, nack
from switchboard.calling.signaling.hub import DeviceConnection, DeviceHub, LocalDevice
from switchboard.calling.signaling.registration import DeviceRegistry, IceServers
from switchboard.calling.signaling.requests import (
    Accept,
    CallRequests,
    ClientFrame,
    JoinGroupCall,
    JoinRoom,
    PushReceived,
    StartCall,
    UnknownRequest,
)
from switchboard.calling.twoparty.calls import CallEventSink, TwoPartyCalls
from switchboard.calling.twoparty.session import CallTimeouts
from switchboard.core.clock import Clock
from switchboard.core.errors import SwitchboardError
from switchboard.core.logs import log_context
from switchboard.core.tasks import TaskScope
from switchboard.identity.service import IDENTITY_CHANGED
from switchboard.media.forwarder import ForwarderEvent
from switchboard.media.node import MediaNode
from switchboard.rooms.events import ROOM_EVENTS, decode_room_event
from switchboard.rooms.service import RoomDirectory

log = logging.getLogger(__name__)

__all__ = ["CallEventSink", "CallingService", "CallingSettings", "IceServers"]


@dataclass(frozen=True, slots=True)
class CallingSettings:
    ring_timeout_seconds: float = 85.0
    presence_seconds: float = 1.0  # 0 on a single node: every device is local
    reconnect_grace_seconds: float = 60.0
    heartbeat_seconds: float = 15.0
    max_participants: int = 350  # per group call or Room call, as ACS


class PhoneCallStarter(Protocol):
    """Calls to phone numbers from devices (calling/pstn/outgoing.py; app.py sets it when
    the node has a voice carrier)."""

    def takes(self, request: StartCall) -> bool:
        """Whether the startCall's target is a phone number."""
        ...

    def start_call(self, device: LocalDevice, request: StartCall) -> None:
        """Refuses (raises) what is wrong at once; acks (or nacks) the rest later."""
        ...


class CallingService:
    """Implements ``CallInbox`` for its router."""

    def __init__(
        self,
        bus: Bus,
        router: CallRouter,
        ice_servers: IceServers,
        *,
        media: MediaNode,
        placement: Placement,
        clock: Clock,
        settings: CallingSettings,
        sink: CallEventSink | None,
        rooms: RoomDirectory | None,
    ) -> None:
        self.node_id = router.node_id
        self.settings = settings
        self.hub = DeviceHub(self.node_id)
        self._bus = bus
        self._router = router
        self._subscriptions: list[Subscription] = []
        self._tasks = TaskScope("calling")
        self.devices = DeviceRegistry(
            self.hub,
            ice_servers=ice_servers,
            heartbeat_seconds=settings.heartbeat_seconds,
            reconnect_grace_seconds=settings.reconnect_grace_seconds,
            clock=clock,
            router=router,
        )
        self.two_party = TwoPartyCalls(
            self.hub,
            router,
            clock=clock,
            timeouts=CallTimeouts(settings.ring_timeout_seconds, settings.presence_seconds),
            sink=sink,
        )
        self.conferences = ConferenceHost(
            router,
            media=media,
            rooms=rooms,
            placement=placement,
            clock=clock,
            max_participants=settings.max_participants,
            sink=sink,
        )
        # What Call Automation drives (calling/server/): app.py wraps it in ServerCalls
        # with the media node's legs.
        self.server_calls = ServerCallHost(
            self.conferences,
            router,
            self.two_party.ring_here,
            clock=clock,
            presence_seconds=settings.presence_seconds,
        )
        self.phone_calls: PhoneCallStarter | None = None  # set by the composition root

    # ---- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        await self._router.start(self)
        identities = await self._bus.subscribe(IDENTITY_CHANGED)
        rosters = await self._bus.subscribe(ROOM_EVENTS)
        self._subscriptions = [identities, rosters]
        await self.conferences.start()
        await self._tasks.start()
        self._tasks.spawn(self._watch_rosters(rosters), name="calling rosters")
        self._tasks.spawn(self._watch_identities(identities), name="calling identities")

    async def stop(self) -> None:
        self.two_party.stop()
        self.server_calls.stop()
        self.devices.stop()
        await self._router.stop()
        for subscription in self._subscriptions:
            await subscription.close()
        await self._tasks.stop()
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
        request_id: str | None = None,
    ) -> tuple[LocalDevice, Ack]:
        return self.devices.register(
            user_id, device_id, last_seq, connection, join_only=join_only, request_id=request_id
        )

    def detach(self, device: LocalDevice, connection: DeviceConnection) -> None:
        self.devices.detach(device, connection)

    def drop(self, device: LocalDevice, reason: EndReason) -> None:
        self.devices.drop(device, reason)

    def reloading(self, device: LocalDevice, connection: DeviceConnection, keep: set[str]) -> None:
        self.devices.reloading(device, connection, keep)

    # ---- requests from a local device ----------------------------------------------------

    def handle(self, device: LocalDevice, request: ClientFrame | UnknownRequest) -> None:
        """Apply one request; its ack (or nack) reaches the device as a frame."""
        if not device.first_time(request.id):
            return  # resent after a reconnect: the ack is in the replay
        try:
            if isinstance(request, UnknownRequest):
                raise InvalidSignalError(f"Unknown type '{request.type}'.")
            if isinstance(request, StartCall):
                if device.join_only:
                    raise CallNotAllowedError("A voip.join token can join calls, not start them.")
                if self.phone_calls is not None and self.phone_calls.takes(request):
                    self.phone_calls.start_call(device, request)
                else:
                    self.two_party.start_call(device, request)
            elif isinstance(request, JoinGroupCall | JoinRoom):
                self.conferences.join(device, request)
            elif isinstance(request, PushReceived):
                if not request.call_id or not request.owner:
                    raise InvalidSignalError("pushReceived needs the push's callId and owner.")
                present = self.two_party.push_received(device, request.call_id, request.owner)
                self._router.deliver(Deliver(device.address, ack(request.id)))
                self._router.to_owner(request.owner, present)
            elif isinstance(request, CallRequests):
                call_id = request.call_id or ""
                owner = device.calls.get(call_id)
                if not owner:
                    raise CallNotFoundError(f"No call '{request.call_id}' on this device.")
                if isinstance(request, Accept):
                    device.active.add(call_id)
                command = Command(
                    call=call_id,
                    user=device.user_id,
                    node=self.node_id,
                    device=device.device_id,
                    req=request,
                )
                with log_context(call_id=call_id):  # the call id on the lines it causes
                    self._router.to_owner(owner, command)
            else:
                raise InvalidSignalError(f"'{request.kind.value}' is not a request after register.")
        except SwitchboardError as exc:
            self._nack(device.address, request.id, exc)

    # ---- CallInbox: what the router brings ---------------------------------------------

    def receive(self, message: ForOwner | Invite) -> None:
        with log_context(call_id=message.call):  # the call id on the lines it causes
            self._receive(message)

    def _receive(self, message: ForOwner | Invite) -> None:
        if isinstance(message, Command):
            if is_server_call(message.call):
                self.server_calls.apply(message)
            elif is_conference(message.call):
                self.conferences.apply(message)
            else:
                self.two_party.apply(message)
        elif isinstance(message, Present):
            if is_server_call(message.call):
                self.server_calls.present(message)
            else:
                self.two_party.present(message)
        elif isinstance(message, Lost):
            self._lost(message)
        else:
            self.two_party.invited(message)

    def deliver_here(self, device_id: str, frame: ServerFrame) -> None:
        self.hub.deliver(device_id, frame)

    def _lost(self, lost: Lost) -> None:
        if is_server_call(lost.call):
            self.server_calls.lost(lost)
        elif is_conference(lost.call):
            self.conferences.lost(lost)
        else:
            self.two_party.lost(lost)

    # ---- plumbing ------------------------------------------------------------------------

    def _nack(self, to: DeviceAddress, request_id: str | None, exc: SwitchboardError) -> None:
        self._router.deliver(Deliver(to, nack(request_id, exc.error_code, exc.message)))

    def on_media_event(self, call_id: str, event: ForwarderEvent) -> None:
        """The media node's events (speaker, streams) for the calls this node owns."""
        self.conferences.on_media_event(call_id, event)

    async def _watch_rosters(self, subscription: Subscription) -> None:
        async for raw in subscription:
            try:
                event = decode_room_event(raw)
            except msgspec.DecodeError:  # not ours (another version on the bus): skip it
                log.warning("ignoring an unreadable rooms event: %r", raw[:200])
                continue
            self.conferences.roster_changed(event.room_id)

    async def _watch_identities(self, subscription: Subscription) -> None:
        async for raw in subscription:
            for device in tuple(self.hub.of_user(raw.decode())):
                if device.connection is not None:
                    device.connection.recheck()
