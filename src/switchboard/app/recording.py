"""The composition root's recording part: which concrete classes serve it.

blob store (S3BlobStore when recording_s3_endpoint is set, else FileBlobStore under the data
dir) ─▶ RecordingComponent (the media node's recording legs, calling's conferences, Call
Automation's connections, callbacks and URL guard, the events outbox) ─▶ routes
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from switchboard.app.automation import Automation
from switchboard.automation.adapters import CallbackUrlGuard, OutboxPublisher, QueuedCallbacks
from switchboard.calling.service import CallingService
from switchboard.core.clock import Clock
from switchboard.core.sections import NodeConfig
from switchboard.events.outbox import Outbox
from switchboard.media.node import MediaNode
from switchboard.recording.adapters import AutomationConnections, ConferenceDirectory
from switchboard.recording.component import RecordingComponent, RecordingParts
from switchboard.recording.service import RecordingLinks
from switchboard.storage.blobs import BlobStore, FileBlobStore
from switchboard.storage.database import Database
from switchboard.storage.s3_blobs import S3BlobStore, S3Settings


async def start_recording(
    stack: contextlib.AsyncExitStack,
    config: NodeConfig,
    *,
    port: int,
    database: Database,
    calling: CallingService,
    media: MediaNode,
    automation: Automation,
    outbox: Outbox,
    clock: Clock,
) -> RecordingComponent:
    settings = config.recording
    blobs: BlobStore
    if settings.s3_endpoint:
        s3 = S3BlobStore(
            S3Settings(
                settings.s3_endpoint,
                settings.s3_bucket,
                settings.s3_region,
                settings.s3_access_key or "",
                settings.s3_secret_key or "",
            )
        )
        await s3.start()
        stack.push_async_callback(s3.close)
        blobs = s3
    else:
        blobs = FileBlobStore(config.server.data_dir / "recordings")
    callbacks = automation.callbacks
    component = await RecordingComponent.start(
        RecordingParts(
            blobs=blobs,
            legs=media,
            calls=ConferenceDirectory(calling.conferences),
            connections=AutomationConnections(automation.component.service),
            callbacks=QueuedCallbacks(callbacks),
            guard=CallbackUrlGuard(callbacks.urls),
            events=OutboxPublisher(database, outbox),
            links=RecordingLinks(_locations(config, port)),
            clock=clock,
            recorder_id=_recorder_id(config.server.data_dir),
            chunk_seconds=settings.chunk_seconds,
        )
    )
    stack.push_async_callback(component.stop)
    return component


def _locations(config: NodeConfig, port: int) -> Callable[[str], str]:
    host = config.server.recording_host
    base = config.server.endpoint(port).rstrip("/")
    if host:  # the scheme and port clients reach (a proxy's, with public_url)
        scheme = urlsplit(base).scheme
        base = f"{scheme}://{host}:{config.server.public_port(port)}"

    def location(document_id: str) -> str:
        return f"{base}/v1/objects/{document_id}"

    return location


def _recorder_id(data_dir: Path) -> str:
    """This node's recordings are found again after a crash by an id kept in its data dir."""
    path = data_dir / "recorder-id"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        data_dir.mkdir(parents=True, exist_ok=True)
        value = uuid.uuid4().hex[:12]
        path.write_text(value)
        return value
