"""Which publishers' tracks one subscriber should receive (forwarder.py wires them up).

    audio: every other participant's audio track
    video: the others' unmuted video tracks, most recent dominant speaker first, at most
           ``max_video`` of them (0: audio only)

Pure functions over the forwarder's state, called whenever publishing, muting or the speaker
order changes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from switchboard.media.participant import Participant
from switchboard.media.streams import MediaKind, Track


def wanted_audio(tracks: Iterable[Track], subscriber: Participant) -> dict[int, Track]:
    """The audio tracks ``subscriber`` hears, by source SSRC."""
    return {
        t.ssrc: t for t in tracks if t.kind is MediaKind.AUDIO and t.participant_id != subscriber.id
    }


def wanted_video(
    tracks: Iterable[Track], subscriber: Participant, speaker_order: Sequence[str]
) -> list[Track]:
    """The video tracks ``subscriber`` sees, the most recent speakers' first."""
    rank = {pid: i for i, pid in enumerate(speaker_order)}
    candidates = sorted(
        (
            t
            for t in tracks
            if t.kind is MediaKind.VIDEO and not t.muted and t.participant_id != subscriber.id
        ),
        key=lambda t: rank.get(t.participant_id, len(rank)),
    )
    return candidates[: subscriber.max_video]
