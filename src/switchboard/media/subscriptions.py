"""Which publishers' tracks one subscriber should receive (forwarder.py wires them up).

    audio: every other participant's audio track, except publishers it blocked
    video: the unmuted video tracks of the others it did not block, most recent dominant
           speaker first, at most ``max_video`` of them (0: audio only)

Pure functions over the forwarder's state, called whenever publishing, muting, blocking or
the speaker order changes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from switchboard.media.participant import Participant
from switchboard.media.streams import MediaKind, Track


def wanted_audio(tracks: Iterable[Track], subscriber: Participant) -> dict[int, Track]:
    """The audio tracks ``subscriber`` hears, by source SSRC."""
    return {
        t.ssrc: t
        for t in tracks
        if t.kind is MediaKind.AUDIO
        and t.participant_id != subscriber.id
        and t.participant_id not in subscriber.blocked
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
            if t.kind is MediaKind.VIDEO
            and not t.muted
            and t.participant_id != subscriber.id
            and t.participant_id not in subscriber.blocked
        ),
        key=lambda t: rank.get(t.participant_id, len(rank)),
    )
    return candidates[: subscriber.max_video]
