"""CallingService: the only thing that touches calling state on a node.

    endpoint (socket) ─register/handle/detach─▶ CallingService ─▶ DeviceHub (local devices)
                                                   │  owns CallSessions of calls placed here
    bus (node topic, invites) ─────────────────────┘  ─▶ outputs: frames (hub or bus),
                                                         lifecycle (Event Grid sink)

Everything that changes state is synchronous (one event-loop step, so no locks); bus
publishes go through one owned publisher task, in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import msgspec

from switchboard.bus.base import Bus, Subscription
from switchboard.calling import models as m
from switchboard.calling import routing
from switchboard.calling.conference import is_conference
from switchboard.calling.conferences import ConferenceHost
from switchboard.calling.errors import CallNotAllowedError, CallNotFoundError, InvalidSignalError
from switchboard.calling.hub import DeviceConnection, DeviceHub, LocalDevice
from switchboard.calling.models import DeviceAddress, EndReason, MediaDirection
from switchboard.calling.placement import LocalPlacement, Placement
from switchboard.calling.protocol import (
    CLOSE_REPLACED,
    ClientMessage,
    Request,
    ServerMessage,
    ack,
    nack,
    require_candidate,
    require_description,
)
from switchboard.calling.routing import Envelope
from switchboard.calling.session import CallSession, CallTimeouts, Deliver, Lifecycle, Output
from switchboard.core.errors import NotSupportedError, SwitchboardError
from switchboard.core.identifiers import is_acs_user_id
from switchboard.http.identifiers import identifier_from_json
from switchboard.identity.service import IDENTITY_CHANGED
from switchboard.media.forwarder import ForwarderEvent
from switchboard.media.node import LocalMediaNode, MediaNode
from switchboard.rooms.service import ROOM_PARTICIPANTS_CHANGED, RoomDirectory

log = logging.getLogger(__name__)

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


class CallEventSink(Protocol):
    def offer(self, events: Sequence[Lifecycle]) -> None:
        """Take lifecycle facts for Event Grid; must not block."""
        ...


IceServers = Callable[[str], list[dict[str, Any]]]


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
        self._ice_servers = ice_servers
        self._clock = clock
        self._sink = sink
        self._timeouts = CallTimeouts(
            self.settings.ring_timeout_seconds, self.settings.presence_seconds
        )
        self.sessions: dict[str, CallSession] = {}
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._graces: dict[str, asyncio.TimerHandle] = {}
        self._outgoing: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue()
        self._subscriptions: list[Subscription] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._request_encoder = msgspec.json.Encoder()
        self.conferences = ConferenceHost(
            self.node_id,
            media=media or LocalMediaNode(),
            rooms=rooms,
            placement=placement or LocalPlacement(),
            deliver=self._deliver,
            to_owner=self._to_owner,
            clock=clock,
            max_participants=self.settings.max_participants,
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
        for handle in [*self._timers.values(), *self._graces.values()]:
            handle.cancel()
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
        registration = self.hub.register(user_id, device_id, last_seq, connection)
        device = registration.device
        device.join_only = join_only
        grace = self._graces.pop(device.device_id, None)
        if grace is not None:
            grace.cancel()
        if registration.replaced is not None and registration.replaced is not connection:
            registration.replaced.close(CLOSE_REPLACED, "This device connected again.")
        log.info(
            "device %s of %s %s",
            device.device_id,
            user_id,
            "resumed" if registration.resumed else "registered",
        )
        result = {
            "deviceId": device.device_id,
            "userId": user_id,
            "resumed": registration.resumed,
            "calls": sorted(device.calls),
            "heartbeatSeconds": self.settings.heartbeat_seconds,
            "iceServers": self._ice_servers(user_id),
        }
        return device, result

    def detach(self, device: LocalDevice, connection: DeviceConnection) -> None:
        """The socket ended: keep the device (and its calls) for the grace period."""
        if not self.hub.detach(device, connection, self._clock()):
            return
        loop = asyncio.get_running_loop()
        self._graces[device.device_id] = loop.call_later(
            self.settings.reconnect_grace_seconds, self._expire, device.device_id
        )

    def drop(self, device: LocalDevice, reason: EndReason) -> None:
        """Forget the device now (unregister, token revoked): its calls end."""
        grace = self._graces.pop(device.device_id, None)
        if grace is not None:
            grace.cancel()
        self.hub.remove(device)
        for call_id, owner in tuple(device.calls.items()):
            self._to_owner(
                owner,
                Envelope(
                    "lost",
                    call_id,
                    node=self.node_id,
                    device=device.device_id,
                    reason=reason.json(),
                ),
            )
        device.calls.clear()
        device.active.clear()

    def _expire(self, device_id: str) -> None:
        self._graces.pop(device_id, None)
        device = self.hub.get(device_id)
        if device is not None and device.connection is None:
            log.info("device %s did not reconnect in time", device_id)
            self.drop(device, m.NETWORK_LOST)

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
                self._start_call(device, request)
            elif kind in (ClientMessage.JOIN_GROUP_CALL, ClientMessage.JOIN_ROOM):
                self.conferences.join(device, request, kind)
            elif kind in _CALL_REQUESTS:
                owner = device.calls.get(request.call_id or "")
                if owner is None:
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

    def _start_call(self, device: LocalDevice, request: Request) -> None:
        targets = request.targets or []
        if len(targets) != 1:
            raise NotSupportedError("A call has exactly one target until group calls arrive.")
        callee = identifier_from_json(targets[0]).raw_id
        if not is_acs_user_id(callee):
            raise InvalidSignalError("The target must be a communicationUser.", target="targets")
        if callee == device.user_id:
            raise InvalidSignalError("A user cannot call itself.", target="targets")
        offer = require_description(request.description, "offer") if request.description else None
        media = _media(request.media)
        call_id = str(uuid.uuid4())
        session = CallSession(
            call_id,
            device.user_id,
            device.address,
            callee,
            offer=offer,
            media=media,
            now=self._clock(),
            timeouts=self._timeouts,
        )
        self.sessions[call_id] = session
        device.calls[call_id] = self.node_id
        device.active.add(call_id)
        self._deliver(
            Deliver(
                device.address, ack(request.id, callId=call_id, participantId=session.caller.id)
            )
        )
        self._emit(session, session.start())
        self._invite_here(call_id, self.node_id, callee)
        self._send(routing.INVITES, Envelope("invite", call_id, owner=self.node_id, user=callee))
        self._schedule(session)

    # ---- owner side ----------------------------------------------------------------------

    def _apply(self, envelope: Envelope) -> None:
        device = DeviceAddress(envelope.node, envelope.device)
        request = msgspec.convert(envelope.req or {}, Request)
        if is_conference(envelope.call):
            try:
                kind = ClientMessage(request.type)
            except ValueError:
                return
            self.conferences.apply(envelope, request, kind)
            return
        session = self.sessions.get(envelope.call)
        try:
            if session is None or session.ended:
                raise CallNotFoundError(f"The call '{envelope.call}' is over or unknown.")
            outputs = self._dispatch(session, device, ClientMessage(request.type), request)
        except SwitchboardError as exc:
            self._nack(device, request.id, exc)
            return
        self._deliver(Deliver(device, ack(request.id)))
        self._emit(session, outputs)

    def _dispatch(
        self, session: CallSession, device: DeviceAddress, kind: ClientMessage, request: Request
    ) -> list[Output]:
        now = self._clock()
        if kind is ClientMessage.ACCEPT:
            answer = require_description(request.description, "answer")
            return session.accept(device, answer, _media(request.media), now)
        if kind is ClientMessage.REJECT:
            return session.reject(device, bool(request.busy), now)
        if kind is ClientMessage.HANG_UP:
            return session.hang_up(device, now)
        if kind is ClientMessage.SDP:
            description = require_description(request.description, "any")
            return session.relay(device, ServerMessage.SDP, request.to, description=description)
        if kind is ClientMessage.CANDIDATE:
            candidate = require_candidate(request.candidate)
            return session.relay(device, ServerMessage.CANDIDATE, request.to, candidate=candidate)
        if kind is ClientMessage.MEDIA_STATE:
            return session.media_state(device, request.muted, request.video_on)
        return session.hold(device, kind is ClientMessage.HOLD)

    def _present(self, envelope: Envelope) -> None:
        session = self.sessions.get(envelope.call)
        device = DeviceAddress(envelope.node, envelope.device)
        if session is None:
            if not envelope.busy:  # rang too late: the call is gone
                self._deliver(
                    Deliver(
                        device,
                        {
                            "type": ServerMessage.CALL_ENDED.value,
                            "callId": envelope.call,
                            "reason": m.ACCEPTED_ELSEWHERE.json(),
                        },
                    )
                )
            return
        self._emit(session, session.device_present(envelope.user, device, envelope.busy))

    def _lost(self, envelope: Envelope) -> None:
        if is_conference(envelope.call):
            self.conferences.lost(envelope)
            return
        session = self.sessions.get(envelope.call)
        if session is None:
            return
        lost = EndReason.from_json(envelope.reason or {})
        device = DeviceAddress(envelope.node, envelope.device)
        self._emit(session, session.device_lost(device, lost, self._clock()))

    def _on_timer(self, call_id: str) -> None:
        self._timers.pop(call_id, None)
        session = self.sessions.get(call_id)
        if session is not None:
            self._emit(session, session.handle_timer(self._clock()))

    def _emit(self, session: CallSession, outputs: list[Output]) -> None:
        lifecycle = [o for o in outputs if isinstance(o, Lifecycle)]
        for output in outputs:
            if isinstance(output, Deliver):
                self._deliver(output)
        if lifecycle and self._sink is not None:
            self._sink.offer(lifecycle)
        if session.ended:
            self.sessions.pop(session.call_id, None)
            timer = self._timers.pop(session.call_id, None)
            if timer is not None:
                timer.cancel()
        else:
            self._schedule(session)

    def _schedule(self, session: CallSession) -> None:
        timer = self._timers.pop(session.call_id, None)
        if timer is not None:
            timer.cancel()
        deadline = session.next_timer()
        if deadline is not None:
            delay = max(0.0, deadline - self._clock())
            loop = asyncio.get_running_loop()
            self._timers[session.call_id] = loop.call_later(delay, self._on_timer, session.call_id)

    # ---- device side of invites ----------------------------------------------------------

    def _invite_here(self, call_id: str, owner: str, callee: str) -> None:
        for device in self.hub.of_user(callee):
            if device.connection is None:
                continue  # between sockets: it cannot ring
            busy = device.busy
            if not busy:
                device.calls[call_id] = owner
            self._to_owner(
                owner,
                Envelope(
                    "present",
                    call_id,
                    user=callee,
                    node=self.node_id,
                    device=device.device_id,
                    busy=busy,
                ),
            )

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
            self._present(envelope)
        elif envelope.k == "lost":
            self._lost(envelope)
        elif envelope.k == "frame" and envelope.frame is not None:
            self.hub.deliver(envelope.device, envelope.frame)
        elif envelope.k == "invite" and envelope.owner != self.node_id:
            self._invite_here(envelope.call, envelope.owner, envelope.user)

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


def _media(value: dict[str, bool] | None) -> MediaDirection:
    if value is None:
        return MediaDirection()
    return MediaDirection(
        audio=bool(value.get("audio", True)), video=bool(value.get("video", False))
    )
