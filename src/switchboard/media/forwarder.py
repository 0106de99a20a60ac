"""The per-call routing core of the SFU: which packet goes to whom, rewritten how. Sans-I/O.

It sees plaintext RTP/RTCP (the transport has already removed SRTP) and hands packets to each
participant's ``PacketSink`` (the transport, or a test link); time comes in as ``now``.

    publisher RTP ─receive_rtp─▶ Track (stats, cache, audio level) ─▶ track.routes:
        for each StreamRewriter: waiting? (video: until a key frame) ─▶ out seq/ts/SSRC/PT
        ─▶ subscriber sink.send_rtp
    subscriber RTCP ─receive_rtcp─▶ NACK: cache → retransmit · PLI/FIR: key-frame request to
        the source's publisher (rate-limited) · REMB: remembered for the publisher
    publisher RTCP ─▶ SR: translated to each subscriber's stream (lip sync)
    tick(now) every TICK_SECONDS ─▶ active speaker ─▶ video slots re-assigned; every second:
        receiver reports (+ REMB, the minimum of the subscribers') to publishers

Per-participant state is in participant.py; who should receive which track in
subscriptions.py; the RTCP the forwarder answers or sends on its own (NACK retransmission, SR
translation, receiver reports and REMB) in feedback.py.

Subscriptions: every participant receives every other participant's audio (one outgoing
stream per audio track) and up to ``max_video`` video tracks, chosen by who spoke last; a video
slot switching publisher is one continuous outgoing stream (see ``streams``). A track's
audience (``set_audience``, ACS ``playTo``) silences its streams to everyone else: the streams
stay (no renegotiation), they just get no packets until the audience includes them again.

Telephone events (RFC 4733) ride on a publisher's audio stream under their own payload type
(the publisher's ``telephone-event`` PT): they are forwarded like its audio, with each
subscriber's own telephone-event PT (none negotiated: not forwarded to it), even while the
publisher is muted (keys pressed for an IVR are not the microphone).

A participant set apart (``set_apart``, ACS hold) hears and is heard only by the few it is
kept with (the app's leg, which plays it hold music): its streams to and from everyone else
are silenced like an audience's, and come back on ``set_apart(…, None)``.
"""

from __future__ import annotations

import random
from collections.abc import Collection, Iterator
from dataclasses import dataclass

from switchboard.media import rtcp
from switchboard.media.codecs import VideoCodec, is_keyframe
from switchboard.media.feedback import receiver_report, retransmit, translate_sender_report
from switchboard.media.participant import OutgoingStream as OutgoingStream
from switchboard.media.participant import Participant
from switchboard.media.rtp import HEADER, RtpParseError, audio_level, payload_offset
from switchboard.media.speaker import TICK_SECONDS, SpeakerDetector
from switchboard.media.streams import (
    TELEPHONE_EVENT,
    MediaKind,
    PacketSink,
    StreamRewriter,
    Track,
)
from switchboard.media.subscriptions import follow_audience, wanted_audio, wanted_video

KEYFRAME_INTERVAL = 0.5  # at most one key-frame request per publisher track per interval
REPORT_SECONDS = 1.0
_unpack_header = HEADER.unpack_from
_VIDEO = MediaKind.VIDEO


@dataclass(frozen=True, slots=True)
class SpeakerChanged:
    participant_id: str


@dataclass(frozen=True, slots=True)
class StreamsChanged:
    """A subscriber's outgoing streams changed (SSRCs added): renegotiate its SDP."""

    participant_id: str


ForwarderEvent = SpeakerChanged | StreamsChanged


