"""LocalLeg: a participant of an SFU call that lives in this process (no socket, no SRTP).

The app's media endpoint (Call Automation: play, recognize) and, later, phone legs are local
legs. To the forwarder a leg is an ordinary participant: it publishes one Opus audio track
and subscribes like everyone else, with itself as the ``PacketSink``.

    send_audio(20 ms PCM) ─OpusEncoder─▶ RTP (own SSRC, seq + 1, ts + 960, audio level)
        ─▶ Forwarder.receive_rtp, as if it had arrived ─▶ subscribers (in its audience)
    Forwarder ─send_rtp─▶ this leg: outgoing SSRC ─▶ publisher id (forwarder.streams)
        ├─ Opus, publisher listened to ─▶ its OpusDecoder ─▶ on_frame(pcm)
        ├─ Opus, listening to everyone (a phone hears the call) ─▶ on_frame(publisher, pcm)
        │  (``narrowband``: 8 kHz PCM, decoded so by libopus: what a phone's G.711 carries)
        └─ telephone-event ─▶ on_telephone_event(publisher id, RFC 4733 payload, timestamp)

A phone's leg speaks and hears 8 kHz (``send_narrowband``, ``listen_all(…, narrowband=True)``):
libopus codes and decodes at that rate itself (media/narrowband_opus.py), with no resampling.

Everything runs on the caller's thread (the event loop): ``send_audio`` encodes and forwards
before it returns. The caller paces (one frame per 20 ms); a pause just continues the
timestamps, with the marker bit on the first packet after it (a new talkspurt). What arrives
is decoded in arrival order, without a jitter buffer: packets are forwarded in-process or
over loopback-like paths, and a lost packet is simply missing from the PCM.
"""

from __future__ import annotations

import logging
import math
import random
import struct
import time
from collections.abc import Callable, Collection

import numpy as np

from switchboard.media.forwarder import Forwarder
from switchboard.media.narrowband_opus import NarrowbandOpusDecoder, NarrowbandOpusEncoder
from switchboard.media.opus import FRAME_SAMPLES, OpusDecoder, OpusEncoder
from switchboard.media.rtp import payload_offset
from switchboard.media.streams import TELEPHONE_EVENT, MediaKind

logger = logging.getLogger(__name__)

OPUS_PT = 111  # the leg's own payload types (the forwarder maps them per subscriber)
EVENT_PT = 110
AUDIO_LEVEL_ID = 1  # RFC 6464 in a one-byte header extension (Chromium's usual id)
TALKSPURT_GAP = 0.06  # seconds without a frame after which the next one starts a talkspurt

# V=2, no padding, extension, no CSRC · marker + PT · seq · ts · SSRC · one-byte extension
# profile 0xBEDE of one word: ID=1 L=0, the level byte, two bytes of padding
_HEADER = struct.Struct("!BBHII HH BBxx")
_MARKER = 0x80

FrameHandler = Callable[[bytes], None]  # 48 kHz mono s16le PCM, 960 samples for 20 ms
AnyFrameHandler = Callable[[str, bytes], None]  # (publisher participant id, PCM)
# (publisher participant id, RFC 4733 payload, RTP timestamp in the leg's stream)
TelephoneEventHandler = Callable[[str, bytes, int], None]


