"""The forwarder's per-participant state: ``Participant`` and what it reports, ``OutgoingStream``.

A participant both publishes (its ``tracks``, its RTCP SSRC towards them, the REMB it last
sent) and subscribes: one outgoing ``StreamRewriter`` per audio track it hears
(``audio_streams``, by source SSRC) and up to ``max_video`` video slots (``video_slots``),
all of them by outgoing SSRC in ``streams_by_ssrc``. forwarder.py changes these.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from switchboard.media.streams import MediaKind, PacketSink, StreamRewriter, Track


@dataclass(frozen=True, slots=True)
class OutgoingStream:
    ssrc: int
    kind: MediaKind
    source_participant_id: str | None  # None: an idle video slot
    screen_share: bool = False  # its source is a shared screen, not a camera


class Participant:
    __slots__ = (
        "audio_streams",
        "id",
        "max_video",
        "payload_types",
        "remb",
        "rtcp_ssrc",
        "sink",
        "streams_by_ssrc",
        "tracks",
        "video_slots",
    )

    def __init__(
        self, participant_id: str, sink: PacketSink, max_video: int, payload_types: dict[str, int]
    ) -> None:
        self.id = participant_id
        self.sink = sink
        self.max_video = max_video
        self.payload_types = payload_types  # encoding name ("opus", "VP8", "H264") → PT
        self.tracks: list[Track] = []
        self.audio_streams: dict[int, StreamRewriter] = {}  # by source SSRC
        self.video_slots: list[StreamRewriter] = []
        self.streams_by_ssrc: dict[int, StreamRewriter] = {}  # by outgoing SSRC
        self.rtcp_ssrc = random.getrandbits(32)
        self.remb: int | None = None
