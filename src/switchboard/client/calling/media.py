"""Media for the Python calling client, on aiortc: a tone to send, a probe for what arrives.

``ToneTrack`` generates a sine (mono, 48 kHz, 20 ms frames), so the other side can check it
hears *this* tone. ``AudioProbe`` reads a received track and counts decoded frames, loud
frames and the frequency (zero crossings), without numpy. ``CallMedia`` is one
RTCPeerConnection with the server's ICE servers (never aiortc's default public STUN).
"""

from __future__ import annotations

import array
import asyncio
import contextlib
import fractions
import itertools
import logging
import math
import time
from collections.abc import Sequence

from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCRtpSender,
    RTCSessionDescription,
    VideoStreamTrack,
)
from aiortc.mediastreams import MediaStreamError
from aiortc.sdp import candidate_from_sdp
from av import AudioFrame
from av.frame import Frame

from switchboard.calling.signaling.protocol import Candidate, IceServer
from switchboard.client.calling.data_channel import DataLinks
from switchboard.client.calling.dtmf import (
    DtmfError,
    DtmfSender,
    DtmfTone,
    telephone_event_pt,
    with_telephone_event,
)

log = logging.getLogger(__name__)

SAMPLE_RATE = 48_000
FRAME_SAMPLES = 960  # 20 ms
LOUD_RMS = 500.0  # of 32767: well above Opus's comfort noise, well below our tone


class ToneTrack(MediaStreamTrack):
    """A sine at ``frequency`` Hz, paced in real time like a microphone."""

    kind = "audio"

    def __init__(self, frequency: float = 440.0, amplitude: int = 8000) -> None:
        super().__init__()
        self.frequency = frequency
        self.amplitude = amplitude  # may change while it plays (louder/quieter speaker)
        self._pts = 0
        self._start: float | None = None

    async def recv(self) -> Frame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.monotonic()
        else:
            wait = self._start + self._pts / SAMPLE_RATE - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
        step = 2 * math.pi * self.frequency / SAMPLE_RATE
        samples = array.array(
            "h",
            (int(self.amplitude * math.sin(step * (self._pts + i))) for i in range(FRAME_SAMPLES)),
        )
        frame = AudioFrame(format="s16", layout="mono", samples=FRAME_SAMPLES)
        frame.planes[0].update(samples.tobytes())
        frame.pts = self._pts
        frame.sample_rate = SAMPLE_RATE
        frame.time_base = fractions.Fraction(1, SAMPLE_RATE)
        self._pts += FRAME_SAMPLES
        return frame


