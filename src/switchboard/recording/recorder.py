"""Recorder: one live recording on the node that runs its call.

    RecordingLeg ─on_packet─▶ Opus ─▶ AudioTimeline (decoded) · video (MP4 only) ─▶ decoded
        frames of the one video slot
    tick() every 20 ms ─▶ timeline ─full chunk─▶ writes queue
    writes queue ─▶ (one at a time, in order) encode in a thread ─▶ BlobStore.put content,
        metadata ─▶ manifest (chunks so far) ─▶ BlobStore.put manifest
    pause / resume ─▶ manifest · finish(reason) ─▶ the last chunk ─▶ manifest FINISHED

Every chunk is a whole file written (and fsynced by the store) before the manifest names it,
so after a kill -9 the manifest lists only chunks that play.
"""

from __future__ import annotations

import asyncio
import fractions
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import av
import msgspec
from av.video.codeccontext import VideoCodecContext

from switchboard.media.recording_leg import VP8_PT, RecordingLeg, RtpPayload
from switchboard.media.streams import MediaKind
from switchboard.recording.encoding import (
    FRAME_SAMPLES,
    SAMPLE_RATE,
    Pcm,
    mp3_bytes,
    mp4_bytes,
    wav_bytes,
)
from switchboard.recording.models import (
    Chunk,
    ChunkEndReason,
    Manifest,
    Pause,
    RecordingFormat,
    RecordingPhase,
    SessionEndReason,
    chunk_keys,
    document_id,
    manifest_key,
)
from switchboard.recording.timeline import AudioTimeline
from switchboard.storage.blobs import BlobStore

log = logging.getLogger(__name__)

_EXTENSIONS = {RecordingFormat.WAV: "wav", RecordingFormat.MP3: "mp3", RecordingFormat.MP4: "mp4"}
_FRAME_MS = FRAME_SAMPLES * 1000 // SAMPLE_RATE
_encode_manifest = msgspec.json.Encoder().encode
MAX_BURST_FRAMES = 3000  # one minute: the most a stalled recorder lays out at once


@dataclass(frozen=True, slots=True)
class _ChunkJob:
    pcm: Pcm
    video: list[av.VideoFrame]
    reason: ChunkEndReason


@dataclass(frozen=True, slots=True)
class _ManifestJob:
    done: asyncio.Future[None] | None = None


