"""RecordingService: start, get, pause, resume and stop recordings of calls running here.

    start(target, options) ─▶ the call (a call connection's, or a locator's) runs here?
        ─▶ Manifest (stored) ─▶ Recorder + its writer task ─▶ RecordingLeg on the SFU
        ─▶ RecordingStateChanged (active, or inactive with pauseOnStart)
    pause / resume ─▶ recorder ─▶ RecordingStateChanged
    stop, or the call ends (the leg closes) ─▶ recorder.finish ─▶ last chunk, manifest
        ─▶ RecordingStateChanged inactive ─▶ RecordingFileStatusUpdated (events outbox)
    start() after a restart ─▶ manifests this node left live ─▶ INTERRUPTED, the chunks
        written before the crash announced with RecordingFileStatusUpdated

A recording runs on the node whose SFU hosts the call; requests for it that land elsewhere
find its manifest in the shared blob store (GET works anywhere) but cannot control it yet
(docs/recording.md, "Several nodes").
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import msgspec

from switchboard.automation.ports import CallbackData, CallbackSink, UrlGuard
from switchboard.core.clock import Clock
from switchboard.core.errors import NotFoundError
from switchboard.core.tasks import TaskScope
from switchboard.media.endpoint.ticker import EndpointTicker
from switchboard.recording.events import file_status_updated, state_changed
from switchboard.recording.models import (
    Manifest,
    RecordingEndedError,
    RecordingNotFoundError,
    RecordingOptions,
    RecordingPhase,
    SessionEndReason,
    manifest_key,
)
from switchboard.recording.ports import (
    CallConnections,
    CallDirectory,
    FileEventPublisher,
    RecorderLegs,
)
from switchboard.recording.recorder import Recorder
from switchboard.storage.blobs import BlobNotFoundError, BlobStore

log = logging.getLogger(__name__)

STOP_TIMEOUT_SECONDS = 10.0
_manifest = msgspec.json.Decoder(Manifest)
_encode = msgspec.json.Encoder().encode


class CallNotRecordableError(NotFoundError):
    code = "CallNotFound"


@dataclass(frozen=True, slots=True)
class RecordingTarget:
    """What to record: a call connection, or a call by its SFU id (server:, group:, room:)."""

    call_connection_id: str | None = None
    call_id: str | None = None


@dataclass(frozen=True, slots=True)
class RecordingLinks:
    """How the file event names a chunk's locations (the recording host; content_routes)."""

    location: Callable[[str], str]  # document id → https://<recording host>/v1/objects/<id>


