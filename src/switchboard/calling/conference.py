"""Conference: one group call or Room call on its owning node, with its media on the SFU.

``GroupCall`` (group.py) decides who is in, who waits and who may publish; this class
does the asynchronous part, one job at a time per call (so no locks): the SFU through the
``MediaNode`` seam and one ``Negotiation`` (SDP offer/answer) per member.

    join{offer} ─▶ room? RoomDirectory: window open, role (off the roster: lobby)
        ─▶ node.add_participant (ICE-lite + DTLS port) ─▶ answer (sdp from "media")
        ─▶ publish its tracks (as its role allows) ─▶ renegotiate everyone: the node offers
           each member its new streams (sdp from "media", with mid → participant)
    sdp{answer} ─▶ stable; publish what the answer now sends; offer what is still pending
    node events: StreamsChanged ─▶ renegotiate · SpeakerChanged ─▶ dominantSpeakersChanged
    roster changed (rooms) ─▶ roles re-read: participantUpdated, publish/unpublish, offer
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from switchboard.calling.errors import (
    CallNotAllowedError,
    CallNotFoundError,
    CallStateError,
    InvalidSignalError,
)
from switchboard.calling.group import ROSTER_REMOVED, GroupCall, Member, MemberState
from switchboard.calling.models import HUNG_UP, DeviceAddress, EndReason
from switchboard.calling.protocol import (
    ClientMessage,
    Request,
    ServerMessage,
    ack,
    frame,
    nack,
    require_description,
)
from switchboard.calling.session import Deliver
from switchboard.core.errors import NotSupportedError, SwitchboardError
from switchboard.media.forwarder import ForwarderEvent, SpeakerChanged, StreamsChanged
from switchboard.media.negotiation import (
    GlareError,
    LocalTransport,
    Negotiation,
    OutgoingSpec,
    PublishedTrack,
    payload_types_of,
)
from switchboard.media.node import MediaNode, SubscriberOptions, TrackSpec
from switchboard.media.sdp import SdpError, parse
from switchboard.media.streams import MediaKind
from switchboard.rooms.models import Permission, permissions
from switchboard.rooms.service import RoomDirectory

log = logging.getLogger(__name__)

MEDIA_PEER = "media"  # the participant id the SFU's descriptions come from and go to
GROUP_PREFIX = "group:"
ROOM_PREFIX = "room:"


def is_conference(call_id: str) -> bool:
    return call_id.startswith((GROUP_PREFIX, ROOM_PREFIX))


@dataclass(slots=True)
class _Peer:
    negotiation: Negotiation
    published: dict[int, PublishedTrack] = field(default_factory=dict)  # by SSRC


@dataclass(frozen=True, slots=True)
class Joiner:
    """Who sends a request, as the node holding its socket vouches."""

    device: DeviceAddress
    user_id: str
    join_only: bool  # a voip.join token: may join running calls and rooms, not start calls


class Conference:
    def __init__(
        self,
        call_id: str,
        *,
        node: MediaNode,
        rooms: RoomDirectory | None,
        deliver: Callable[[Deliver], None],
        clock: Callable[[], float],
        max_participants: int,
        on_ended: Callable[[str], None],
    ) -> None:
        self.call_id = call_id
        self.room_id = (
            call_id.removeprefix(ROOM_PREFIX) if call_id.startswith(ROOM_PREFIX) else None
        )
        self.group = GroupCall(call_id, room_id=self.room_id, max_participants=max_participants)
        self._node = node
        self._rooms = rooms
        self._deliver = deliver
        self._clock = clock
        self._on_ended = on_ended
        self._peers: dict[str, _Peer] = {}
        self._waiting: dict[str, tuple[str, set[str]]] = {}  # lobby member → (offer, screen mids)
        self._guests: set[str] = set()  # admitted from the lobby, not on the roster
        self._jobs: asyncio.Queue[Callable[[], Awaitable[None]]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._created = False
        self.ended = False

    # ── lifecycle ────────────────────────────────────────────────────────────────────

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"conference {self.call_id}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._created:
            with contextlib.suppress(Exception):
                await self._node.end_call(self.call_id)

    def submit(self, work: Callable[[], Awaitable[None]]) -> None:
        self._jobs.put_nowait(work)

    async def _run(self) -> None:
        while True:
            work = await self._jobs.get()
            try:
                await work()
            except Exception:  # one failed step must not stop the call
                log.exception("call %s: conference step failed", self.call_id)

    # ── requests (each runs as one job) ──────────────────────────────────────────────

    async def handle(self, who: Joiner, kind: ClientMessage, request: Request) -> None:
        try:
            if kind in (ClientMessage.JOIN_GROUP_CALL, ClientMessage.JOIN_ROOM):
                await self._join(who, request)
                return
            if self.ended:
                raise CallNotFoundError(f"The call '{self.call_id}' is over.")
            member = self.group.member_of(who.device)
            result = await self._request(member, kind, request)
        except (SwitchboardError, SdpError, GlareError) as exc:
            error = _as_signaling_error(exc)
            self._deliver(Deliver(who.device, nack(request.id, error.error_code, error.message)))
            if kind in (ClientMessage.JOIN_GROUP_CALL, ClientMessage.JOIN_ROOM):
                # The joining node already counted the device in: this clears it there.
                reason = EndReason(403, 0, error.message)
                self._send(who.device, ServerMessage.CALL_ENDED, reason=reason.json())
                self._end_if_empty()
            return
        self._deliver(Deliver(who.device, ack(request.id, **result)))

    async def _request(
        self, member: Member, kind: ClientMessage, request: Request
    ) -> dict[str, Any]:
        if kind is ClientMessage.HANG_UP:
            # As in a two-party call, the device that hangs up gets callEnded too (0/0):
            # clients end a call on callEnded, never on an ack.
            await self._leave(member, HUNG_UP)
        elif kind is ClientMessage.SDP:
            await self._description(member, request)
        elif kind is ClientMessage.CANDIDATE:
            pass  # ICE-lite: the node's one candidate is in its SDP; it sends no checks
        elif kind is ClientMessage.MEDIA_STATE:
            if member.state is MemberState.CONNECTED:
                if request.muted is not None:
                    await self._node.set_muted(
                        self.call_id, member.id, MediaKind.AUDIO, request.muted
                    )
                if request.video_on is not None:
                    await self._node.set_muted(
                        self.call_id, member.id, MediaKind.VIDEO, not request.video_on
                    )
            self._out(self.group.media_state(member, request.muted, request.video_on))
        elif kind is ClientMessage.ADMIT:
            for admitted in self.group.admit(member, request.participant_ids or []):
                self._guests.add(admitted.id)
                offer, screen = self._waiting.pop(admitted.id)
                await self._connect(admitted, offer, screen)
        elif kind is ClientMessage.REJECT_LOBBY:
            self._out(self.group.reject(member, request.participant_ids or []))
            for member_id in request.participant_ids or []:
                self._waiting.pop(member_id, None)
        elif kind is ClientMessage.DATA_CHANNEL:
            if request.data is None:
                raise InvalidSignalError("A dataChannel request carries data (a string).")
            self._out(self.group.data(member, request.participant_ids, request.data))
        elif kind is ClientMessage.SET_VIDEO_STREAMS:
            if member.id in self._peers:
                await self._node.set_max_video(self.call_id, member.id, request.max_video or 0)
        else:
            raise NotSupportedError(f"'{kind.value}' is not supported in a group call.")
        return {}

    async def _join(self, who: Joiner, request: Request) -> None:
        offer = require_description(request.description, "offer")["sdp"]
        parse(offer)  # refuse a broken offer before anyone sees the member
        screen = set(request.screen_share_mids or [])
        role: str | None = None
        granted = frozenset(Permission)
        lobby = False
        if self.room_id is not None:
            if self._rooms is None:
                raise NotSupportedError("Rooms are not available on this node.")
            room = await self._rooms.get(self.room_id)
            if not room.is_open(int(self._clock() * 1000)):
                raise CallNotAllowedError("The room is not open (outside its validity window).")
            found = await self._rooms.role_of(self.room_id, who.user_id)
            lobby = found is None
            role = found.value if found is not None else None
            granted = permissions(found, room)
        elif who.join_only and self.group.empty:
            raise CallNotAllowedError("A voip.join token can join a running call, not start one.")
        member = self.group.add(
            who.user_id, who.device, role, granted, lobby=lobby, now=self._clock()
        )
        self._deliver(
            Deliver(
                who.device,
                ack(
                    request.id,
                    callId=self.call_id,
                    participantId=member.id,
                    state=member.state.value,
                ),
            )
        )
        if lobby:
            self._waiting[member.id] = (offer, screen)
            self._out(self.group.joined(member))
            return
        await self._connect(member, offer, screen)

    async def _connect(self, member: Member, offer: str, screen: set[str]) -> None:
        """Give a member its transport on the SFU, answer its offer, publish, renegotiate."""
        if not self._created:
            await self._node.create_call(self.call_id)
            self._created = True
        types = payload_types_of(parse(offer))
        params = await self._node.add_participant(
            self.call_id, member.id, SubscriberOptions(payload_types=types)
        )
        transport = LocalTransport(
            params.host, params.port, params.ice_ufrag, params.ice_pwd, params.fingerprint
        )
        negotiation = Negotiation(transport, types)
        answer = negotiation.answer(offer, member.may_publish, screen)
        await self._node.expect_peer(
            self.call_id,
            member.id,
            negotiation.remote_ufrag or "",
            negotiation.remote_fingerprint or "",
        )
        self._peers[member.id] = _Peer(negotiation)
        self._send_description(member, {"type": "answer", "sdp": answer})
        self._out(self.group.joined(member))
        await self._sync_published(member)
        await self._renegotiate_all()

    async def _description(self, member: Member, request: Request) -> None:
        peer = self._peers.get(member.id)
        if peer is None:
            raise CallStateError("The participant has no media session (still in the lobby?).")
        if request.to not in (None, MEDIA_PEER):
            raise InvalidSignalError("In a group call, descriptions go to 'media'.")
        description = require_description(request.description, "any")
        if description["type"] == "answer":
            peer.negotiation.accept_answer(description["sdp"])
            await self._sync_published(member)
            await self._renegotiate(member)
            return
        screen = set(request.screen_share_mids or []) if request.screen_share_mids else None
        answer = peer.negotiation.answer(description["sdp"], member.may_publish, screen)
        self._send_description(member, {"type": "answer", "sdp": answer})
        await self._sync_published(member)
        await self._renegotiate_all()

    # ── leaving ──────────────────────────────────────────────────────────────────────

    async def leave_device(self, device: DeviceAddress) -> None:
        """The device is gone for good (its socket did not come back, token revoked)."""
        with contextlib.suppress(CallStateError):
            await self._leave(self.group.member_of(device), None)

    async def _leave(self, member: Member, reason: EndReason | None) -> None:
        self._out(self.group.remove(member.id, reason))
        self._waiting.pop(member.id, None)
        self._guests.discard(member.id)
        if self._peers.pop(member.id, None) is not None:
            await self._node.remove_participant(self.call_id, member.id)
        if not self._end_if_empty():
            await self._renegotiate_all()

    def _end_if_empty(self) -> bool:
        if self.group.members or self.ended:
            return self.ended
        self.ended = True
        self._on_ended(self.call_id)
        return True

    # ── media ────────────────────────────────────────────────────────────────────────

    async def _sync_published(self, member: Member) -> None:
        """Publish (or stop) on the SFU what the member's SDP and role now allow."""
        peer = self._peers.get(member.id)
        if peer is None:
            return
        wanted = {
            t.ssrc: t
            for t in peer.negotiation.published()
            if member.may_publish(t.kind, t.screen_share)
        }
        for ssrc in [s for s in peer.published if s not in wanted]:
            del peer.published[ssrc]
            await self._node.unpublish(self.call_id, member.id, ssrc)
        for ssrc, track in wanted.items():
            if ssrc in peer.published:
                continue
            peer.published[ssrc] = track
            spec = TrackSpec(
                track.kind,
                track.ssrc,
                track.payload_type,
                track.codec,
                track.clock_rate,
                track.audio_level_id,
            )
            await self._node.publish(self.call_id, member.id, spec)
            if track.kind is MediaKind.AUDIO and member.muted:
                await self._node.set_muted(self.call_id, member.id, MediaKind.AUDIO, True)

    async def _renegotiate(self, member: Member) -> None:
        peer = self._peers.get(member.id)
        if peer is None or member.id not in self.group.members:
            return
        streams = await self._node.streams(self.call_id, member.id)
        specs = [OutgoingSpec(s.ssrc, s.kind, s.source_participant_id) for s in streams]
        offer = peer.negotiation.offer(specs, member.may_publish)
        if offer is None:
            return
        await self._sync_published(member)
        self._send_description(member, {"type": "offer", "sdp": offer})

    async def _renegotiate_all(self) -> None:
        for member in list(self.group.connected()):
            await self._renegotiate(member)

    def _send_description(self, member: Member, description: dict[str, str]) -> None:
        peer = self._peers[member.id]
        self._send(
            member.device,
            ServerMessage.SDP,
            **{"from": MEDIA_PEER},
            description=description,
            streams=peer.negotiation.streams(),
        )

    # ── node events and roster changes (submitted as jobs by the service) ────────────

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
        for member in list(self.group.members.values()):
            if member.id in self._guests:
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
                await self._sync_published(member)
                await self._renegotiate(member)

    # ── plumbing ─────────────────────────────────────────────────────────────────────

    def _out(self, outputs: list[Deliver]) -> None:
        for output in outputs:
            self._deliver(output)

    def _send(self, device: DeviceAddress, kind: ServerMessage, **fields: Any) -> None:
        self._deliver(Deliver(device, frame(kind, self.call_id, **fields)))


def _as_signaling_error(exc: Exception) -> SwitchboardError:
    if isinstance(exc, SwitchboardError):
        return exc
    if isinstance(exc, GlareError):
        return CallStateError(str(exc))
    return InvalidSignalError(f"Unusable description: {exc}")
