"""The media node: what signaling asks of an SFU, and this process's own SFU behind it.

``MediaNode`` is the seam: signaling (``calling/``) talks to it, never to forwarders or
sockets, so a node in another process (through Redis) or another SFU can replace
``LocalMediaNode`` later. A call lives on one node; each participant gets one transport.

    signaling ─create_call─▶ node ─add_participant─▶ UdpTransport (host, port, ICE-lite
              credentials, DTLS fingerprint) ─▶ SDP answer ─expect_peer (its ufrag and
              fingerprint)─▶ STUN + DTLS on the same socket ─▶ SRTP keys set by the node
              (set_keys: by hand in tests) ─publish (SSRCs from the SDP)─▶
              ◀─ events: SpeakerChanged, StreamsChanged (renegotiate) ─ forwarder.tick

A local participant (``add_local_participant``) has no transport: it is a ``LocalLeg``
in this process, publishing and listening through the call's forwarder directly (the app's
media endpoint, later phone legs).

Data channels: each participant's DTLS also carries SCTP (``DataRouter``, media/sctp.py);
``set_data_route`` opens a sender's channel (signaling checked its role).

The node owns one background task (``start``/``stop``) that ticks every call's forwarder and
hands the forwarder's events to ``on_event``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from switchboard.core.errors import ConflictError, NotFoundError
from switchboard.core.tasks import TaskScope
from switchboard.media.codecs import VideoCodec
from switchboard.media.data_router import DataRoute, DataRouter
from switchboard.media.dtls import DtlsCertificate
from switchboard.media.forwarder import Forwarder, ForwarderEvent, OutgoingStream
from switchboard.media.handshake import PeerHandshake, PortRange
from switchboard.media.local_leg import LocalLeg
from switchboard.media.recording_leg import PayloadHandler, RecordingLeg
from switchboard.media.speaker import TICK_SECONDS
from switchboard.media.srtp import AES128_CM_SHA1_80
from switchboard.media.stats import MediaCounters, MediaTotals
from switchboard.media.streams import MediaKind
from switchboard.media.transport import Address, UdpTransport

logger = logging.getLogger(__name__)


class MediaCallNotFoundError(NotFoundError):
    code = "MediaCallNotFound"


class MediaParticipantNotFoundError(NotFoundError):
    code = "MediaParticipantNotFound"


class MediaPortsExhaustedError(ConflictError):
    code = "MediaPortsExhausted"


class MediaParticipantExistsError(ConflictError):
    code = "MediaParticipantExists"


@dataclass(frozen=True, slots=True)
class TransportParams:
    """Where the participant sends its media: the node's one ICE-lite host candidate, its ICE
    credentials and its DTLS certificate fingerprint (empty when keys are set by hand)."""

    host: str
    port: int
    ice_ufrag: str = ""
    ice_pwd: str = ""
    fingerprint: str = ""


@dataclass(frozen=True, slots=True)
class SrtpKeys:
    local: bytes  # the node's master key + salt (encrypts what the node sends)
    remote: bytes  # the participant's (decrypts what it sends)
    profile: int = AES128_CM_SHA1_80


@dataclass(frozen=True, slots=True)
class TrackSpec:
    """One RTP stream a participant sends, as its SDP describes it."""

    kind: MediaKind
    ssrc: int
    payload_type: int
    codec: VideoCodec | None = None  # video only; audio is Opus
    clock_rate: int | None = None
    audio_level_id: int = 0  # a=extmap id of ssrc-audio-level; 0: not negotiated
    screen_share: bool = False  # a shared screen (video), apart from the camera


@dataclass(frozen=True, slots=True)
class SubscriberOptions:
    max_video: int = 16
    payload_types: dict[str, int] = field(default_factory=dict)  # "opus"/"VP8"/"H264" → PT


EventHandler = Callable[[str, ForwarderEvent], None]  # (call id, event)


class MediaNode(Protocol):
    async def create_call(self, call_id: str) -> None: ...

    async def end_call(self, call_id: str) -> None: ...

    async def add_participant(
        self, call_id: str, participant_id: str, options: SubscriberOptions
    ) -> TransportParams: ...

    async def add_local_participant(self, call_id: str, participant_id: str) -> LocalLeg:
        """An in-process participant (no transport) publishing one Opus audio track; the
        call is created if it is not there yet. ``LocalLeg.close`` (or
        ``remove_participant``) removes it."""
        ...

    async def add_recording_leg(
        self, call_id: str, participant_id: str, on_packet: PayloadHandler, *, video: bool
    ) -> RecordingLeg:
        """A listen-only in-process participant (a recorder) in a call running here."""
        ...

    async def remove_participant(self, call_id: str, participant_id: str) -> None: ...

    async def set_keys(
        self, call_id: str, participant_id: str, keys: SrtpKeys, remote: Address | None = None
    ) -> None: ...

    async def expect_peer(
        self, call_id: str, participant_id: str, ice_ufrag: str, fingerprint: str
    ) -> None:
        """The participant's ICE ufrag and DTLS fingerprint (from its SDP): ICE checks and
        the DTLS handshake must match them, then the node keys SRTP itself."""
        ...

    async def publish(self, call_id: str, participant_id: str, track: TrackSpec) -> None: ...

    async def unpublish(self, call_id: str, participant_id: str, ssrc: int) -> None: ...

    async def set_muted(
        self, call_id: str, participant_id: str, kind: MediaKind, muted: bool
    ) -> None: ...

    async def set_max_video(self, call_id: str, participant_id: str, max_video: int) -> None: ...

    async def set_apart(
        self, call_id: str, participant_id: str, kept_with: frozenset[str] | None
    ) -> None:
        """Hold: the participant hears and is heard only by ``kept_with`` (None: all)."""
        ...

    async def streams(self, call_id: str, participant_id: str) -> list[OutgoingStream]: ...

    async def set_data_route(
        self, call_id: str, participant_id: str, channel_id: int, route: DataRoute | None
    ) -> None: ...


class _Call:
    def __init__(self, call_id: str) -> None:
        self.id = call_id
        self.forwarder = Forwarder()
        self.transports: dict[str, UdpTransport] = {}
        self.peers: dict[str, PeerHandshake] = {}
        self.legs: dict[str, LocalLeg] = {}
        self.recorders: dict[str, RecordingLeg] = {}
        self.data = DataRouter(call_id)

    def has(self, participant_id: str) -> bool:
        return (
            participant_id in self.transports
            or participant_id in self.legs
            or participant_id in self.recorders
        )


class LocalMediaNode:
    """This process's SFU: forwarders and UDP transports on the running event loop."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        ports: tuple[int, int] | None = None,
        on_event: EventHandler | None = None,
    ) -> None:
        self.host = host
        self.ports = PortRange(*ports) if ports else None
        self.on_event = on_event
        self.certificate = DtlsCertificate()
        self.calls: dict[str, _Call] = {}
        self.totals = MediaTotals()
        self._tasks = TaskScope("media node")

    async def start(self) -> None:
        await self._tasks.start()
        self._tasks.spawn(self._tick_forever(), name="media-node-tick")

    async def stop(self) -> None:
        await self._tasks.stop()
        for call_id in list(self.calls):
            await self.end_call(call_id)

    def _call(self, call_id: str) -> _Call:
        call = self.calls.get(call_id)
        if call is None:
            raise MediaCallNotFoundError(f"no call {call_id} on this media node")
        return call

    def _member(self, call_id: str, participant_id: str) -> _Call:
        """The call, if the participant (with a transport, or a local leg) is in it."""
        call = self._call(call_id)
        if not call.has(participant_id):
            raise MediaParticipantNotFoundError(f"no participant {participant_id} in {call_id}")
        return call

    def _transport(self, call_id: str, participant_id: str) -> UdpTransport:
        transport = self._call(call_id).transports.get(participant_id)
        if transport is None:
            raise MediaParticipantNotFoundError(f"no participant {participant_id} in {call_id}")
        return transport

    async def create_call(self, call_id: str) -> None:
        self.calls.setdefault(call_id, _Call(call_id))

    async def end_call(self, call_id: str) -> None:
        call = self.calls.pop(call_id, None)
        if call is not None:
            self.totals.retire_forwarder(call.forwarder)
            for transport in call.transports.values():
                self._close(transport)
            for leg in list(call.legs.values()):
                leg.close()
            for recorder in list(call.recorders.values()):
                recorder.close()
            await call.data.close()

    async def add_participant(
        self, call_id: str, participant_id: str, options: SubscriberOptions
    ) -> TransportParams:
        call = self._call(call_id)
        if participant_id in call.legs:
            raise MediaParticipantExistsError(f"{participant_id} is a local leg in {call_id}")
        if participant_id in call.transports:
            address = call.transports[participant_id].local_address
            return TransportParams(address[0], address[1])
        transport = self._bind(participant_id, call.forwarder)
        transport.start(asyncio.get_running_loop())
        call.transports[participant_id] = transport
        peer = PeerHandshake(participant_id, transport, self.certificate)
        transport.on_handshake = peer.receive
        call.peers[participant_id] = peer
        call.data.attach(peer)
        call.forwarder.add_participant(
            participant_id,
            transport,
            time.monotonic(),
            max_video=options.max_video,
            payload_types=options.payload_types,
        )
        host, port = transport.local_address
        fingerprint = self.certificate.fingerprint
        return TransportParams(host, port, peer.ice.ufrag, peer.ice.pwd, fingerprint)

    async def add_local_participant(self, call_id: str, participant_id: str) -> LocalLeg:
        await self.create_call(call_id)
        call = self._call(call_id)
        if call.has(participant_id):
            raise MediaParticipantExistsError(f"{participant_id} is already in {call_id}")

        def forget(leg: LocalLeg) -> None:
            if call.legs.get(leg.participant_id) is leg:
                del call.legs[leg.participant_id]

        leg = LocalLeg(call_id, participant_id, call.forwarder, on_close=forget)
        call.legs[participant_id] = leg
        return leg

    async def add_recording_leg(
        self, call_id: str, participant_id: str, on_packet: PayloadHandler, *, video: bool
    ) -> RecordingLeg:
        """A listen-only leg in a call that runs here (``MediaCallNotFoundError`` if it does
        not: a recording never creates the call it records). It leaves when the call ends."""
        call = self._call(call_id)
        if call.has(participant_id):
            raise MediaParticipantExistsError(f"{participant_id} is already in {call_id}")

        def forget(leg: RecordingLeg) -> None:
            if call.recorders.get(leg.participant_id) is leg:
                del call.recorders[leg.participant_id]

        leg = RecordingLeg(call_id, participant_id, call.forwarder, on_packet, video=video)
        leg.when_closed(forget)
        call.recorders[participant_id] = leg
        return leg

    def _bind(self, participant_id: str, forwarder: Forwarder) -> UdpTransport:
        if self.ports is None:
            return UdpTransport(participant_id, forwarder, host=self.host)
        for port in self.ports.candidates():
            try:
                return UdpTransport(participant_id, forwarder, host=self.host, port=port)
            except OSError:
                continue
        raise MediaPortsExhaustedError("no free UDP port in the media port range")

    def counters(self) -> MediaCounters:
        """Packets, bytes and loss since start, the calls that ended included (metrics)."""
        return self.totals.snapshot(
            (call.forwarder, call.transports.values()) for call in self.calls.values()
        )

    def _close(self, transport: UdpTransport) -> None:
        self.totals.retire_transport(transport)
        transport.close()
        if self.ports is not None:
            self.ports.release(transport.local_address[1])

    async def remove_participant(self, call_id: str, participant_id: str) -> None:
        call = self._call(call_id)
        leg = call.legs.get(participant_id)
        if leg is not None:
            leg.close()
            return
        transport = call.transports.pop(participant_id, None)
        call.peers.pop(participant_id, None)
        await call.data.detach(participant_id)
        if transport is not None:
            call.forwarder.remove_participant(participant_id, time.monotonic())
            self._close(transport)

    async def set_keys(
        self, call_id: str, participant_id: str, keys: SrtpKeys, remote: Address | None = None
    ) -> None:
        transport = self._transport(call_id, participant_id)
        transport.set_keys(keys.local, keys.remote, keys.profile)
        if remote is not None:
            transport.set_remote(remote)

    async def expect_peer(
        self, call_id: str, participant_id: str, ice_ufrag: str, fingerprint: str
    ) -> None:
        self._transport(call_id, participant_id)
        self._call(call_id).peers[participant_id].expect(ice_ufrag, fingerprint)

    async def publish(self, call_id: str, participant_id: str, track: TrackSpec) -> None:
        self._member(call_id, participant_id).forwarder.publish(
            participant_id,
            track.kind,
            track.ssrc,
            track.payload_type,
            time.monotonic(),
            clock_rate=track.clock_rate,
            codec=track.codec,
            audio_level_id=track.audio_level_id,
            screen_share=track.screen_share,
        )

    async def unpublish(self, call_id: str, participant_id: str, ssrc: int) -> None:
        self._member(call_id, participant_id).forwarder.unpublish(ssrc, time.monotonic())

    async def set_muted(
        self, call_id: str, participant_id: str, kind: MediaKind, muted: bool
    ) -> None:
        forwarder = self._member(call_id, participant_id).forwarder
        forwarder.set_muted(participant_id, kind, muted, time.monotonic())

    async def set_max_video(self, call_id: str, participant_id: str, max_video: int) -> None:
        forwarder = self._member(call_id, participant_id).forwarder
        forwarder.set_max_video(participant_id, max_video, time.monotonic())

    async def set_apart(
        self, call_id: str, participant_id: str, kept_with: frozenset[str] | None
    ) -> None:
        forwarder = self._member(call_id, participant_id).forwarder
        forwarder.set_apart(participant_id, kept_with, time.monotonic())

    async def streams(self, call_id: str, participant_id: str) -> list[OutgoingStream]:
        return self._member(call_id, participant_id).forwarder.streams(participant_id)

    async def set_data_route(
        self, call_id: str, participant_id: str, channel_id: int, route: DataRoute | None
    ) -> None:
        self._member(call_id, participant_id).data.set_route(participant_id, channel_id, route)

    def tick(self, now: float) -> None:
        for call in list(self.calls.values()):
            for peer in call.peers.values():
                peer.tick()
            call.forwarder.tick(now)
            for event in call.forwarder.take_events():
                if self.on_event is not None:
                    try:
                        self.on_event(call.id, event)
                    except Exception:
                        logger.exception("call %s: media event handler failed", call.id)

    async def _tick_forever(self) -> None:
        while True:
            await asyncio.sleep(TICK_SECONDS)
            self.tick(time.monotonic())
