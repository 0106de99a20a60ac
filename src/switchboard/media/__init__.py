"""The media plane: a selective forwarding unit (SFU) that forwards SRTP, never decodes.

    rtp.py, rtcp.py, codecs.py   sans-I/O packet formats (RTP, RTCP, key-frame detection)
    streams.py, speaker.py       per-stream state (tracks, rewriters, cache), speaker detection
    forwarder.py                 the per-call routing core (sans-I/O)
    participant.py               the forwarder's per-participant state
    subscriptions.py             which tracks a subscriber receives (audio, video slots)
    feedback.py                  the RTCP it answers and sends (NACK, SR translation, RR, REMB)
    srtp.py, transport.py        libsrtp in place; one UDP endpoint per participant (asyncio)
    node.py                      ``MediaNode`` (what signaling uses) and ``LocalMediaNode``
    local_leg.py, opus.py        an in-process participant (PCM in and out) and its codec

See docs/media.md.
"""

from switchboard.media.forwarder import (
    Forwarder,
    ForwarderEvent,
    OutgoingStream,
    SpeakerChanged,
    StreamsChanged,
)
from switchboard.media.local_leg import LocalLeg
from switchboard.media.node import (
    LocalMediaNode,
    MediaCallNotFoundError,
    MediaNode,
    MediaParticipantNotFoundError,
    SrtpKeys,
    SubscriberOptions,
    TrackSpec,
    TransportParams,
)
from switchboard.media.rtp import RtpPacket, RtpParseError
from switchboard.media.streams import MediaKind

__all__ = [
    "Forwarder",
    "ForwarderEvent",
    "LocalLeg",
    "LocalMediaNode",
    "MediaCallNotFoundError",
    "MediaKind",
    "MediaNode",
    "MediaParticipantNotFoundError",
    "OutgoingStream",
    "RtpPacket",
    "RtpParseError",
    "SpeakerChanged",
    "SrtpKeys",
    "StreamsChanged",
    "SubscriberOptions",
    "TrackSpec",
    "TransportParams",
]
