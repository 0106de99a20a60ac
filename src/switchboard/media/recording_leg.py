"""RecordingLeg: a listen-only participant of an SFU call in this process, for a recorder.

A sibling of ``LocalLeg`` that publishes nothing and decodes nothing: the forwarder sends it
every other participant's audio (and, when asked, the one video stream of whoever spoke last)
like any subscriber, and the leg hands each packet's payload on as it came. What to decode is
the recorder's business (Opus for WAV/MP3; video only when it must be re-encoded for MP4).

    Forwarder ─send_rtp─▶ leg: outgoing SSRC ─▶ (kind, publisher id) ─▶ on_packet(RtpPayload)

The forwarder does not list it among the call's participants (that is the conference's
roster), so nobody sees the recorder, as ACS leaves recording bots out of participant lists.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from switchboard.media.forwarder import Forwarder
from switchboard.media.rtp import payload_offset
from switchboard.media.streams import MediaKind

logger = logging.getLogger(__name__)

# The leg's payload types: what it accepts of each codec (the forwarder rewrites to these)
OPUS_PT = 111
VP8_PT = 96
H264_PT = 102
PAYLOAD_TYPES = {"opus": OPUS_PT, "VP8": VP8_PT, "H264": H264_PT}


@dataclass(frozen=True, slots=True)
class RtpPayload:
    publisher_id: str  # for video: whoever the video slot shows now
    kind: MediaKind
    payload_type: int  # one of the leg's own (OPUS_PT, VP8_PT, H264_PT)
    payload: bytes
    timestamp: int  # RTP timestamp in the leg's outgoing stream
    sequence: int
    marker: bool
    ssrc: int  # the outgoing stream's: one per audio track, one for the video slot


PayloadHandler = Callable[[RtpPayload], None]


class RecordingLeg:
    """Create it with ``LocalMediaNode.add_recording_leg``; ``close`` leaves the call."""

    def __init__(
        self,
        call_id: str,
        participant_id: str,
        forwarder: Forwarder,
        on_packet: PayloadHandler,
        *,
        video: bool = False,
        clock: Callable[[], float] = time.monotonic,
        on_close: Callable[[RecordingLeg], None] | None = None,
    ) -> None:
        self.call_id = call_id
        self.participant_id = participant_id
        self.closed = False
        self._forwarder = forwarder
        self._on_packet = on_packet
        self._clock = clock
        self._on_close: list[Callable[[RecordingLeg], None]] = []
        if on_close is not None:
            self._on_close.append(on_close)
        self._sources: dict[int, tuple[MediaKind, str]] = {}
        forwarder.add_participant(
            participant_id,
            self,
            clock(),
            max_video=1 if video else 0,
            payload_types=dict(PAYLOAD_TYPES),
        )

    def when_closed(self, callback: Callable[[RecordingLeg], None]) -> None:
        """Also call ``callback`` when the leg leaves (the call ended, or ``close``)."""
        if self.closed:
            callback(self)
        else:
            self._on_close.append(callback)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self.participant_id in self._forwarder.participants:
            self._forwarder.remove_participant(self.participant_id, self._clock())
        for callback in self._on_close:
            try:
                callback(self)
            except Exception:
                logger.exception("call %s: recording leg close callback failed", self.call_id)

    # ── PacketSink ───────────────────────────────────────────────────────────────────

    def send_rtp(
        self,
        packet: bytes | bytearray | memoryview,
        length: int,
        marker_pt: int,
        seq: int,
        timestamp: int,
        ssrc: int,
    ) -> None:
        source = self._sources.get(ssrc)
        if source is None or source[0] is MediaKind.VIDEO:  # a video slot changes publisher
            source = self._refresh(ssrc)
            if source is None:
                return
        start = payload_offset(packet, length)
        if start <= 0:
            return
        payload = RtpPayload(
            source[1],
            source[0],
            marker_pt & 0x7F,
            bytes(packet[start:length]),
            timestamp,
            seq,
            bool(marker_pt & 0x80),
            ssrc,
        )
        try:  # a failing recorder must not stop the forwarder's loop over the others
            self._on_packet(payload)
        except Exception:
            logger.exception("call %s: recording leg: handler failed", self.call_id)

    def send_rtcp(self, data: bytes) -> None:
        """Reports about streams it never sends: nothing to do."""

    def _refresh(self, ssrc: int) -> tuple[MediaKind, str] | None:
        if self.participant_id not in self._forwarder.participants:
            return None
        self._sources = {
            s.ssrc: (s.kind, s.source_participant_id)
            for s in self._forwarder.streams(self.participant_id)
            if s.source_participant_id is not None
        }
        return self._sources.get(ssrc)
