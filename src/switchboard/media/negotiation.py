"""One participant's offer/answer with the SFU (JSEP, Unified Plan, one BUNDLE). Sans-I/O.

The participant's own m-lines carry what it publishes: the node answers them ``recvonly``
(or ``inactive`` when its role may not publish that kind). What it receives comes on m-lines
the node adds in its own offers, one ``sendonly`` m-line per outgoing stream (its SSRC and
msid in the SDP); a stream that goes away leaves its m-line ``inactive`` (m-lines are never
removed or recycled, as JSEP asks).

    client offer ──answer()──▶ answer text + which client m-lines now publish (SSRCs)
    streams changed ──offer(streams)──▶ server offer (None: nothing changed or one pending)
    client answer ──accept_answer()──▶ stable; pending changes are offered next

Glare is avoided rather than resolved: a client offer while a server offer is outstanding
is refused (``GlareError``, the client retries after answering), and the server never
offers while waiting for an answer (it offers the accumulated changes right after).
Only the ssrc-audio-level header extension is negotiated: forwarded packets keep the
publisher's extensions, and a mid or transport-cc extension would lie to the subscriber.
A data-channel m-line (``UDP/DTLS/SCTP webrtc-datachannel``) is accepted on the same BUNDLE
transport: the node terminates SCTP there (media/sctp.py, docs/media.md).
Audio m-lines carry ``telephone-event/48000`` (RFC 4733) next to Opus when the participant
offered it (Chromium does; a browser's RTCDTMFSender needs it, at Opus's clock rate).
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

from switchboard.media.codecs import VideoCodec
from switchboard.media.data_frames import MAX_MESSAGE_BYTES, SCTP_PORT
from switchboard.media.sdp import (
    AUDIO_LEVEL_URI,
    Codec,
    Direction,
    MediaSection,
    SdpError,
    SessionDescription,
    parse,
)
from switchboard.media.streams import TELEPHONE_EVENT, MediaKind

VIDEO_FEEDBACK = ("nack", "nack pli", "ccm fir", "goog-remb")
OPUS_FMTP = "minptime=10;useinbandfec=1"
EVENT_FMTP = "0-15"  # DTMF digits, * # and A-D
EVENT_CLOCK_RATE = 48_000  # Opus's: the events share the audio stream's RTP clock
H264_FMTP = "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"
PROTOCOL = "UDP/TLS/RTP/SAVPF"
SCTP_PROTOCOL = "UDP/DTLS/SCTP"
SCTP_FORMAT = "webrtc-datachannel"


class GlareError(Exception):
    """The participant offered while the node's own offer awaits its answer."""


class NegotiationState(Enum):
    STABLE = "stable"
    HAVE_LOCAL_OFFER = "have-local-offer"


@dataclass(frozen=True, slots=True)
class LocalTransport:
    """The node's side of the participant's transport, as the SDP advertises it."""

    host: str
    port: int
    ufrag: str
    pwd: str
    fingerprint: str  # sha-256


@dataclass(frozen=True, slots=True)
class OutgoingSpec:
    """A stream the node sends to this participant (from the forwarder)."""

    ssrc: int
    kind: MediaKind
    source_id: str | None  # the publisher (None: an idle video slot)


@dataclass(frozen=True, slots=True)
class PublishedTrack:
    mid: str
    kind: MediaKind
    ssrc: int
    payload_type: int
    codec: VideoCodec | None
    clock_rate: int
    audio_level_id: int
    screen_share: bool


MayPublish = Callable[[MediaKind, bool], bool]  # (kind, screen share) → allowed


@dataclass(slots=True)
class _Line:
    mid: str
    kind: str
    from_client: bool
    codecs: list[Codec]
    direction: Direction = Direction.INACTIVE  # the node's
    rejected: bool = False
    formats: list[str] = field(default_factory=list)  # of a rejected m-line
    protocol: str = PROTOCOL
    audio_level_id: int = 0
    ssrc: int | None = None  # a server line's outgoing SSRC
    source_id: str | None = None
    screen_share: bool = False
    client_direction: Direction = Direction.INACTIVE  # in its last description
    client_wants_send: bool = False  # in its last offer: whether it means to publish here
    client_ssrc: int | None = None


