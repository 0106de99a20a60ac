"""ConferenceMedia: one conference's media on the SFU, one ``Negotiation`` per member.

The conference (``conference.py``) decides who is in and what they may publish; this class
turns that into ``MediaNode`` calls and SDP. It never sends frames: it returns descriptions
and the conference delivers them (``sdp`` from ``"media"``).

    connect(member, offer) ─▶ node.create_call (first one) ─▶ add_participant (ICE-lite +
        DTLS port) ─▶ answer ─▶ expect_peer (its ufrag + fingerprint) ─▶ sync_published
    sync_published(member) ─▶ node.publish/unpublish: what its SDP sends and its role allows
    offer_for(member) ─▶ the streams the node forwards to it ─▶ an offer (None: no change)
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

from switchboard.calling.conference.group import Member
from switchboard.calling.errors import CallStateError
from switchboard.calling.signaling.protocol import StreamInfo
from switchboard.media.data_router import DataRoute
from switchboard.media.negotiation import (
    LocalTransport,
    Negotiation,
    OutgoingSpec,
    PublishedTrack,
    payload_types_of,
)
from switchboard.media.node import MediaNode, SubscriberOptions, TrackSpec
from switchboard.media.sdp import parse
from switchboard.media.streams import MediaKind


@dataclass(slots=True)
class _Peer:
    negotiation: Negotiation
    published: dict[int, PublishedTrack] = field(default_factory=dict)  # by SSRC
    data_channels: set[int] = field(default_factory=set)  # its open data-channel routes


class ConferenceMedia:
    def __init__(self, call_id: str, node: MediaNode) -> None:
        self.call_id = call_id
        self._node = node
        self._peers: dict[str, _Peer] = {}
        self._created = False

    def has(self, member_id: str) -> bool:
        return member_id in self._peers

    def streams_of(self, member_id: str) -> list[StreamInfo]:
        """``streams`` of an ``sdp`` frame: whose media each server m-line carries."""
        return [
            StreamInfo(
                str(s["mid"]),
                str(s["kind"]),
                _optional_str(s["participantId"]),
                bool(s.get("screenShare", False)),
            )
            for s in self._peers[member_id].negotiation.streams()
        ]

    async def close(self) -> None:
        if self._created:
            self._created = False
            with contextlib.suppress(Exception):
                await self._node.end_call(self.call_id)

    async def open(self) -> None:
        """The call on the node (before any member: a server call's app leg comes first)."""
        if not self._created:
            await self._node.create_call(self.call_id)
            self._created = True

    async def connect(self, member: Member, offer: str, screen: set[str]) -> str:
        """Give a member its transport on the SFU; returns the answer to its offer."""
        await self.open()
        types = payload_types_of(parse(offer))
        params = await self._node.add_participant(
            self.call_id, member.id, SubscriberOptions(payload_types=types)
        )
        try:
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
        except BaseException:
            # An unusable offer must not leave a transport (a bound UDP port) behind.
            with contextlib.suppress(Exception):
                await self._node.remove_participant(self.call_id, member.id)
            raise
        self._peers[member.id] = _Peer(negotiation)
        return answer

    async def remove(self, member_id: str) -> None:
        if self._peers.pop(member_id, None) is not None:
            await self._node.remove_participant(self.call_id, member_id)

    def accept_answer(self, member: Member, sdp: str) -> None:
        self._peer(member).negotiation.accept_answer(sdp)

    async def answer(self, member: Member, sdp: str, screen: set[str] | None) -> str:
        """The answer to a member's new offer (renegotiation from its side). An offer with
        new ICE credentials is an ICE restart (its network changed or came back): the
        node's ICE-lite agent takes checks with the new ufrag from now on; our own
        credentials, the DTLS session and SRTP keys stay (RFC 8445 §9 lets a lite agent
        keep them; the browser nominates its new path with USE-CANDIDATE)."""
        negotiation = self._peer(member).negotiation
        before = negotiation.remote_ufrag
        answer = negotiation.answer(sdp, member.may_publish, screen)
        if negotiation.remote_ufrag != before:
            await self._node.expect_peer(
                self.call_id,
                member.id,
                negotiation.remote_ufrag or "",
                negotiation.remote_fingerprint or "",
            )
        return answer

    async def sync_published(self, member: Member) -> None:
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
                track.screen_share,
            )
            await self._node.publish(self.call_id, member.id, spec)
            if track.kind is MediaKind.AUDIO and member.muted:
                await self._node.set_muted(self.call_id, member.id, MediaKind.AUDIO, True)
        if peer.data_channels and not member.may_publish(MediaKind.AUDIO, False):
            for channel_id in sorted(peer.data_channels):  # a role that may no longer send
                await self._node.set_data_route(self.call_id, member.id, channel_id, None)
            peer.data_channels.clear()

    async def offer_for(self, member: Member) -> str | None:
        """An offer of the streams the SFU now forwards to the member (None: nothing new)."""
        peer = self._peers.get(member.id)
        if peer is None:
            return None
        streams = await self._node.streams(self.call_id, member.id)
        specs = [
            OutgoingSpec(s.ssrc, s.kind, s.source_participant_id, s.screen_share) for s in streams
        ]
        offer = peer.negotiation.offer(specs, member.may_publish)
        if offer is not None:
            await self.sync_published(member)
        return offer

    async def set_muted(self, member: Member, kind: MediaKind, muted: bool) -> None:
        await self._node.set_muted(self.call_id, member.id, kind, muted)

    async def set_apart(self, member: Member, kept_with: frozenset[str] | None) -> None:
        await self._node.set_apart(self.call_id, member.id, kept_with)

    async def set_data_route(
        self, member: Member, channel_id: int, route: DataRoute | None
    ) -> None:
        peer = self._peer(member)
        await self._node.set_data_route(self.call_id, member.id, channel_id, route)
        if route is None:
            peer.data_channels.discard(channel_id)
        else:
            peer.data_channels.add(channel_id)

    async def set_max_video(self, member: Member, max_video: int) -> None:
        if member.id in self._peers:
            await self._node.set_max_video(self.call_id, member.id, max_video)

    def _peer(self, member: Member) -> _Peer:
        peer = self._peers.get(member.id)
        if peer is None:
            raise CallStateError("The participant has no media session (still in the lobby?).")
        return peer


def _optional_str(value: object) -> str | None:
    return None if value is None else str(value)
