"""AudioTimeline: every publisher's decoded audio, laid out 20 ms at a time as the recording's
PCM: one channel (mixed) or one channel per participant (unmixed). Sans-I/O.

    Opus payload (publisher) ─decode (48 kHz)─▶ 16 kHz ─▶ that publisher's queue
    tick() every 20 ms ─▶ one frame from each queue (silence if empty) ─▶ summed (mixed) or
        placed on the publisher's channel ─▶ the open chunk's rows (unless paused)

Arrival order stands in for a jitter buffer (packets come from the SFU in this process);
a queue longer than ``MAX_QUEUED`` frames drops its oldest, so a publisher whose clock runs
fast cannot drift away from the others. Channels (unmixed): ``channelAffinity`` first, then
``audioChannelParticipantOrdering``, then the lowest free channel in order of first audio;
participants past the fifth share channel 4.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

import numpy as np

from switchboard.media.opus import OpusDecoder
from switchboard.recording.encoding import FRAME_SAMPLES, Pcm
from switchboard.recording.models import MAX_CHANNELS, RecordingChannel, RecordingOptions

MAX_QUEUED = 5
_SILENCE = np.zeros(FRAME_SAMPLES, dtype=np.int16)


class AudioTimeline:
    def __init__(
        self,
        options: RecordingOptions,
        raw_id_of: Callable[[str], str | None],
        *,
        chunk_frames: int,
    ) -> None:
        self._mixed = options.channel is RecordingChannel.MIXED
        self._raw_id_of = raw_id_of
        self._chunk_frames = chunk_frames
        self._queues: dict[str, deque[Pcm]] = {}
        self._decoders: dict[str, OpusDecoder] = {}
        self.channel_by_raw_id: dict[str, int] = {a.raw_id: a.channel for a in options.affinity}
        for raw_id in options.ordering:
            free = self._free_channel()
            if raw_id not in self.channel_by_raw_id and free is not None:
                self.channel_by_raw_id[raw_id] = free
        self._channel_of: dict[str, int] = {}  # publisher (SFU participant id) → channel
        self._width = 1 if self._mixed else MAX_CHANNELS
        self._rows = np.zeros((chunk_frames * FRAME_SAMPLES, self._width), dtype=np.int16)
        self._filled = 0  # frames in the open chunk
        self.used_channels = 1 if self._mixed else 0

    # ── in ───────────────────────────────────────────────────────────────────────────

    def opus(self, publisher_id: str, payload: bytes) -> None:
        decoder = self._decoders.get(publisher_id)
        if decoder is None:
            decoder = self._decoders[publisher_id] = OpusDecoder()
        pcm = decoder.decode(payload)
        if len(pcm) != FRAME_SAMPLES * 3 * 2:
            return  # not one 20 ms frame: unusable for the timeline
        samples = np.frombuffer(pcm, dtype="<i2").reshape(FRAME_SAMPLES, 3)
        # 48 → 16 kHz: the mean of each three samples (a crude low-pass; speech is < 8 kHz)
        frame = samples.mean(axis=1, dtype=np.float32).astype(np.int16)
        queue = self._queues.get(publisher_id)
        if queue is None:
            queue = self._queues[publisher_id] = deque(maxlen=MAX_QUEUED)
        queue.append(frame)

    # ── out ──────────────────────────────────────────────────────────────────────────

    def tick(self, recording: bool) -> Pcm | None:
        """Lay out 20 ms. While paused the queues drain into nothing. A full chunk's PCM
        when this tick filled it, else None."""
        frames = [(p, q.popleft()) for p, q in self._queues.items() if q]
        if not recording:
            return None
        start = self._filled * FRAME_SAMPLES
        block = self._rows[start : start + FRAME_SAMPLES]
        if self._mixed:
            if frames:
                total = np.sum([f for _, f in frames], axis=0, dtype=np.int32)
                block[:, 0] = np.clip(total, -32768, 32767)
            else:
                block[:, 0] = 0
        else:
            block[:] = 0
            for publisher, frame in frames:
                channel = self._channel(publisher)
                if channel is not None:
                    mixed = block[:, channel].astype(np.int32) + frame
                    block[:, channel] = np.clip(mixed, -32768, 32767)
        self._filled += 1
        if self._filled == self._chunk_frames:
            return self.take()
        return None

    def take(self) -> Pcm:
        """The open chunk's PCM so far (a copy), and a fresh chunk."""
        pcm = self._rows[: self._filled * FRAME_SAMPLES, : max(1, self.used_channels)].copy()
        self._filled = 0
        return pcm

    @property
    def pending_frames(self) -> int:
        return self._filled

    def forget(self, publisher_id: str) -> None:
        self._queues.pop(publisher_id, None)
        self._decoders.pop(publisher_id, None)

    def _channel(self, publisher_id: str) -> int | None:
        channel = self._channel_of.get(publisher_id)
        if channel is None:
            raw_id = self._raw_id_of(publisher_id)
            if raw_id is None:
                return None  # not known yet: its audio waits for the roster
            channel = self.channel_by_raw_id.get(raw_id)
            if channel is None:
                free = self._free_channel()
                channel = MAX_CHANNELS - 1 if free is None else free
                self.channel_by_raw_id.setdefault(raw_id, channel)
            self._channel_of[publisher_id] = channel
        self.used_channels = max(self.used_channels, channel + 1)
        return channel

    def _free_channel(self) -> int | None:
        taken = set(self.channel_by_raw_id.values())
        return next((c for c in range(MAX_CHANNELS) if c not in taken), None)