def payload_types_of(offer: SessionDescription) -> dict[str, int]:
    """The participant's payload types per encoding ("opus", "VP8", "H264"), defaults for the
    rest chosen among numbers its offer does not use (BUNDLE: one PT, one codec), and its
    "telephone-event" (at 48 kHz) only if it offered one."""
    used = {c.payload_type for m in offer.media for c in m.codecs}
    found: dict[str, int] = {}
    for section in offer.media:
        for codec in section.codecs:
            name = _encoding(codec)
            if name is not None and name not in found:
                found[name] = codec.payload_type
        event = _telephone_event(section)
        if event is not None and TELEPHONE_EVENT not in found:
            found[TELEPHONE_EVENT] = event.payload_type
    free = (pt for pt in itertools.chain((111,), range(96, 128)) if pt not in used)
    for name in ("opus", "VP8", "H264"):
        if name not in found:
            found[name] = next(free)
    return found


def _telephone_event(section: MediaSection) -> Codec | None:
    if section.kind != "audio":
        return None
    return next(
        (
            c
            for c in section.codecs
            if c.is_named(TELEPHONE_EVENT) and c.clock_rate == EVENT_CLOCK_RATE
        ),
        None,
    )


def _encoding(codec: Codec) -> str | None:
    if codec.is_named("opus"):
        return "opus"
    if codec.is_named("VP8"):
        return "VP8"
    if codec.is_named("H264") and "packetization-mode=1" in (codec.fmtp or ""):
        return "H264"
    return None