class LocalLeg:
    """One in-process participant; create it with ``LocalMediaNode.add_local_participant``."""

    def __init__(
        self,
        call_id: str,
        participant_id: str,
        forwarder: Forwarder,
        *,
        clock: Callable[[], float] = time.monotonic,
        on_close: Callable[[LocalLeg], None] | None = None,
    ) -> None:
        self.call_id = call_id
        self.participant_id = participant_id
        self.closed = False
        self._forwarder = forwarder
        self._clock = clock
        self._on_close = on_close
        self._encoder = OpusEncoder()
        self._narrow_encoder: NarrowbandOpusEncoder | None = None
        self._seq = random.getrandbits(16)
        self._ts = random.getrandbits(32)
        self._last_sent: float | None = None
        self._event_ts: int | None = None  # the RTP timestamp of the telephone event sent
        self._sources: dict[int, str] = {}  # outgoing SSRC (towards this leg) → publisher
        self._listeners: dict[str, tuple[OpusDecoder, FrameHandler]] = {}
        self._on_event: TelephoneEventHandler | None = None
        self._everyone: AnyFrameHandler | None = None
        self._tap: AnyFrameHandler | None = None
        self._decoders: dict[str, OpusDecoder] = {}  # for ``listen_all``, by publisher
        self._narrowband = False  # ``listen_all`` hears 8 kHz
        self._narrow_decoders: dict[str, NarrowbandOpusDecoder] = {}
        now = clock()
        forwarder.add_participant(
            participant_id,
            self,
            now,
            max_video=0,
            payload_types={"opus": OPUS_PT, TELEPHONE_EVENT: EVENT_PT},
        )
        self.ssrc = forwarder.unused_ssrc()
        forwarder.publish(
            participant_id, MediaKind.AUDIO, self.ssrc, OPUS_PT, now, audio_level_id=AUDIO_LEVEL_ID
        )

    # ── speaking ─────────────────────────────────────────────────────────────────────

    def send_audio(self, frame: bytes | bytearray | memoryview) -> None:
        """Publish 20 ms of 48 kHz mono s16le PCM (1,920 bytes); ignored once closed."""
        if self.closed:
            return
        self.send_encoded(self._encoder.encode(frame), audio_level(frame))

    def send_narrowband(self, frame: bytes) -> None:
        """Publish 20 ms of 8 kHz mono s16le PCM (320 bytes: a phone's audio), coded
        narrowband from 8 kHz (the same Opus stream to subscribers); ignored once closed."""
        if self.closed:
            return
        encoder = self._narrow_encoder
        if encoder is None:
            encoder = self._narrow_encoder = NarrowbandOpusEncoder()
        self.send_encoded(encoder.encode(frame), audio_level(frame))

    def send_encoded(self, payload: bytes, level: int) -> None:
        """Publish 20 ms already encoded (an Opus payload and its RFC 6464 level): audio many
        calls play alike (a cached prompt) is encoded once, not once per call."""
        if self.closed:
            return
        now = self._clock()
        marker = _MARKER if self._last_sent is None or now - self._last_sent > TALKSPURT_GAP else 0
        self._last_sent = now
        header = _HEADER.pack(
            0x90,
            marker | OPUS_PT,
            self._seq,
            self._ts,
            self.ssrc,
            0xBEDE,
            1,
            AUDIO_LEVEL_ID << 4,
            level,
        )
        packet = header + payload
        self._seq = (self._seq + 1) & 0xFFFF
        self._ts = (self._ts + FRAME_SAMPLES) & 0xFFFFFFFF
        self._forwarder.receive_rtp(packet, len(packet), now)

    def send_telephone_event(self, payload: bytes, *, new_event: bool) -> None:
        """Publish one RFC 4733 packet (a phone's key press relayed from its carrier): every
        packet of one event carries the timestamp the event began at (``new_event``: now)."""
        if self.closed:
            return
        if new_event or self._event_ts is None:
            self._event_ts = self._ts  # and a frame of the timeline, so the next event
            self._ts = (self._ts + FRAME_SAMPLES) & 0xFFFFFFFF  # differs without audio
        marker = _MARKER if new_event else 0
        header = _HEADER.pack(
            0x90,
            marker | EVENT_PT,
            self._seq,
            self._event_ts,
            self.ssrc,
            0xBEDE,
            1,
            AUDIO_LEVEL_ID << 4,
            127,
        )
        packet = header + payload
        self._seq = (self._seq + 1) & 0xFFFF
        self._forwarder.receive_rtp(packet, len(packet), self._clock())

    def set_audience(self, participant_ids: Collection[str] | None) -> None:
        """Only these participants hear the leg (ACS ``playTo``); None: everyone again."""
        if not self.closed:
            self._forwarder.set_audience(self.ssrc, participant_ids, self._clock())

    # ── listening ────────────────────────────────────────────────────────────────────

    def listen(self, publisher_id: str, on_frame: FrameHandler | None) -> None:
        """Decode ``publisher_id``'s audio and hand each frame to ``on_frame`` (None: stop).
        Only publishers listened to are decoded; listening again starts a fresh decoder."""
        if on_frame is None:
            self._listeners.pop(publisher_id, None)
        else:
            self._listeners[publisher_id] = (OpusDecoder(), on_frame)

    def listen_all(self, on_frame: AnyFrameHandler | None, *, narrowband: bool = False) -> None:
        """Decode every publisher's audio not listened to on its own (None: stop);
        ``narrowband``: as 8 kHz PCM (160 samples per 20 ms), for a phone."""
        self._everyone = on_frame
        self._narrowband = narrowband
        self._decoders.clear()
        self._narrow_decoders.clear()

    def tap(self, on_frame: AnyFrameHandler | None) -> None:
        """Every publisher's decoded audio, whether or not it is listened to on its own
        (media streaming hears the whole call while a recognize listens to one member)."""
        self._tap = on_frame

    def on_telephone_event(self, callback: TelephoneEventHandler | None) -> None:
        """Every RFC 4733 packet any publisher sends, undecoded (None: no longer)."""
        self._on_event = callback

    def close(self) -> None:
        """Leave the call: the forwarder forgets the leg; later sends are ignored."""
        if self.closed:
            return
        self.closed = True
        self._listeners.clear()
        self._on_event = None
        self._everyone = None
        self._tap = None
        self._decoders.clear()
        self._narrow_decoders.clear()
        if self.participant_id in self._forwarder.participants:
            self._forwarder.remove_participant(self.participant_id, self._clock())
        if self._on_close is not None:
            self._on_close(self)

    # ── PacketSink: what the forwarder sends this leg ────────────────────────────────

    def send_rtp(
        self,
        packet: bytes | bytearray | memoryview,
        length: int,
        marker_pt: int,
        seq: int,
        timestamp: int,
        ssrc: int,
    ) -> None:
        pt = marker_pt & 0x7F
        if pt == EVENT_PT:
            if self._on_event is None:
                return
        elif not self._listeners and self._everyone is None and self._tap is None:
            return
        publisher = self._publisher_of(ssrc)
        if publisher is None:
            return
        start = payload_offset(packet, length)
        if start <= 0:
            return
        payload = bytes(packet[start:length])
        try:  # a failing handler must not stop the forwarder's loop over the others
            if pt == EVENT_PT:
                if self._on_event is not None:
                    self._on_event(publisher, payload, timestamp)
                return
            listener = self._listeners.get(publisher)
            if listener is not None:
                pcm = listener[0].decode(payload)
                if pcm:
                    listener[1](pcm)
            elif self._narrowband and self._everyone is not None:
                narrow = self._narrow_decoders.get(publisher)
                if narrow is None:
                    narrow = self._narrow_decoders[publisher] = NarrowbandOpusDecoder()
                heard = narrow.decode(payload)
                if heard:
                    self._everyone(publisher, heard)
                if self._tap is None:
                    return
                decoder = self._decoders.get(publisher)  # the tap hears 48 kHz
                if decoder is None:
                    decoder = self._decoders[publisher] = OpusDecoder()
                pcm = decoder.decode(payload)
            elif self._everyone is not None or self._tap is not None:
                decoder = self._decoders.get(publisher)
                if decoder is None:
                    decoder = self._decoders[publisher] = OpusDecoder()
                pcm = decoder.decode(payload)
                if pcm and self._everyone is not None:
                    self._everyone(publisher, pcm)
            else:
                return
            if pcm and self._tap is not None:
                self._tap(publisher, pcm)
        except Exception:
            logger.exception(
                "call %s: local leg %s: handler failed", self.call_id, self.participant_id
            )

    def send_rtcp(self, data: bytes) -> None:
        """Receiver reports and key-frame requests about the leg's track: nothing to do
        (there is no network between the leg and the forwarder)."""

    def _publisher_of(self, ssrc: int) -> str | None:
        publisher = self._sources.get(ssrc)
        if publisher is None:  # a stream new to us: audio streams keep their publisher
            self._sources = {
                s.ssrc: s.source_participant_id
                for s in self._forwarder.streams(self.participant_id)
                if s.source_participant_id is not None
            }
            publisher = self._sources.get(ssrc)
        return publisher


def audio_level(frame: bytes | bytearray | memoryview) -> int:
    """RFC 6464's level of a PCM frame: −dBov, 0 (loudest) … 127 (silence)."""
    samples = np.frombuffer(frame, dtype="<i2").astype(np.float32)
    power = float(samples @ samples) / samples.size if samples.size else 0.0
    if power <= 0.0:
        return 127
    dbov = 10 * math.log10(power / (32767.0 * 32767.0))
    return min(127, max(0, round(-dbov)))
