"""Conference: one group call or Room call on its owning node, with its media on the SFU.

``GroupCall`` (group.py) decides who is in, who waits and who may publish; ``ConferenceMedia``
(conference_media.py) drives the SFU and the SDP; ``GroupCallEvents`` says what Event Grid
hears; conference_admission.py holds a Room's admission, the lobby and the window timer.
This class does the asynchronous part, one job at a time per call (so no locks).

    join{offer} ─▶ room? room_admission: window open, role (off the roster: lobby)
        ─▶ media.connect (ICE-lite + DTLS port) ─▶ answer (sdp from "media")
        ─▶ publish its tracks (as its role allows) ─▶ renegotiate everyone: the node offers
           each member its new streams (sdp from "media", with mid → participant)
    sdp{answer} ─▶ stable; publish what the answer now sends; offer what is still pending
    node events: StreamsChanged ─▶ renegotiate · SpeakerChanged ─▶ dominantSpeakersChanged
    roster changed (rooms) ─▶ roles re-read: participantUpdated, publish/unpublish, offer;
        off the roster ─▶ callEnded 403/5855
    the room's validity window ends (timer, re-read) ─▶ callEnded 403/5856 for everyone
    a server call ("server:<uuid>", calling/server/): an invited device's accept{offer}
        joins like a join; the app (not a member) watches through a ConferenceObserver and
        removes, mutes or ends; the call stays up until someone has been in
    join_leg (a phone, calling/pstn/) ─▶ a member with no device: its media an in-process
        leg on the SFU (``attach``), listed like the others; out ─▶ its LegSink hears it
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol, TypeVar

from switchboard.calling.conference.admission import Admission, Lobby, WindowWatch, room_admission
from switchboard.calling.conference.admission import Joiner as Joiner
from switchboard.calling.conference.data_senders import require_data_sender, sender_route
from switchboard.calling.conference.events import GroupCallEvents
from switchboard.calling.conference.group import (
    ROOM_CLOSED,
    ROSTER_REMOVED,
    GroupCall,
    HoldableLegSink,
    LegSink,
    Member,
    MemberState,
)
from switchboard.calling.conference.media import ConferenceMedia
from switchboard.calling.errors import CallNotFoundError, CallStateError, InvalidSignalError
from switchboard.calling.lifecycle import Lifecycle
from switchboard.calling.models import HUNG_UP, Deliver, DeviceAddress, EndReason
from switchboard.calling.signaling.frames import CallEnded, ParticipantUpdated, Sdp, ack, nack
from switchboard.calling.signaling.protocol import Description
from switchboard.calling.signaling.requests import (
    Accept,
    Admit,
    CallRequests,
    CandidateRequest,
    DataChannel,
    DataChannelSender,
    HangUp,
    Join,
    MediaState,
    RejectLobby,
    SdpRequest,
    SetVideoStreams,
    display_name_of,
    require_description,
)
from switchboard.core.clock import Clock
from switchboard.core.errors import NotSupportedError, SwitchboardError
from switchboard.core.tasks import TaskScope
from switchboard.media.forwarder import ForwarderEvent, SpeakerChanged, StreamsChanged
from switchboard.media.negotiation import GlareError
from switchboard.media.node import MediaNode
from switchboard.media.sdp import SdpError, parse
from switchboard.media.streams import MediaKind
from switchboard.rooms.models import permissions
from switchboard.rooms.service import RoomDirectory

log = logging.getLogger(__name__)

MEDIA_PEER = "media"  # the participant id the SFU's descriptions come from and go to
GROUP_PREFIX = "group:"
ROOM_PREFIX = "room:"
SERVER_PREFIX = "server:"  # a server call (Call Automation), calling/server/

T = TypeVar("T")


def is_conference(call_id: str) -> bool:
    return call_id.startswith((GROUP_PREFIX, ROOM_PREFIX, SERVER_PREFIX))


def is_server_call(call_id: str) -> bool:
    return call_id.startswith(SERVER_PREFIX)


Lifecycles = Callable[[Sequence[Lifecycle]], None]


class ConferenceObserver(Protocol):
    """Who watches a conference from this node (a server call's app): told after each change,
    inside the conference's job, so it sees them in order."""

    def member_joined(self, member: Member) -> None: ...

    def member_left(self, member: Member, reason: EndReason | None) -> None: ...

    def member_changed(self, member: Member) -> None: ...

    def call_ended(self, reason: EndReason) -> None: ...


class Conference:
    def __init__(
        self,
        call_id: str,
        *,
        node: MediaNode,
        rooms: RoomDirectory | None,
        deliver: Callable[[Deliver], None],
        clock: Clock,
        max_participants: int,
        on_ended: Callable[[str], None],
        lifecycle: Lifecycles | None = None,
    ) -> None:
        self.call_id = call_id
        self.room_id = (
            call_id.removeprefix(ROOM_PREFIX) if call_id.startswith(ROOM_PREFIX) else None
        )
        group_id = call_id.removeprefix(GROUP_PREFIX) if call_id.startswith(GROUP_PREFIX) else None
        # A server call waits for its invitees: it does not end before someone has been in.
        self.server = is_server_call(call_id)
        self.observer: ConferenceObserver | None = None
        self.group = GroupCall(call_id, room_id=self.room_id, max_participants=max_participants)
        self.events = GroupCallEvents(call_id, group_id=group_id, room_id=self.room_id)
        self.media = ConferenceMedia(call_id, node)
        self._rooms = rooms
        self._deliver = deliver
        self._clock = clock
        self._on_ended = on_ended
        self._lifecycle = lifecycle or (lambda _facts: None)
        self._lobby = Lobby()
        self._jobs: asyncio.Queue[Callable[[], Awaitable[None]]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._window = WindowWatch(clock, lambda: self.submit(self.window_check))
        self.ended = False

    # ── lifecycle ────────────────────────────────────────────────────────────────────

    def start(self, tasks: TaskScope) -> None:
        """Run this call's jobs in its host's scope, so stopping the host stops them too."""
        self._task = tasks.spawn(self._run(), name=f"conference {self.call_id}")

    async def stop(self) -> None:
        self._window.cancel()
        if self._task is not None:
            # Only this call's loop ends here: the host's scope (and the other calls) go on.
            self._task.cancel()
            await asyncio.wait({self._task})
        await self.media.close()

    def submit(self, work: Callable[[], Awaitable[None]]) -> None:
        self._jobs.put_nowait(work)

    async def run(self, work: Callable[[], Awaitable[T]]) -> T:
        """Run ``work`` as one of this call's jobs and return its result (or raise)."""
        done: asyncio.Future[T] = asyncio.get_running_loop().create_future()

        async def job() -> None:
            try:
                result = await work()
            except Exception as exc:
                if not done.done():
                    done.set_exception(exc)
                return
            if not done.done():
                done.set_result(result)

        self.submit(job)
        return await done

    async def _run(self) -> None:
        while True:
            work = await self._jobs.get()
            try:
                await work()
            except Exception:  # one failed step must not stop the call
                log.exception("call %s: conference step failed", self.call_id)

    # ── requests (each runs as one job) ──────────────────────────────────────────────

    async def handle(self, who: Joiner, request: CallRequests | Join) -> None:
        """A device's request; an ``Accept`` here is an invited device joining a server call
        (calling/server/ routes only those)."""
        joining = isinstance(request, Join) or (self.server and isinstance(request, Accept))
        try:
            if isinstance(request, Join) or (self.server and isinstance(request, Accept)):
                await self._join(who, request)
                return
            if self.ended:
                raise CallNotFoundError(f"The call '{self.call_id}' is over.")
            member = self.group.member_of(who.device)
            await self._request(member, request)
        except (SwitchboardError, SdpError, GlareError) as exc:
            error = _as_signaling_error(exc)
            self._deliver(Deliver(who.device, nack(request.id, error.error_code, error.message)))
            if joining:
                await self._refused(who.device, EndReason(403, 0, error.message))
            return
        self._deliver(Deliver(who.device, ack(request.id)))

    async def _refused(self, device: DeviceAddress, reason: EndReason) -> None:
        """A join failed: the joining node already counted the device in; callEnded clears
        it there (and tells the client)."""
        self._deliver(Deliver(device, CallEnded(reason.info(), call_id=self.call_id)))
        self._end_if_empty(reason, None)

    async def _request(self, member: Member, request: CallRequests) -> None:
        if isinstance(request, HangUp):
            # As in a two-party call, the device that hangs up gets callEnded too (0/0):
            # clients end a call on callEnded, never on an ack.
            await self._leave(member, HUNG_UP, ended_by=member.user_id)
        elif isinstance(request, SdpRequest):
            await self._description(member, request)
        elif isinstance(request, CandidateRequest):
            pass  # ICE-lite: the node's one candidate is in its SDP; it sends no checks
        elif isinstance(request, MediaState):
            if member.state is MemberState.CONNECTED:
                if request.muted is not None:
                    await self.media.set_muted(member, MediaKind.AUDIO, request.muted)
                if request.video_on is not None:
                    await self.media.set_muted(member, MediaKind.VIDEO, not request.video_on)
            self._changed(member, request.muted, request.video_on, request.screen_share_on)
        elif isinstance(request, Admit):
            admitted_members, lobby_update = self.group.admit(member, request.participant_ids or [])
            self._out(lobby_update)
            for admitted in admitted_members:
                offer, screen = self._lobby.admit(admitted.id)
                await self._connect(admitted, offer, screen)
        elif isinstance(request, RejectLobby):
            self._out(self.group.reject(member, request.participant_ids or []))
            self._lobby.reject(request.participant_ids or [])
        elif isinstance(request, DataChannel):
            if request.data is None:
                raise InvalidSignalError("A dataChannel request carries data (a string).")
            channel = None
            if request.channel_id is not None:
                require_data_sender(member)  # a Consumer's relayed message is refused too
                channel = (request.channel_id, request.sequence_number or 0)
            self._out(self.group.data(member, request.participant_ids, request.data, channel))
        elif isinstance(request, DataChannelSender):
            channel_id, route = sender_route(self.group, member, request)
            await self.media.set_data_route(member, channel_id, route)
        elif isinstance(request, SetVideoStreams):
            await self.media.set_max_video(member, request.max_video or 0)
        else:
            raise NotSupportedError(f"'{request.kind.value}' is not supported in a group call.")

    async def _join(self, who: Joiner, request: Join | Accept) -> None:
        offer = require_description(request.description, "offer").sdp
        parse(offer)  # refuse a broken offer before anyone sees the member
        name = display_name_of(request)
        screen = set(request.screen_share_mids or [])
        admission = Admission()
        if self.room_id is not None:
            admission, room = await room_admission(
                self._rooms, self.room_id, who.user_id, self._now_ms()
            )
            self._window.watch(room)
        member = self.group.add(
            who.user_id,
            who.device,
            admission.role,
            admission.granted,
            lobby=admission.lobby,
            now=self._clock.now(),
            # voip.join may accept an invitation: a server call is the app's, not started here.
            join_only=who.join_only and not self.server,
        )
        member.display_name = name
        member.shown = who.shown
        self._deliver(
            Deliver(
                who.device,
                ack(
                    request.id,
                    call_id=self.call_id,
                    participant_id=member.id,
                    state=member.shown or member.state.value,
                ),
            )
        )
        if admission.lobby:
            self._lobby.hold(member.id, offer, screen)
            self._out(self.group.joined(member))
            return
        try:
            await self._connect(member, offer, screen)
        except BaseException:  # its media failed (a bad offer, no port): it is not in
            await self._leave(member, None)
            raise

    async def _connect(self, member: Member, offer: str, screen: set[str]) -> None:
        """Give a member its transport on the SFU, answer its offer, publish, renegotiate."""
        answer = await self.media.connect(member, offer, screen)
        self._send_description(member, Description("answer", answer))
        self._out(self.group.joined(member))
        self._lifecycle(self.events.added(member, member.role, self._clock.now()))
        if self.observer is not None:
            self.observer.member_joined(member)
        await self.media.sync_published(member)
        await self._renegotiate_all()

    async def _description(self, member: Member, request: SdpRequest) -> None:
        if not self.media.has(member.id):
            raise CallStateError("The participant has no media session (still in the lobby?).")
        if request.to not in (None, MEDIA_PEER):
            raise InvalidSignalError("In a group call, descriptions go to 'media'.")
        description = require_description(request.description, "any")
        if description.type == "answer":
            self.media.accept_answer(member, description.sdp)
            await self.media.sync_published(member)
            await self._renegotiate(member)
            return
        screen = set(request.screen_share_mids or []) if request.screen_share_mids else None
        answer = await self.media.answer(member, description.sdp, screen)
        self._send_description(member, Description("answer", answer))
        await self.media.sync_published(member)
        await self._renegotiate_all()

    # ── leaving ──────────────────────────────────────────────────────────────────────

    async def leave_device(self, device: DeviceAddress) -> None:
        """The device is gone for good (its socket did not come back, token revoked)."""
        with contextlib.suppress(CallStateError):
            member = self.group.member_of(device)
            await self._leave(member, None, ended_by=member.user_id)

    async def _leave(
        self, member: Member, reason: EndReason | None, *, ended_by: str | None = None
    ) -> None:
        was_in = member.state is MemberState.CONNECTED
        self._out(self.group.remove(member.id, reason))
        if member.leg is not None:
            member.leg.left(reason)
        if was_in:
            self._lifecycle(self.events.removed(member, member.role, self._clock.now()))
            if self.observer is not None:
                self.observer.member_left(member, reason)
        self._lobby.forget(member.id)
        await self.media.remove(member.id)
        if self._end_if_empty(reason or HUNG_UP, ended_by):
            return
        if self.lonely_phone():
            await self.end_for_everyone(HUNG_UP)
            return
        await self._renegotiate_all()

    def lonely_phone(self) -> bool:
        """A server call the app has left, where one phone remains with nobody to talk to: it
        is hung up (as a 1:1 call ends when the other side does). Two phones may talk on."""
        members = self.group.connected()
        return (
            self.server
            and self.observer is None
            and len(members) == 1
            and members[0].leg is not None
        )

    def _end_if_empty(self, reason: EndReason, ended_by: str | None) -> bool:
        if self.group.members or self.ended or (self.server and not self.events.started):
            return self.ended
        self._finish(reason, ended_by)
        return True

    def _finish(self, reason: EndReason, ended_by: str | None) -> None:
        self.ended = True
        self._window.cancel()
        self._lifecycle(self.events.ended(reason, ended_by, self._clock.now()))
        if self.observer is not None:
            self.observer.call_ended(reason)
        self._on_ended(self.call_id)

    async def end_for_everyone(self, reason: EndReason) -> None:
        """Everyone (lobby included) gets ``reason``; the call is over."""
        if self.ended:
            return
        now = self._clock.now()
        for member in list(self.group.members.values()):
            if member.state is MemberState.CONNECTED:
                self._lifecycle(self.events.removed(member, member.role, now))
                if self.observer is not None:
                    self.observer.member_left(member, reason)
            self._out(self.group.remove(member.id, reason))
            if member.leg is not None:
                member.leg.left(reason)
            await self.media.remove(member.id)
        self._lobby.clear()
        self._finish(reason, None)

    # ── what the app does (server calls; a job each, through ``run``) ─────────────────

    async def remove_member(self, member_id: str, reason: EndReason) -> bool:
        """The app removes a member (it gets ``reason``); False if it is not in the call."""
        member = self.group.members.get(member_id)
        if member is None or self.ended:
            return False
        await self._leave(member, reason)
        return True

    async def release_member(self, member_id: str) -> bool:
        """The member moves to another call: out of this one, telling it nothing (its leg's
        sink is not told either); the others hear it left. False if it is not in the call."""
        member = self.group.members.get(member_id)
        if member is None or self.ended:
            return False
        member.leg = None
        await self._leave(member, None, ended_by=member.user_id)
        return True

    async def mute_member(self, member_id: str) -> bool:
        """The SFU stops forwarding the member's audio; everyone sees it muted."""
        member = self.group.members.get(member_id)
        if member is None or member.state is not MemberState.CONNECTED:
            return False
        await self.media.set_muted(member, MediaKind.AUDIO, True)
        self._changed(member, True, None)
        # The member itself hears of it too (ACS: the muted device's isMuted turns true).
        if member.device is not None:
            updated = ParticipantUpdated(member.info(), call_id=self.call_id)
            self._deliver(Deliver(member.device, updated))
        return True

    async def hold_member(self, member_id: str, kept_with: frozenset[str] | None) -> bool:
        """Hold (``kept_with``: who still hears it and is heard by it, the app's leg) or
        unhold (None); the app sees ``isOnHold``. False if it is not in the call."""
        member = self.group.members.get(member_id)
        if member is None or member.state is not MemberState.CONNECTED or self.ended:
            return False
        await self.media.set_apart(member, kept_with)
        if member.on_hold != (kept_with is not None):
            member.on_hold = kept_with is not None
            if isinstance(member.leg, HoldableLegSink):
                member.leg.held(member.on_hold)
            if self.observer is not None:
                self.observer.member_changed(member)
        return True

    async def join_leg(
        self,
        user_id: str,
        display_name: str,
        sink: LegSink,
        attach: Callable[[str], Awaitable[None]],
    ) -> Member:
        """A member that is not a device (a phone): ``attach(member id)`` puts its media on
        the SFU (an in-process leg); then it is in like a device that joined."""
        if self.ended:
            raise CallNotFoundError(f"The call '{self.call_id}' is over.")
        await self.media.open()
        member = self.group.add_leg(user_id, sink, now=self._clock.now(), display_name=display_name)
        try:
            await attach(member.id)
        except BaseException:
            self.group.remove(member.id, None)
            raise
        self._out(self.group.joined(member))
        self._lifecycle(self.events.added(member, member.role, self._clock.now()))
        if self.observer is not None:
            self.observer.member_joined(member)
        await self._renegotiate_all()
        return member

    async def leg_left(self, member_id: str) -> None:
        """A leg left by itself (the phone hung up): the others hear it; its sink does not."""
        member = self.group.members.get(member_id)
        if member is None or member.leg is None or self.ended:
            return
        member.leg = None  # it knows: nothing to tell it
        await self._leave(member, None, ended_by=member.user_id)

    async def app_left(self, reason: EndReason) -> None:
        """The app's leg is gone: a server call with nobody else in it is over; whoever it
        held is back with the others (nobody is left to unhold them)."""
        if self.server and not self.group.members and not self.ended:
            self._finish(reason, None)
        for member in self.group.connected():
            if member.on_hold:
                await self.hold_member(member.id, None)

    def show(self, device: DeviceAddress, state: str | None) -> None:
        """Tell a device ``state`` (Ringing), or (None) its real one: Connected, with the
        others (a call to a phone number, once the phone answered)."""
        with contextlib.suppress(CallStateError):
            member = self.group.member_of(device)
            if member.shown != state and not self.ended:
                self._out(self.group.show(member, state))

    def _changed(
        self,
        member: Member,
        muted: bool | None,
        video_on: bool | None,
        screen_share_on: bool | None = None,
    ) -> None:
        self._out(self.group.media_state(member, muted, video_on, screen_share_on))
        if self.observer is not None:
            self.observer.member_changed(member)

    # ── media ────────────────────────────────────────────────────────────────────────

    async def _renegotiate(self, member: Member) -> None:
        if member.id not in self.group.members:
            return
        offer = await self.media.offer_for(member)
        if offer is not None:
            self._send_description(member, Description("offer", offer))

    async def _renegotiate_all(self) -> None:
        for member in list(self.group.connected()):
            await self._renegotiate(member)

    def _send_description(self, member: Member, description: Description) -> None:
        if member.device is None:
            return  # a leg has no SDP: its media is in-process
        streams = self.media.streams_of(member.id)
        sdp = Sdp(MEDIA_PEER, description, streams, call_id=self.call_id)
        self._deliver(Deliver(member.device, sdp))

    # ── node events, roster changes, the room's window (jobs submitted by the host) ──

    async def media_event(self, event: ForwarderEvent) -> None:
        if isinstance(event, StreamsChanged):
            member = self.group.members.get(event.participant_id)
            if member is not None:
                await self._renegotiate(member)
        elif isinstance(event, SpeakerChanged):
            self._out(self.group.speaker(event.participant_id))

    async def roster_changed(self) -> None:
        """Re-read every member's role: changes take effect now (publish, screen share)."""
        if self._rooms is None or self.room_id is None or self.ended:
            return
        room = await self._rooms.get(self.room_id)
        if not room.is_open(self._now_ms()):
            await self.end_for_everyone(ROOM_CLOSED)
            return
        for member in list(self.group.members.values()):
            if self._lobby.is_guest(member.id):
                continue
            role = await self._rooms.role_of(self.room_id, member.user_id)
            if role is None:
                if member.state is MemberState.CONNECTED:
                    await self._leave(member, ROSTER_REMOVED)
                continue
            if member.state is MemberState.IN_LOBBY:
                continue  # a Presenter still decides; the role applies once admitted
            if role.value != member.role:
                self._out(self.group.set_role(member, role.value, permissions(role, room)))
                await self.media.sync_published(member)
                await self._renegotiate(member)

    async def window_check(self) -> None:
        """The room's window may have closed (or moved): end the call, or look again later."""
        if self._rooms is None or self.room_id is None or self.ended:
            return
        try:
            room = await self._rooms.get(self.room_id)
        except SwitchboardError:  # the room was deleted: its call is over
            await self.end_for_everyone(ROOM_CLOSED)
            return
        if not room.is_open(self._now_ms()):
            await self.end_for_everyone(ROOM_CLOSED)
        else:
            self._window.watch(room)

    # ── plumbing ─────────────────────────────────────────────────────────────────────

    def _now_ms(self) -> int:
        return int(self._clock.now() * 1000)

    def _out(self, outputs: list[Deliver]) -> None:
        for output in outputs:
            self._deliver(output)


def _as_signaling_error(exc: Exception) -> SwitchboardError:
    if isinstance(exc, SwitchboardError):
        return exc
    if isinstance(exc, GlareError):
        return CallStateError(str(exc))
    return InvalidSignalError(f"Unusable description: {exc}")