class Recorder:
    def __init__(
        self,
        manifest: Manifest,
        blobs: BlobStore,
        raw_id_of: Callable[[str], str | None],
        *,
        chunk_seconds: float,
        wall_clock: Callable[[], float],
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.manifest = manifest
        self.leg: RecordingLeg | None = None
        self._blobs = blobs
        self._wall = wall_clock
        self._monotonic = monotonic
        self._origin = monotonic()  # the recording's time starts now
        self._laid = 0  # 20 ms frames laid out since then
        self._chunk_frames = max(1, round(chunk_seconds * 1000 / _FRAME_MS))
        self.timeline = AudioTimeline(manifest.options, raw_id_of, chunk_frames=self._chunk_frames)
        self._video = manifest.options.format is RecordingFormat.MP4
        self._video_decoder: VideoCodecContext | None = None
        self._frames: list[av.VideoFrame] = []
        self._pending = bytearray()  # the VP8 frame being reassembled
        self._video_clock_ms = 0  # recorded time of the open chunk, for video pts
        self._jobs: asyncio.Queue[_ChunkJob | _ManifestJob] = asyncio.Queue()
        self._chunk_start_ms = manifest.recorded_ms

    @property
    def recording(self) -> bool:
        return self.manifest.phase is RecordingPhase.RECORDING

    # ── media (the event loop's thread, from the leg and the ticker) ─────────────────

    def on_packet(self, packet: RtpPayload) -> None:
        if packet.kind is MediaKind.AUDIO:
            self.timeline.opus(packet.publisher_id, packet.payload)
        elif self._video and self.recording:
            self._video_packet(packet)

    def tick(self) -> None:
        """Lay out every 20 ms frame due by now: the recording's length follows the clock,
        not the number of ticks (a loop that stalls runs late, and loses ticks)."""
        if not self.manifest.phase.live:
            return
        now = self._monotonic()
        due = int((now - self._origin) * 1000 / _FRAME_MS) - self._laid
        if due > MAX_BURST_FRAMES:  # a very long stall: that time is lost, not made up
            self._laid += due - MAX_BURST_FRAMES
            due = MAX_BURST_FRAMES
        for _ in range(max(0, due)):
            self._laid += 1
            pcm = self.timeline.tick(self.recording)
            if self.recording:
                self._video_clock_ms += _FRAME_MS
            if pcm is not None:
                self._cut(pcm, ChunkEndReason.CHUNK_MAXIMUM_TIME_EXCEEDED)

    # ── control ──────────────────────────────────────────────────────────────────────

    def pause(self) -> bool:
        """False if it was not recording."""
        if self.manifest.phase is not RecordingPhase.RECORDING:
            return False
        self.manifest.phase = RecordingPhase.PAUSED
        at = self.manifest.recorded_ms + self.timeline.pending_frames * _FRAME_MS
        self.manifest.pauses.append(Pause(at, self._wall()))
        self._jobs.put_nowait(_ManifestJob())
        return True

    def resume(self) -> bool:
        if self.manifest.phase is not RecordingPhase.PAUSED:
            return False
        self.manifest.phase = RecordingPhase.RECORDING
        if self.manifest.pauses and self.manifest.pauses[-1].wall_end is None:
            last = self.manifest.pauses[-1]
            self.manifest.pauses[-1] = msgspec.structs.replace(last, wall_end=self._wall())
        self._jobs.put_nowait(_ManifestJob())
        return True

    def finish(self, reason: SessionEndReason) -> asyncio.Future[None] | None:
        """End it: the open chunk is written, then the manifest says FINISHED. The future is
        done once that is stored (None if it had finished already)."""
        if not self.manifest.phase.live:
            return None
        if self.timeline.pending_frames:
            self._cut(self.timeline.take(), ChunkEndReason.SESSION_ENDED)
        self.manifest.phase = RecordingPhase.FINISHED
        self.manifest.session_end_reason = reason
        if self.manifest.pauses and self.manifest.pauses[-1].wall_end is None:
            last = self.manifest.pauses[-1]
            self.manifest.pauses[-1] = msgspec.structs.replace(last, wall_end=self._wall())
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._jobs.put_nowait(_ManifestJob(done))
        if self.leg is not None:
            self.leg.close()
        return done

    # ── storage (the writer task) ────────────────────────────────────────────────────

    async def write_forever(self) -> None:
        """Store what the recorder queued, in order; ends after the FINISHED manifest."""
        while True:
            job = await self._jobs.get()
            try:
                if isinstance(job, _ChunkJob):
                    await self._write_chunk(job)
                else:
                    self.manifest.channels = dict(self.timeline.channel_by_raw_id)
                    data = _encode_manifest(self.manifest)
                    await self._blobs.put(manifest_key(self.manifest.recording_id), data)
            except Exception:
                log.exception("recording %s: storing failed", self.manifest.recording_id)
                if isinstance(job, _ManifestJob) and job.done is not None:
                    job.done.set_result(None)
                    return
                continue
            if isinstance(job, _ManifestJob) and job.done is not None:
                job.done.set_result(None)
                return

    async def _write_chunk(self, job: _ChunkJob) -> None:
        manifest = self.manifest
        index = len(manifest.chunks)
        extension = _EXTENSIONS[manifest.options.format]
        content_key, metadata_key = chunk_keys(manifest.recording_id, index, extension)
        content = await asyncio.to_thread(_encode, manifest.options.format, job.pcm, job.video)
        duration_ms = len(job.pcm) * 1000 // SAMPLE_RATE
        start_ms = manifest.recorded_ms
        chunk = Chunk(
            index,
            document_id(manifest.recording_id, index),
            content_key,
            metadata_key,
            start_ms,
            duration_ms,
            job.reason,
        )
        metadata = {
            "resourceId": manifest.recording_id,
            "callId": manifest.server_call_id,
            "chunkDocumentId": chunk.document_id,
            "chunkIndex": index,
            "chunkStartTime": manifest.started,
            "chunkDuration": duration_ms,
            "recordingInfo": {
                "contentType": manifest.options.content.value,
                "channelType": manifest.options.channel.value,
                "format": manifest.options.format.value,
                "audioConfiguration": {
                    "sampleRate": SAMPLE_RATE,
                    "bitRate": SAMPLE_RATE * 16,
                    "channels": int(job.pcm.shape[1]),
                },
            },
            "participants": [
                {"participantId": raw_id, "channel": channel}
                for raw_id, channel in sorted(self.timeline.channel_by_raw_id.items())
            ],
            "pauses": [msgspec.to_builtins(p) for p in manifest.pauses],
        }
        await self._blobs.put(content_key, content)
        await self._blobs.put(metadata_key, msgspec.json.encode(metadata))
        manifest.chunks.append(chunk)
        manifest.recorded_ms = start_ms + duration_ms
        manifest.channels = dict(self.timeline.channel_by_raw_id)
        await self._blobs.put(manifest_key(manifest.recording_id), _encode_manifest(manifest))

    def _cut(self, pcm: Pcm, reason: ChunkEndReason) -> None:
        frames, self._frames = self._frames, []
        self._video_clock_ms = 0
        self._jobs.put_nowait(_ChunkJob(pcm, frames, reason))

    def _video_packet(self, packet: RtpPayload) -> None:
        """VP8 is decoded to be re-encoded as H.264 (MP4 cannot hold VP8 here); one frame per
        marker bit (the last packet of a frame), the payload descriptors stripped."""
        if packet.payload_type != VP8_PT:
            return
        if self._video_decoder is None:
            self._video_decoder = av.CodecContext.create("libvpx", "r")
        self._pending += _vp8_body(packet.payload)
        if not packet.marker:
            return
        data, self._pending = bytes(self._pending), bytearray()
        try:
            frames = self._video_decoder.decode(av.Packet(data))
        except av.error.FFmpegError:
            return
        for frame in frames:
            frame.pts = self._video_clock_ms
            frame.time_base = fractions.Fraction(1, 1000)
            self._frames.append(frame)


def _vp8_body(payload: bytes) -> bytes:
    """The VP8 bitstream of one RTP payload: its descriptor (RFC 7741 §4.2) skipped."""
    if not payload:
        return b""
    at = 1
    if payload[0] & 0x80 and len(payload) > 1:
        ext = payload[1]
        at = 2
        if ext & 0x80:  # I: picture id, 7 or 15 bits
            at += 2 if len(payload) > at and payload[at] & 0x80 else 1
        if ext & 0x40:  # L: TL0PICIDX
            at += 1
        if ext & 0x30:  # T or K
            at += 1
    return payload[at:]


def _encode(format_: RecordingFormat, pcm: Pcm, video: list[av.VideoFrame]) -> bytes:
    if format_ is RecordingFormat.MP3:
        return mp3_bytes(pcm)
    if format_ is RecordingFormat.MP4:
        return mp4_bytes(pcm, video)
    return wav_bytes(pcm)
