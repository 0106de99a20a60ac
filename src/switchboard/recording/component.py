"""RecordingComponent: call recording's running parts on one node, from what app.py picked.

RecordingComponent.start(RecordingParts) ─▶ RecordingService (blob store, the media node's
    recording legs, calling's conferences, automation's call connections and callbacks, the
    events outbox) ─▶ its start: recordings a crash left live are closed and announced
routes(authenticator, repeatability) ─▶ /calling/recordings…, /v1/objects/… (content)
stop() ─▶ live recordings finished (their last chunk stored) ─▶ tasks stopped
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.routing import BaseRoute

from switchboard.automation.ports import CallbackSink, UrlGuard
from switchboard.core.clock import Clock
from switchboard.http.auth import Authenticator
from switchboard.http.repeatability import Repeatability
from switchboard.recording.content_routes import content_routes
from switchboard.recording.documents import RecordingDocuments
from switchboard.recording.ports import (
    CallConnections,
    CallDirectory,
    FileEventPublisher,
    RecorderLegs,
)
from switchboard.recording.routes import recording_routes
from switchboard.recording.service import RecordingLinks, RecordingService
from switchboard.storage.blobs import BlobStore


@dataclass(frozen=True, slots=True)
class RecordingParts:
    blobs: BlobStore
    legs: RecorderLegs
    calls: CallDirectory
    connections: CallConnections
    callbacks: CallbackSink
    guard: UrlGuard
    events: FileEventPublisher
    links: RecordingLinks
    clock: Clock
    recorder_id: str  # stable across restarts of this node (its data dir): finds its leftovers
    chunk_seconds: float


class RecordingComponent:
    def __init__(self, service: RecordingService) -> None:
        self.service = service
        self.documents = RecordingDocuments(service)

    @classmethod
    async def start(cls, parts: RecordingParts) -> RecordingComponent:
        service = RecordingService(
            parts.blobs,
            parts.legs,
            parts.calls,
            parts.connections,
            parts.callbacks,
            parts.guard,
            parts.events,
            parts.links,
            parts.clock,
            node_id=parts.recorder_id,
            chunk_seconds=parts.chunk_seconds,
        )
        await service.start()
        return cls(service)

    def routes(self, authenticator: Authenticator, repeatability: Repeatability) -> list[BaseRoute]:
        return [
            *recording_routes(self.service, authenticator, repeatability),
            *content_routes(self.documents, authenticator),
        ]

    async def stop(self) -> None:
        await self.service.stop()
