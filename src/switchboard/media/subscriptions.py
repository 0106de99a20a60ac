"""Which publishers' tracks one subscriber should receive (forwarder.py wires them up).

    audio: every other participant's audio track
    video: the others' unmuted video tracks, shared screens first, then the most recent
           dominant speaker first, at most ``max_video`` of them (0: audio only)
    audience: an audio track with an audience (ACS playTo) is routed only to its members;
           the others keep the stream, silenced; so do participants set apart (hold)

Pure functions over the forwarder's state, called whenever publishing, muting or the speaker
order changes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from switchboard.media.participant import Participant
from switchboard.media.streams import MediaKind, StreamRewriter, Track


def wanted_audio(tracks: Iterable[Track], subscriber: Participant) -> dict[int, Track]:
    """The audio tracks ``subscriber`` hears, by source SSRC."""
    return {
        t.ssrc: t for t in tracks if t.kind is MediaKind.AUDIO and t.participant_id != subscriber.id
    }


def wanted_video(
    tracks: Iterable[Track], subscriber: Participant, speaker_order: Sequence[str]
) -> list[Track]:
    """The video tracks ``subscriber`` sees: shared screens, then the most recent speakers'."""
    rank = {pid: i for i, pid in enumerate(speaker_order)}
    candidates = sorted(
        (
            t
            for t in tracks
            if t.kind is MediaKind.VIDEO and not t.muted and t.participant_id != subscriber.id
        ),
        key=lambda t: (not t.screen_share, rank.get(t.participant_id, len(rank))),
    )
    return candidates[: subscriber.max_video]


def follow_audience(
    stream: StreamRewriter, track: Track, subscriber_id: str, linked: bool = True
) -> None:
    """Route or silence an audio stream as its track's audience says (and ``linked``: neither
    side is on hold apart from the other); the stream (and the subscriber's m-line) stays
    either way, so narrowing and widening never renegotiates."""
    heard = linked and (track.audience is None or subscriber_id in track.audience)
    if heard and stream.silenced:
        stream.silenced = False
        stream.waiting = True  # continue the stream from the wall-clock gap
        track.routes.append(stream)
    elif not heard and not stream.silenced:
        stream.silenced = True
        track.routes.remove(stream)