class AudioProbe:
    """What a received audio track carried: frames decoded, loud ones, their frequency."""

    def __init__(self) -> None:
        self.frames = 0
        self.loud_frames = 0
        self._frequencies: list[float] = []
        self._task: asyncio.Task[None] | None = None
        self.changed = asyncio.Event()

    def attach(self, track: MediaStreamTrack) -> None:
        if self._task is not None:  # a newer track from the same participant replaces it
            self._task.cancel()
        self._task = asyncio.create_task(self._read(track), name="AudioProbe")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    @property
    def frequency(self) -> float | None:
        """Median frequency of the last loud frames, or None before any."""
        recent = sorted(self._frequencies[-50:])
        return recent[len(recent) // 2] if recent else None

    def measure(self, frame: AudioFrame) -> None:
        channels = max(len(frame.layout.channels), 1)
        # The plane's buffer is padded beyond the samples: take exactly the interleaved s16.
        raw = bytes(frame.planes[0])[: frame.samples * channels * 2]
        samples = array.array("h", raw)[::channels]
        self.frames += 1
        if not samples:
            return
        rms = math.sqrt(sum(s * s for s in samples) / len(samples))
        if rms >= LOUD_RMS:
            self.loud_frames += 1
            rising = [i for i, (a, b) in enumerate(itertools.pairwise(samples)) if a < 0 <= b]
            if len(rising) >= 2:  # periods between the first and last rising zero crossing
                periods = (rising[-1] - rising[0]) / (len(rising) - 1)
                self._frequencies.append(frame.sample_rate / periods)
        self.changed.set()

    async def _read(self, track: MediaStreamTrack) -> None:
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            if isinstance(frame, AudioFrame):
                self.measure(frame)


def ice_configuration(servers: Sequence[IceServer]) -> RTCConfiguration:
    """RTCIceServers from the server's list (an empty list means host candidates only)."""
    return RTCConfiguration(
        iceServers=[
            RTCIceServer(urls=list(s.urls), username=s.username, credential=s.credential)
            for s in servers
        ]
    )


def connect_tasks(pc: RTCPeerConnection) -> list[asyncio.Task[object]]:
    """aiortc starts ICE in a task of its own (``RTCPeerConnection.__connect``) that nobody
    awaits; closed under it, that task raises ``InvalidStateError`` and the loop reports an
    exception never retrieved. This connection's such tasks, taken *before* it closes (one that
    fails during the close is no longer among the running tasks afterwards)."""
    current = asyncio.current_task()
    return [
        task
        for task in asyncio.all_tasks()
        if task is not current
        and (frame := getattr(task.get_coro(), "cr_frame", None)) is not None
        and frame.f_locals.get("self") is pc
    ]


async def settle_connect_tasks(tasks: list[asyncio.Task[object]], within: float = 2.0) -> None:
    """Let them end, ignoring what they raise."""
    for task in tasks:
        # Retrieved whenever it ends, even after ``within`` (a loaded machine): never
        # reported as an exception nobody retrieved.
        task.add_done_callback(_retrieve)
    if tasks:
        await asyncio.wait(tasks, timeout=within)


def _retrieve(task: asyncio.Task[object]) -> None:
    if not task.cancelled():
        task.exception()


class CallMedia:
    """One peer connection: our tone (and optional video) out, probes on what comes in."""

    def __init__(self, ice_servers: Sequence[IceServer], *, video: bool, tone_hz: float) -> None:
        self.pc = RTCPeerConnection(ice_configuration(ice_servers))
        self.tone = ToneTrack(tone_hz)
        # Muted, a device still sends (silence), as browsers do: the stream stays alive, so
        # RFC 4733 key presses (which ride on it) still work while muted.
        self._silence = ToneTrack(tone_hz, amplitude=0)
        self.audio = AudioProbe()  # a two-party call's remote audio
        self.probes: dict[str, AudioProbe] = {}  # group call: audio per remote participant
        self.stream_owners: dict[str, str | None] = {}  # group call: mid → participant id
        self.remote_video_frames = 0
        self._video_track: VideoStreamTrack | None = VideoStreamTrack() if video else None
        self._audio_sender: RTCRtpSender | None = None
        self._video_sender: RTCRtpSender | None = None
        self._video_task: asyncio.Task[None] | None = None
        self._dtmf_pt: int | None = None  # telephone-event's PT, once the remote SDP gave it
        self._dtmf: DtmfSender | None = None
        self.pc.on("track", self._on_track)
        self.data = DataLinks(self.pc)  # before the first offer: it carries the data m-line

    def _add_tracks(self) -> None:
        if self._audio_sender is not None:  # a renegotiation: the tracks are in already
            return
        self._audio_sender = self.pc.addTrack(self.tone)
        if self._video_track is not None:
            self._video_sender = self.pc.addTrack(self._video_track)

    async def offer(self) -> dict[str, str]:
        self._add_tracks()
        await self.pc.setLocalDescription(await self.pc.createOffer())
        description = _description(self.pc)
        mid = self._audio_mid()
        if mid is not None:  # what the other side sees offers DTMF (see dtmf.py)
            description["sdp"] = with_telephone_event(description["sdp"], mid)
        return description

    async def answer(self, offer: dict[str, str]) -> dict[str, str]:
        await self.pc.setRemoteDescription(RTCSessionDescription(offer["sdp"], offer["type"]))
        self._add_tracks()
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        description = _description(self.pc)
        mid = self._audio_mid()
        pt = None if mid is None else telephone_event_pt(offer["sdp"], mid)
        if mid is not None and pt is not None:
            self._dtmf_pt = pt
            description["sdp"] = with_telephone_event(description["sdp"], mid, pt)
        return description

    async def remote_description(self, description: dict[str, str]) -> None:
        await self.pc.setRemoteDescription(
            RTCSessionDescription(description["sdp"], description["type"])
        )
        mid = self._audio_mid()
        if mid is not None:
            self._dtmf_pt = telephone_event_pt(description["sdp"], mid) or self._dtmf_pt

    def _audio_mid(self) -> str | None:
        for transceiver in self.pc.getTransceivers():
            if self._audio_sender is not None and transceiver.sender is self._audio_sender:
                return str(transceiver.mid) if transceiver.mid is not None else None
        return None

    async def send_dtmf(self, tones: list[DtmfTone]) -> None:
        """RFC 4733 events on our audio stream; DtmfError if none was negotiated."""
        sender = self._audio_sender
        if sender is None or self._dtmf_pt is None:
            raise DtmfError("the call negotiated no telephone-event")
        if self._dtmf is None:
            # aiortc's RTCRtpSender keeps its SSRC in ``_ssrc`` (no public accessor)
            self._dtmf = DtmfSender(sender._ssrc, self._dtmf_pt)
        self._dtmf.payload_type = self._dtmf_pt
        self._dtmf.attach(sender.transport)
        await self._dtmf.send(tones)

    async def add_candidate(self, candidate: Candidate) -> None:
        if not candidate.candidate:
            await self.pc.addIceCandidate(None)  # end of candidates
            return
        parsed = candidate_from_sdp(candidate.candidate.removeprefix("candidate:"))
        parsed.sdpMid = candidate.sdp_mid
        parsed.sdpMLineIndex = candidate.sdp_m_line_index
        await self.pc.addIceCandidate(parsed)

    def set_muted(self, muted: bool) -> None:
        if self._audio_sender is not None:
            self._audio_sender.replaceTrack(self._silence if muted else self.tone)

    def set_video(self, on: bool) -> None:
        if self._video_sender is not None:
            self._video_sender.replaceTrack(self._video_track if on else None)

    def _owner_of(self, track: MediaStreamTrack) -> str | None:
        for transceiver in self.pc.getTransceivers():
            if transceiver.receiver.track is track and transceiver.mid is not None:
                return self.stream_owners.get(transceiver.mid)
        return None

    async def close(self) -> None:
        await self.audio.stop()
        for probe in self.probes.values():
            await probe.stop()
        if self._video_task is not None:
            self._video_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._video_task
        connecting = connect_tasks(self.pc)
        await self.pc.close()
        await settle_connect_tasks(connecting)

    def probe(self, participant_id: str) -> AudioProbe:
        return self.probes.setdefault(participant_id, AudioProbe())

    def _on_track(self, track: MediaStreamTrack) -> None:
        owner = self._owner_of(track)
        if track.kind == "audio" and owner is not None:
            self.probe(owner).attach(track)
        elif track.kind == "audio":
            self.audio.attach(track)
        elif track.kind == "video" and self._video_task is None:
            self._video_task = asyncio.create_task(self._count_video(track))

    async def _count_video(self, track: MediaStreamTrack) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                await track.recv()
                self.remote_video_frames += 1


def _description(pc: RTCPeerConnection) -> dict[str, str]:
    local = pc.localDescription
    return {"type": local.type, "sdp": local.sdp}