class Negotiation:
    def __init__(self, transport: LocalTransport, payload_types: dict[str, int]) -> None:
        self.transport = transport
        self.payload_types = payload_types
        self.state = NegotiationState.STABLE
        self.remote_ufrag: str | None = None
        self.remote_fingerprint: str | None = None
        self.screen_share_mids: set[str] = set()
        self._lines: list[_Line] = []
        self._session_id = secrets.randbelow(2**62)
        self._version = 0
        self._mids = (f"s{n}" for n in itertools.count(1))

    # ── the participant offers ───────────────────────────────────────────────────────

    def answer(
        self, offer_text: str, may_publish: MayPublish, screen_share_mids: set[str] | None = None
    ) -> str:
        if self.state is NegotiationState.HAVE_LOCAL_OFFER:
            raise GlareError("the node's offer awaits an answer; answer it, then offer again")
        offer = parse(offer_text)
        if screen_share_mids is not None:
            self.screen_share_mids = set(screen_share_mids)
        self._remote_transport(offer)
        by_mid = {line.mid: line for line in self._lines}
        lines: list[_Line] = []
        for section in offer.media:
            if section.mid is None:
                raise SdpError("every m-line needs a mid (Unified Plan)")
            line = by_mid.get(section.mid) or self._client_line(section)
            if line.kind == "application" and not line.rejected:
                line.direction = Direction.SENDRECV
            elif line.from_client and not line.rejected:
                line.client_direction = section.direction
                line.client_wants_send = section.direction.sends
                line.client_ssrc = section.primary_ssrc()
                line.screen_share = section.mid in self.screen_share_mids
                line.direction = self._client_line_direction(line, may_publish)
            elif not line.rejected:
                line.direction = (
                    Direction.SENDONLY
                    if line.ssrc is not None and section.direction.receives
                    else Direction.INACTIVE
                )
            lines.append(line)
        self._lines = lines
        return self._render(setup="passive")

    # ── the node offers ──────────────────────────────────────────────────────────────

    def offer(self, streams: list[OutgoingSpec], may_publish: MayPublish) -> str | None:
        """A new offer if the streams or permissions changed; None if not (or not now)."""
        if self.state is not NegotiationState.STABLE:
            return None
        changed = False
        wanted = {s.ssrc: s for s in streams}
        for line in self._lines:
            if line.rejected or line.kind == "application":
                continue
            if line.from_client:
                direction = self._client_line_direction(line, may_publish)
            elif line.ssrc is not None and line.ssrc in wanted:
                direction = Direction.SENDONLY
                source = wanted.pop(line.ssrc).source_id
                if source != line.source_id:  # a video slot now carries someone else
                    line.source_id = source
                    changed = True
            else:
                direction, line.ssrc = Direction.INACTIVE, None
            if direction is not line.direction:
                line.direction = direction
                changed = True
        for spec in wanted.values():
            kind = spec.kind.value
            line = _Line(next(self._mids), kind, False, self._server_codecs(kind))
            line.direction = Direction.SENDONLY
            line.ssrc, line.source_id = spec.ssrc, spec.source_id
            line.audio_level_id = self._audio_level_id() if kind == "audio" else 0
            self._lines.append(line)
            changed = True
        if not changed:
            return None
        self.state = NegotiationState.HAVE_LOCAL_OFFER
        return self._render(setup="actpass")

    def accept_answer(self, answer_text: str) -> None:
        if self.state is not NegotiationState.HAVE_LOCAL_OFFER:
            raise GlareError("no offer of the node is waiting for an answer")
        answer = parse(answer_text)
        by_mid = {s.mid: s for s in answer.media}
        for line in self._lines:
            section = by_mid.get(line.mid)
            if section is None or line.rejected:
                continue
            if line.from_client:
                line.client_direction = section.direction
                line.client_ssrc = section.primary_ssrc() or line.client_ssrc
        self.state = NegotiationState.STABLE

    # ── what the node should do now ──────────────────────────────────────────────────

    def published(self) -> list[PublishedTrack]:
        """The participant's m-lines that deliver media to the node now."""
        tracks: list[PublishedTrack] = []
        for line in self._lines:
            if (
                not line.from_client
                or line.rejected
                or line.kind == "application"
                or not line.direction.receives
                or not line.client_direction.sends
                or line.client_ssrc is None
            ):
                continue
            codec = line.codecs[0]
            video = None if line.kind == "audio" else VideoCodec(_encoding(codec) or "VP8")
            tracks.append(
                PublishedTrack(
                    line.mid,
                    MediaKind(line.kind),
                    line.client_ssrc,
                    codec.payload_type,
                    video,
                    codec.clock_rate,
                    line.audio_level_id,
                    line.screen_share,
                )
            )
        return tracks

    def streams(self) -> list[dict[str, object]]:
        """The node's m-lines, for the signaling frame (which participant is behind a mid)."""
        return [
            {"mid": line.mid, "kind": line.kind, "participantId": line.source_id}
            for line in self._lines
            if not line.from_client and line.ssrc is not None
        ]

    # ── helpers ──────────────────────────────────────────────────────────────────────

    def _remote_transport(self, offer: SessionDescription) -> None:
        for section in offer.media:
            if section.rejected:
                continue
            if section.ice_ufrag is None or section.ice_pwd is None:
                raise SdpError("the offer has no ICE credentials")
            if section.fingerprint is None or section.fingerprint[0] != "sha-256":
                raise SdpError("the offer has no sha-256 DTLS fingerprint")
            if not section.rtcp_mux and section.kind != "application":
                raise SdpError("rtcp-mux is required")
            self.remote_ufrag = section.ice_ufrag
            self.remote_fingerprint = section.fingerprint[1]
            return
        raise SdpError("the offer has no usable m-line")

    def _client_line(self, section: MediaSection) -> _Line:
        mid = section.mid or ""
        codec: Codec | None = None
        if section.kind == "audio" and not section.rejected:
            codec = section.codec("opus")
        elif section.kind == "video" and not section.rejected:
            codec = section.codec("VP8") or next(
                (c for c in section.codecs if _encoding(c) == "H264"), None
            )
        elif (
            section.kind == "application"
            and not section.rejected
            and section.protocol.endswith(SCTP_PROTOCOL)
            and SCTP_FORMAT in section.formats
        ):
            return _Line(mid, section.kind, True, [], protocol=SCTP_PROTOCOL)
        if codec is None:
            return _Line(
                mid,
                section.kind,
                True,
                [],
                rejected=True,
                formats=section.formats,
                protocol=section.protocol,
            )
        chosen = Codec(
            codec.payload_type,
            codec.name,
            codec.clock_rate,
            codec.channels,
            codec.fmtp,
            [f for f in codec.feedback if f in VIDEO_FEEDBACK],
        )
        line = _Line(mid, section.kind, True, [chosen])
        if section.kind == "audio":
            line.audio_level_id = section.extension_id(AUDIO_LEVEL_URI)
            event = _telephone_event(section)
            if event is not None:
                line.codecs.append(
                    Codec(event.payload_type, event.name, EVENT_CLOCK_RATE, None, event.fmtp)
                )
        return line

    @staticmethod
    def _client_line_direction(line: _Line, may_publish: MayPublish) -> Direction:
        allowed = may_publish(MediaKind(line.kind), line.screen_share)
        return Direction.RECVONLY if allowed and line.client_wants_send else Direction.INACTIVE

    def _server_codecs(self, kind: str) -> list[Codec]:
        pts = self.payload_types
        if kind == "audio":
            codecs = [Codec(pts["opus"], "opus", 48_000, 2, OPUS_FMTP)]
            if TELEPHONE_EVENT in pts:
                codecs.append(
                    Codec(pts[TELEPHONE_EVENT], TELEPHONE_EVENT, 48_000, None, EVENT_FMTP)
                )
            return codecs
        feedback = list(VIDEO_FEEDBACK)
        return [
            Codec(pts["VP8"], "VP8", 90_000, None, None, feedback),
            Codec(pts["H264"], "H264", 90_000, None, H264_FMTP, list(feedback)),
        ]

    def _audio_level_id(self) -> int:
        for line in self._lines:
            if line.from_client and line.audio_level_id:
                return line.audio_level_id
        return 1

    def _render(self, *, setup: str) -> str:
        self._version += 1
        t = self.transport
        bundle = [line.mid for line in self._lines if not line.rejected]
        out = [
            "v=0",
            f"o=- {self._session_id} {self._version} IN IP4 {t.host}",
            "s=-",
            "t=0 0",
            "a=ice-lite",
            f"a=group:BUNDLE {' '.join(bundle)}",
            "a=msid-semantic: WMS *",
        ]
        for line in self._lines:
            out += self._render_line(line, setup)
        return "\r\n".join(out) + "\r\n"

    def _render_line(self, line: _Line, setup: str) -> list[str]:
        t = self.transport
        if line.rejected:
            formats = " ".join(line.formats) or "0"
            return [
                f"m={line.kind} 0 {line.protocol} {formats}",
                "c=IN IP4 0.0.0.0",
                f"a=mid:{line.mid}",
            ]
        if line.kind == "application":
            out = [
                f"m=application {t.port} {SCTP_PROTOCOL} {SCTP_FORMAT}",
                f"c=IN IP4 {t.host}",
                f"a=mid:{line.mid}",
                f"a=sctp-port:{SCTP_PORT}",
                f"a=max-message-size:{MAX_MESSAGE_BYTES + 512}",
            ]
            return out + self._transport_lines(setup)
        pts = " ".join(str(c.payload_type) for c in line.codecs)
        out = [
            f"m={line.kind} {t.port} {PROTOCOL} {pts}",
            f"c=IN IP4 {t.host}",
            f"a=mid:{line.mid}",
            f"a={line.direction.value}",
            "a=rtcp-mux",
        ]
        for codec in line.codecs:
            channels = f"/{codec.channels}" if codec.channels else ""
            out.append(f"a=rtpmap:{codec.payload_type} {codec.name}/{codec.clock_rate}{channels}")
            if codec.fmtp:
                out.append(f"a=fmtp:{codec.payload_type} {codec.fmtp}")
            out += [f"a=rtcp-fb:{codec.payload_type} {fb}" for fb in codec.feedback]
        if line.audio_level_id:
            out.append(f"a=extmap:{line.audio_level_id} {AUDIO_LEVEL_URI}")
        if not line.from_client and line.ssrc is not None:
            stream = line.source_id or f"slot-{line.mid}"
            track = f"{line.kind}-{line.mid}"
            out += [
                f"a=msid:{stream} {track}",
                f"a=ssrc:{line.ssrc} cname:{stream}",
                f"a=ssrc:{line.ssrc} msid:{stream} {track}",
            ]
        return out + self._transport_lines(setup)

    def _transport_lines(self, setup: str) -> list[str]:
        t = self.transport
        return [
            f"a=ice-ufrag:{t.ufrag}",
            f"a=ice-pwd:{t.pwd}",
            f"a=fingerprint:sha-256 {t.fingerprint}",
            f"a=setup:{setup}",
            f"a=candidate:1 1 udp 2130706431 {t.host} {t.port} typ host",
            "a=end-of-candidates",
        ]