class RecordingService:
    def __init__(
        self,
        blobs: BlobStore,
        legs: RecorderLegs,
        calls: CallDirectory,
        connections: CallConnections,
        callbacks: CallbackSink,
        guard: UrlGuard,
        events: FileEventPublisher,
        links: RecordingLinks,
        clock: Clock,
        *,
        node_id: str,
        chunk_seconds: float,
    ) -> None:
        self.blobs = blobs
        self._legs = legs
        self._calls = calls
        self._connections = connections
        self._callbacks = callbacks
        self._guard = guard
        self._events = events
        self._links = links
        self._clock = clock
        self._node = node_id
        self._chunk_seconds = chunk_seconds
        self._live: dict[str, Recorder] = {}
        self._announcing: set[asyncio.Future[None]] = set()  # until each end is announced
        self._ticker = EndpointTicker()
        self._scope = TaskScope("recordings")

    async def start(self) -> None:
        await self._ticker.start()
        await self._scope.start()
        await self._recover()

    async def stop(self) -> None:
        """Finish what records here (its chunks stored), then stop the tasks."""
        for recorder in list(self._live.values()):
            recorder.finish(SessionEndReason.NODE_STOPPED)
        if self._announcing:  # stored, then called back and announced (bounded: storage hangs)
            await asyncio.wait(set(self._announcing), timeout=STOP_TIMEOUT_SECONDS)
        await self._ticker.stop()
        await self._scope.stop()

    @property
    def late_ticks(self) -> int:
        """Recorder ticks run late (a saturated core), for benchmarks and metrics."""
        return self._ticker.late_ticks

    # --- requests -------------------------------------------------------------------------

    async def start_recording(self, target: RecordingTarget, options: RecordingOptions) -> Manifest:
        options.check()
        if options.state_callback_uri:
            await self._guard.check_callback_uri(options.state_callback_uri)
        if target.call_connection_id is not None:
            call = await self._connections.call_of(target.call_connection_id)
            call_id, connection, correlation = (
                call.call_id,
                call.call_connection_id,
                call.correlation_id,
            )
        else:
            call_id, connection, correlation = target.call_id or "", None, str(uuid.uuid4())
        if not self._calls.runs_here(call_id):
            raise CallNotRecordableError(f"No call {call_id} is running to be recorded.")
        recording_id = uuid.uuid4().hex
        paused = options.pause_on_start
        manifest = Manifest(
            recording_id=recording_id,
            call_id=call_id,
            server_call_id=call_id,
            call_connection_id=connection,
            correlation_id=correlation,
            options=options,
            node_id=self._node,
            started=self._clock.now(),
            phase=RecordingPhase.PAUSED if paused else RecordingPhase.RECORDING,
        )
        recorder = Recorder(
            manifest,
            self.blobs,
            lambda participant: self._calls.raw_id(call_id, participant),
            chunk_seconds=self._chunk_seconds,
            wall_clock=self._clock.now,
        )
        await self.blobs.put(manifest_key(recording_id), _encode(manifest))
        leg = await self._legs.add_recording_leg(
            call_id,
            f"recorder-{recording_id[:12]}",
            recorder.on_packet,
            video=options.format.value == "mp4",
        )
        recorder.leg = leg
        self._live[recording_id] = recorder
        announced: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._announcing.add(announced)
        self._scope.spawn(self._run(recorder, announced), name=f"recording {recording_id}")
        self._ticker.add(recorder)
        leg.when_closed(lambda _: self._call_ended(recorder))
        await self._notify(manifest)
        return manifest

    async def get(self, recording_id: str) -> Manifest:
        recorder = self._live.get(recording_id)
        if recorder is not None:
            return recorder.manifest
        return await self.read_manifest(recording_id)

    async def pause(self, recording_id: str) -> None:
        recorder = self._running(recording_id)
        if recorder.pause():
            await self._notify(recorder.manifest)

    async def resume(self, recording_id: str) -> None:
        recorder = self._running(recording_id)
        if recorder.resume():
            await self._notify(recorder.manifest)

    async def stop_recording(self, recording_id: str) -> None:
        recorder = self._live.get(recording_id)
        if recorder is None:
            await self.read_manifest(recording_id)  # 404 if unknown
            return  # over already: stopping again is harmless
        done = recorder.finish(SessionEndReason.STOPPED)
        if done is not None:
            await done

    async def read_manifest(self, recording_id: str) -> Manifest:
        if not recording_id.isalnum():
            raise RecordingNotFoundError(f"Recording {recording_id} not found.")
        try:
            return _manifest.decode(await self.blobs.get(manifest_key(recording_id)))
        except BlobNotFoundError:
            raise RecordingNotFoundError(f"Recording {recording_id} not found.") from None

    async def save_manifest(self, manifest: Manifest) -> None:
        await self.blobs.put(manifest_key(manifest.recording_id), _encode(manifest))

    # --- inside ---------------------------------------------------------------------------

    def _running(self, recording_id: str) -> Recorder:
        recorder = self._live.get(recording_id)
        if recorder is None:
            raise RecordingEndedError(
                f"Recording {recording_id} is not running on this node (it ended, or another "
                "node records it)."
            )
        return recorder

    def _call_ended(self, recorder: Recorder) -> None:
        recorder.finish(SessionEndReason.CALL_ENDED)

    async def _run(self, recorder: Recorder, announced: asyncio.Future[None]) -> None:
        manifest = recorder.manifest
        try:
            try:
                await recorder.write_forever()
            finally:
                self._ticker.remove(recorder)
                self._live.pop(manifest.recording_id, None)
            await self._notify(manifest)
            await self._events.publish(
                file_status_updated(manifest, self._links.location, self._clock.now())
            )
        except Exception:
            log.exception("recording %s: announcing its end failed", manifest.recording_id)
        finally:
            self._announcing.discard(announced)
            if not announced.done():
                announced.set_result(None)

    async def _notify(self, manifest: Manifest) -> None:
        """RecordingStateChanged to recordingStateCallbackUri (if the app gave one)."""
        url = manifest.options.state_callback_uri
        if not url:
            return
        event = state_changed(manifest)
        data = CallbackData(
            type="RecordingStateChanged",
            call_connection_id=manifest.call_connection_id or "",
            server_call_id=manifest.server_call_id,
            correlation_id=manifest.correlation_id,
            operation_context=None,
            result=None,
            data=event,
        )
        key = manifest.call_connection_id or f"recording-{manifest.recording_id}"
        await self._callbacks.enqueue(key, url, [data])

    async def _recover(self) -> None:
        """Recordings this node left live when it stopped without finishing them."""
        keys = await self.blobs.list_keys("recordings/")
        for key in keys:
            if not key.endswith("/manifest.json"):
                continue
            try:
                manifest = _manifest.decode(await self.blobs.get(key))
            except (BlobNotFoundError, msgspec.DecodeError, msgspec.ValidationError):
                continue
            if manifest.node_id != self._node or not manifest.phase.live:
                continue
            manifest.phase = RecordingPhase.INTERRUPTED
            manifest.session_end_reason = SessionEndReason.NODE_STOPPED
            await self.save_manifest(manifest)
            log.warning(
                "recording %s: its node stopped mid-recording; %d chunks kept",
                manifest.recording_id,
                len(manifest.chunks),
            )
            await self._events.publish(
                file_status_updated(manifest, self._links.location, self._clock.now())
            )