class Forwarder:
    def __init__(self) -> None:
        self.participants: dict[str, Participant] = {}
        self._tracks: dict[int, Track] = {}
        self._used_ssrcs: set[int] = set()
        self.speaker = SpeakerDetector()
        self.speaker_order: list[str] = []  # most recent dominant speaker first
        self.apart: dict[str, frozenset[str]] = {}  # held participant → whom it is kept with
        self.events: list[ForwarderEvent] = []
        self._last_tick = -1e9
        self._last_report = -1e9
        # counters (for tests, metrics and the benchmark)
        self.forwarded = 0
        self.waiting_drops = 0
        self.unknown_packets = 0
        self.bad_rtcp = 0
        self.retransmitted = 0
        self.nack_misses = 0
        self.keyframe_requests = 0
        # receive statistics of tracks no longer published (media/stats.py adds the live ones)
        self.retired_expected = 0
        self.retired_received = 0

    # ── membership ───────────────────────────────────────────────────────────────────

    def add_participant(
        self,
        participant_id: str,
        sink: PacketSink,
        now: float,
        *,
        max_video: int = 16,
        payload_types: dict[str, int] | None = None,
    ) -> None:
        self.participants[participant_id] = Participant(
            participant_id, sink, max_video, dict(payload_types or {})
        )
        self.speaker_order.append(participant_id)
        self._sync(participant_id, now)

    def remove_participant(self, participant_id: str, now: float) -> None:
        participant = self.participants.pop(participant_id)
        for track in list(participant.tracks):
            self.unpublish(track.ssrc, now)
        for stream in participant.streams_by_ssrc.values():
            self._detach(stream)
            self._used_ssrcs.discard(stream.ssrc)
        self.speaker_order.remove(participant_id)
        self.speaker.forget(participant_id)
        self.apart.pop(participant_id, None)

    def publish(
        self,
        participant_id: str,
        kind: MediaKind,
        ssrc: int,
        payload_type: int,
        now: float,
        *,
        clock_rate: int | None = None,
        codec: VideoCodec | None = None,
        audio_level_id: int = 0,
        screen_share: bool = False,
    ) -> Track:
        if kind is _VIDEO and codec is None:
            codec = VideoCodec.VP8
        rate = clock_rate or (90_000 if kind is _VIDEO else 48_000)
        publisher = self.participants[participant_id]
        # BUNDLE: one PT means one codec on the whole transport, so the publisher's
        # telephone-event PT is the one its offer named
        events = -1 if kind is _VIDEO else publisher.payload_types.get(TELEPHONE_EVENT, -1)
        track = Track(
            participant_id,
            kind,
            ssrc,
            payload_type,
            rate,
            codec,
            audio_level_id,
            events,
            screen_share and kind is _VIDEO,
        )
        self._tracks[ssrc] = track
        publisher.tracks.append(track)
        self._sync_all(now)
        return track

    def unpublish(self, ssrc: int, now: float) -> None:
        track = self._tracks.pop(ssrc)
        self.retired_expected += track.expected()
        self.retired_received += track.received
        owner = self.participants.get(track.participant_id)
        if owner is not None:
            owner.tracks.remove(track)
        for stream in list(track.routes):
            self._detach(stream)
        self._sync_all(now)

    def tracks(self) -> Iterator[Track]:
        """The published tracks (for statistics, read when scraped)."""
        return iter(self._tracks.values())

    def set_muted(self, participant_id: str, kind: MediaKind, muted: bool, now: float) -> None:
        """A publisher's mute: its packets of this kind are no longer forwarded (video: its
        camera; a shared screen stops by being unpublished)."""
        for track in self.participants[participant_id].tracks:
            if track.kind is kind and track.muted != muted and not track.screen_share:
                track.muted = muted
                for stream in track.routes:
                    stream.waiting = True  # resume continuously (video: at a key frame)
                if not muted and kind is _VIDEO:
                    self._request_keyframe(track, now)
        self._sync_all(now)

    def set_audience(self, ssrc: int, audience: Collection[str] | None, now: float) -> None:
        """Only these participants hear the track ``ssrc`` (None: everyone again)."""
        track = self._tracks[ssrc]
        track.audience = None if audience is None else frozenset(audience)
        self._sync_all(now)

    def set_apart(self, participant_id: str, kept_with: Collection[str] | None, now: float) -> None:
        """The participant hears and is heard only by ``kept_with`` (None: everyone again)."""
        if kept_with is None:
            self.apart.pop(participant_id, None)
        else:
            self.apart[participant_id] = frozenset(kept_with)
        self._sync_all(now)

    def linked(self, publisher_id: str, subscriber_id: str) -> bool:
        """Neither is set apart from the other (hold)."""
        apart = self.apart
        if not apart:
            return True
        kept = apart.get(publisher_id)
        if kept is not None and subscriber_id not in kept:
            return False
        kept = apart.get(subscriber_id)
        return kept is None or publisher_id in kept

    def set_max_video(self, participant_id: str, max_video: int, now: float) -> None:
        """A subscriber asks for at most ``max_video`` video streams (0: audio only)."""
        self.participants[participant_id].max_video = max(0, max_video)
        self._sync(participant_id, now)

    def streams(self, participant_id: str) -> list[OutgoingStream]:
        participant = self.participants[participant_id]
        return [
            OutgoingStream(
                s.ssrc,
                s.kind,
                s.source.participant_id if s.source else None,
                s.source.screen_share if s.source else False,
            )
            for s in participant.streams_by_ssrc.values()
        ]

    def take_events(self) -> list[ForwarderEvent]:
        events, self.events = self.events, []
        return events

    # ── the hot path ─────────────────────────────────────────────────────────────────

    def receive_rtp(self, buf: bytes | bytearray | memoryview, length: int, now: float) -> None:
        """One plaintext RTP packet from a publisher, in ``buf[:length]``."""
        _, second, seq, ts, ssrc = _unpack_header(buf)
        track = self._tracks.get(ssrc)
        if track is None:
            self.unknown_packets += 1
            return
        if ((seq - track.max_seq) & 0xFFFF) < 0x8000:
            if seq < track.max_seq:
                track.cycles += 0x10000
            track.max_seq = seq
        if track.base_seq < 0:
            track.base_seq = track.max_seq = seq
            track.cycles = 0
        track.received += 1
        event = (second & 0x7F) == track.event_payload_type
        if not event:  # an event's packets all carry its start time: no jitter to learn
            transit = now * track.clock_rate - ts
            delta = transit - track.last_transit
            track.last_transit = transit
            if delta < 0:
                delta = -delta
            if delta < track.clock_rate:  # ignore the first packet and timestamp wraps
                track.jitter += (delta - track.jitter) / 16
        cache = track.cache
        if cache is not None:
            cache.put(seq, bytes(buf[:length]), now)
        if track.level_id:
            track.level_sum += 127 - audio_level(buf, length, track.level_id)
            track.level_count += 1
        if track.muted and not event:
            return
        keyframe: bool | None = None  # computed once, only if a stream waits for one
        marker = second & 0x80
        sent = 0
        for stream in track.routes:
            if stream.waiting:
                if track.kind is _VIDEO:
                    if keyframe is None:
                        keyframe = _starts_keyframe(track, buf, length)
                    if not keyframe:
                        self.waiting_drops += 1
                        continue
                stream.rebase(seq, ts, track.clock_rate, now)
            out_seq = (seq + stream.seq_offset) & 0xFFFF
            out_ts = (ts + stream.ts_offset) & 0xFFFFFFFF
            if (out_seq - stream.last_seq) & 0xFFFF < 0x8000:
                stream.last_seq = out_seq
                stream.last_ts = out_ts
                stream.last_time = now
            elif (out_seq - stream.segment_start) & 0xFFFF >= 0x8000:
                continue  # late packet from before this source's first forwarded one
            pt = stream.event_payload_type if event else stream.payload_type
            if pt < 0:
                continue  # the subscriber negotiated no telephone-event
            stream.sink.send_rtp(buf, length, marker | pt, out_seq, out_ts, stream.ssrc)
            sent += 1
        self.forwarded += sent

    # ── RTCP ─────────────────────────────────────────────────────────────────────────

    def receive_rtcp(self, participant_id: str, data: bytes, now: float) -> None:
        participant = self.participants.get(participant_id)
        if participant is None:
            return
        try:
            packets = rtcp.parse_rtcp(data)
        except RtpParseError:
            self.bad_rtcp += 1
            return
        for packet in packets:
            if isinstance(packet, rtcp.GenericNack):
                self._answer_nack(participant, packet, now)
            elif isinstance(packet, rtcp.PictureLossIndication):
                self._keyframe_for(participant, packet.media_ssrc, now)
            elif isinstance(packet, rtcp.FullIntraRequest):
                for ssrc, _ in packet.entries:
                    self._keyframe_for(participant, ssrc, now)
            elif isinstance(packet, rtcp.Remb):
                participant.remb = packet.bitrate
            elif isinstance(packet, rtcp.SenderReport):
                self._translate_sender_report(packet, now)

    def _answer_nack(self, participant: Participant, nack: rtcp.GenericNack, now: float) -> None:
        stream = participant.streams_by_ssrc.get(nack.media_ssrc)
        if stream is None:
            return
        sent, missed = retransmit(stream, nack.lost, now)
        self.retransmitted += sent
        self.nack_misses += missed

    def _keyframe_for(self, participant: Participant, out_ssrc: int, now: float) -> None:
        stream = participant.streams_by_ssrc.get(out_ssrc)
        if stream is not None and stream.source is not None and stream.kind is _VIDEO:
            self._request_keyframe(stream.source, now)

    def _request_keyframe(self, track: Track, now: float) -> None:
        if now - track.last_keyframe_request < KEYFRAME_INTERVAL:
            return
        publisher = self.participants.get(track.participant_id)
        if publisher is None:
            return
        track.last_keyframe_request = now
        self.keyframe_requests += 1
        pli = rtcp.PictureLossIndication(publisher.rtcp_ssrc, track.ssrc)
        publisher.sink.send_rtcp(bytes(pli))

    def _translate_sender_report(self, report: rtcp.SenderReport, now: float) -> None:
        track = self._tracks.get(report.ssrc)
        if track is not None:
            translate_sender_report(track, report, now)

    # ── timers ───────────────────────────────────────────────────────────────────────

    def next_timer(self) -> float:
        return self._last_tick + TICK_SECONDS

    def tick(self, now: float) -> None:
        """Speaker detection, key-frame re-requests, and (every second) reports to publishers."""
        if now < self._last_tick + TICK_SECONDS:
            return
        self._last_tick = now
        audio = [t for t in self._tracks.values() if t.kind is MediaKind.AUDIO]
        speaker = self.speaker.tick(audio)
        if speaker is not None:
            self.speaker_order.remove(speaker)
            self.speaker_order.insert(0, speaker)
            self.events.append(SpeakerChanged(speaker))
            self._sync_all(now)
        for track in self._tracks.values():
            if track.kind is _VIDEO and not track.muted and any(s.waiting for s in track.routes):
                self._request_keyframe(track, now)  # the last request may have been lost
        if now >= self._last_report + REPORT_SECONDS:
            self._last_report = now
            for participant in self.participants.values():
                self._report_to(participant, now)

    def _report_to(self, publisher: Participant, now: float) -> None:
        packet = receiver_report(publisher, self.participants.values(), now)
        if packet is not None:
            publisher.sink.send_rtcp(packet)

    # ── subscriptions ────────────────────────────────────────────────────────────────

    def _sync_all(self, now: float) -> None:
        for participant_id in self.participants:
            self._sync(participant_id, now)

    def _sync(self, subscriber_id: str, now: float) -> None:
        """Bring one subscriber's outgoing streams in line with who publishes what."""
        subscriber = self.participants[subscriber_id]
        added = False
        audio = wanted_audio(self._tracks.values(), subscriber)
        for ssrc, stream in list(subscriber.audio_streams.items()):
            if ssrc not in audio:
                self._detach(stream)
                del subscriber.audio_streams[ssrc]
                del subscriber.streams_by_ssrc[stream.ssrc]
                self._used_ssrcs.discard(stream.ssrc)
        for ssrc, track in audio.items():
            heard = subscriber.audio_streams.get(ssrc)
            if heard is None:
                heard = self._new_stream(subscriber, MediaKind.AUDIO, now)
                subscriber.audio_streams[ssrc] = heard
                self._attach(heard, track, subscriber)
                added = True
            follow_audience(
                heard, track, subscriber.id, self.linked(track.participant_id, subscriber.id)
            )
        wanted = [
            track
            for track in wanted_video(self._tracks.values(), subscriber, self.speaker_order)
            if self.linked(track.participant_id, subscriber.id)
        ]
        free: list[StreamRewriter] = []
        owners = {s.ssrc: s.source.participant_id for s in subscriber.video_slots if s.source}
        for slot in subscriber.video_slots:
            if slot.source is None or slot.source not in wanted:
                self._detach(slot)
                free.append(slot)
        shown = {slot.source for slot in subscriber.video_slots}
        for track in wanted:
            if track in shown:
                continue
            if free:
                slot = free.pop(0)
                # Another participant's video on this slot: the subscriber's `streams` map
                # (mid → participant) must say so, or it shows the new video under the old
                # name (a member who left and one who joined after, as after a reload).
                added = added or owners.get(slot.ssrc) != track.participant_id
            else:
                slot = self._new_stream(subscriber, _VIDEO, now)
                subscriber.video_slots.append(slot)
            # a new slot, or one now carrying someone else's video (or a screen for a
            # camera): the subscriber must learn whose media the m-line carries
            added = True
            self._attach(slot, track, subscriber)
            self._request_keyframe(track, now)
        if added:
            self.events.append(StreamsChanged(subscriber_id))

    def unused_ssrc(self) -> int:
        """A random SSRC no track or outgoing stream of this call has (for a local leg's)."""
        ssrc = random.getrandbits(32)
        while ssrc in self._used_ssrcs or ssrc in self._tracks or ssrc == 0:
            ssrc = random.getrandbits(32)
        return ssrc

    def _new_stream(self, subscriber: Participant, kind: MediaKind, now: float) -> StreamRewriter:
        ssrc = self.unused_ssrc()
        self._used_ssrcs.add(ssrc)
        stream = StreamRewriter(subscriber.id, kind, ssrc, subscriber.sink, now)
        subscriber.streams_by_ssrc[ssrc] = stream
        return stream

    def _attach(self, stream: StreamRewriter, track: Track, subscriber: Participant) -> None:
        stream.source = track
        stream.waiting = True
        encoding = track.codec.value if track.codec is not None else "opus"
        stream.payload_type = subscriber.payload_types.get(encoding, track.payload_type)
        if track.kind is MediaKind.AUDIO:
            stream.event_payload_type = subscriber.payload_types.get(TELEPHONE_EVENT, -1)
        stream.silenced = False
        track.routes.append(stream)

    def _detach(self, stream: StreamRewriter) -> None:
        if stream.source is not None:
            if not stream.silenced:
                stream.source.routes.remove(stream)
            stream.source = None


def _starts_keyframe(track: Track, buf: bytes | bytearray | memoryview, length: int) -> bool:
    start = payload_offset(buf, length)
    codec = track.codec or VideoCodec.VP8
    return start > 0 and is_keyframe(codec, buf, start, length)
