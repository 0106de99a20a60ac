"""ConferenceHost: the group calls and Room calls of one node, and how requests reach them.

    device on this node ─joinGroupCall/joinRoom─▶ join(): validate, claim the owner
        (Placement: this node alone, Redis with several) ─▶ route to the owner like any
        call request (router.to_owner) ─▶ owner: apply() ─▶ its Conference
    owner: media node events, roster changes (rooms bus) ─▶ the call's Conference

The owner node hosts the call's media (its ``MediaNode``): signaling nodes route to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid

from switchboard.calling.conference.conference import (
    GROUP_PREFIX,
    ROOM_PREFIX,
    Conference,
    Joiner,
)
from switchboard.calling.conference.placement import Placement
from switchboard.calling.errors import CallNotFoundError, CallStateError, InvalidSignalError
from switchboard.calling.models import Deliver
from switchboard.calling.routing.messages import Command, Lost
from switchboard.calling.routing.router import CallRouter
from switchboard.calling.signaling.frames import nack
from switchboard.calling.signaling.hub import LocalDevice
from switchboard.calling.signaling.requests import Join, JoinGroupCall
from switchboard.calling.twoparty.calls import CallEventSink
from switchboard.core.clock import Clock
from switchboard.core.tasks import TaskScope
from switchboard.media.forwarder import ForwarderEvent
from switchboard.media.node import MediaNode
from switchboard.rooms.models import check_room_id
from switchboard.rooms.service import RoomDirectory

log = logging.getLogger(__name__)

RENEW_SECONDS = 20.0


class ConferenceHost:
    def __init__(
        self,
        router: CallRouter,
        *,
        media: MediaNode,
        rooms: RoomDirectory | None,
        placement: Placement,
        clock: Clock,
        max_participants: int,
        sink: CallEventSink | None = None,
        renew_seconds: float = RENEW_SECONDS,
    ) -> None:
        self.node_id = router.node_id
        self.media = media
        self.conferences: dict[str, Conference] = {}
        self._rooms = rooms
        self._placement = placement
        self._router = router
        self._clock = clock
        self._max_participants = max_participants
        self._sink = sink
        self._renew_seconds = renew_seconds
        # The claim renewer, every conference's job loop and the retiring of ended calls.
        self._tasks = TaskScope("conference host")

    async def start(self) -> None:
        await self._tasks.start()
        self._tasks.spawn(self._renew(), name="conference claims")

    async def stop(self) -> None:
        await self._tasks.stop()
        for conference in list(self.conferences.values()):
            await conference.stop()
        self.conferences.clear()
        await self._placement.close()

    # ── the device's node ────────────────────────────────────────────────────────────

    def join(self, device: LocalDevice, request: Join) -> None:
        if isinstance(request, JoinGroupCall):
            call_id = GROUP_PREFIX + _group_id(request.group_id)
        else:
            call_id = ROOM_PREFIX + check_room_id(request.room_id or "")
        if call_id in device.calls:
            raise CallStateError("This device is already in that call.")
        device.calls[call_id] = ""  # claimed below; a second join meanwhile is refused
        device.active.add(call_id)
        command = Command(
            call=call_id,
            user=device.user_id,
            node=self.node_id,
            device=device.device_id,
            req=request,
            join_only=device.join_only,
        )
        self._tasks.spawn(self._route_join(device, call_id, command, request.id), name="join")

    async def _route_join(
        self, device: LocalDevice, call_id: str, command: Command, request_id: str | None
    ) -> None:
        try:
            owner = await self._placement.claim(call_id, self.node_id)
        except Exception:
            log.exception("call %s: cannot place it", call_id)
            device.calls.pop(call_id, None)
            device.active.discard(call_id)
            self._router.deliver(
                Deliver(device.address, nack(request_id, "ServiceUnavailable", "Try again."))
            )
            return
        device.calls[call_id] = owner
        self._router.to_owner(owner, command)

    # ── the owner ────────────────────────────────────────────────────────────────────

    def apply(self, command: Command) -> None:
        who = Joiner(command.address, command.user, command.join_only)
        request = command.req
        conference = self.conferences.get(command.call)
        if conference is None or conference.ended:
            if not isinstance(request, Join):
                error = CallNotFoundError(f"The call '{command.call}' is over or unknown.")
                self._router.deliver(
                    Deliver(who.device, nack(request.id, error.error_code, error.message))
                )
                return
            conference = self._new(command.call)
        target = conference
        target.submit(lambda: target.handle(who, request))

    def get(self, call_id: str) -> Conference | None:
        """The running conference of ``call_id`` on this node (None: not here, or over)."""
        conference = self.conferences.get(call_id)
        return conference if conference is not None and not conference.ended else None

    def open(self, call_id: str) -> Conference:
        """A new conference owned here, with nobody in it yet (a server call: the caller
        has already claimed it)."""
        if call_id in self.conferences:
            raise CallStateError(f"The call '{call_id}' already exists.")
        return self._new(call_id)

    async def claim(self, call_id: str) -> str:
        """The owner of ``call_id`` (this node if nobody had it)."""
        return await self._placement.claim(call_id, self.node_id)

    def lost(self, lost: Lost) -> None:
        conference = self.conferences.get(lost.call)
        if conference is not None:
            device = lost.address
            conference.submit(lambda: conference.leave_device(device))

    def on_media_event(self, call_id: str, event: ForwarderEvent) -> None:
        conference = self.conferences.get(call_id)
        if conference is not None:
            conference.submit(lambda: conference.media_event(event))

    def roster_changed(self, room_id: str) -> None:
        conference = self.conferences.get(ROOM_PREFIX + room_id)
        if conference is not None:
            conference.submit(conference.roster_changed)

    def _new(self, call_id: str) -> Conference:
        conference = Conference(
            call_id,
            node=self.media,
            rooms=self._rooms,
            deliver=self._router.deliver,
            clock=self._clock,
            max_participants=self._max_participants,
            on_ended=self._ended,
            lifecycle=self._sink.offer if self._sink is not None else None,
        )
        self.conferences[call_id] = conference
        conference.start(self._tasks)
        return conference

    def _ended(self, call_id: str) -> None:
        conference = self.conferences.get(call_id)
        if conference is None:
            return
        try:
            self._tasks.spawn(self._retire(conference), name=f"retire {call_id}")
        except RuntimeError:
            return  # the host is stopping: stop() retires every conference still listed
        del self.conferences[call_id]

    async def _retire(self, conference: Conference) -> None:
        # A failure here must not reach the scope: it would stop every other call's loop.
        try:
            await conference.stop()
        except Exception:
            log.exception("call %s: closing the conference failed", conference.call_id)
        with contextlib.suppress(Exception):
            await self._placement.release(conference.call_id, self.node_id)

    async def _renew(self) -> None:
        while True:
            await asyncio.sleep(self._renew_seconds)
            try:
                await self._placement.renew(list(self.conferences), self.node_id)
            except Exception:
                log.exception("could not renew this node's conference claims")


def _group_id(value: str | None) -> str:
    """ACS group ids are GUIDs."""
    try:
        return str(uuid.UUID(value or ""))
    except ValueError:
        raise InvalidSignalError("groupId must be a GUID.", target="groupId") from None
