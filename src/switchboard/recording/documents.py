"""RecordingDocuments: a recording's chunks as the locations of RecordingFileStatusUpdated
name them (``/v1/objects/{documentId}/content/media|acsmetadata``, delete: the document).

    documentId ─▶ (recording id, chunk index) ─▶ manifest ─▶ the chunk's blob keys
    read(document, part, start, end) ─▶ bytes of the content or its metadata (a range)
    delete(document) ─▶ both blobs gone, the manifest's chunk marked deleted ─▶ 404 after

A live recording's chunks can be read but not deleted (its recorder rewrites the manifest).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import msgspec

from switchboard.core.errors import ConflictError
from switchboard.recording.models import (
    Chunk,
    RecordingFormat,
    RecordingNotFoundError,
    parse_document_id,
)
from switchboard.recording.service import RecordingService
from switchboard.storage.blobs import BlobNotFoundError

_MEDIA_TYPES = {
    RecordingFormat.WAV: "audio/wav",
    RecordingFormat.MP3: "audio/mpeg",
    RecordingFormat.MP4: "video/mp4",
}


class DocumentPart(StrEnum):
    MEDIA = "media"
    METADATA = "acsmetadata"


@dataclass(frozen=True, slots=True)
class DocumentBytes:
    data: bytes
    start: int
    total: int  # the whole object's length
    media_type: str


class RecordingDocuments:
    def __init__(self, service: RecordingService) -> None:
        self._service = service

    async def read(
        self, document_id: str, part: DocumentPart, start: int = 0, end: int | None = None
    ) -> DocumentBytes:
        chunk, format_ = await self._chunk(document_id)
        key = chunk.content_key if part is DocumentPart.MEDIA else chunk.metadata_key
        blobs = self._service.blobs
        try:
            total = await blobs.size(key)
            data = await blobs.get(key, start, end)
        except BlobNotFoundError:
            raise _not_found(document_id) from None
        media_type = _MEDIA_TYPES[format_] if part is DocumentPart.MEDIA else "application/json"
        return DocumentBytes(data, start, total, media_type)

    async def delete(self, document_id: str) -> None:
        recording_id, index = parse_document_id(document_id)
        manifest = await self._service.read_manifest(recording_id)
        if manifest.phase.live:
            raise ConflictError(f"Recording {recording_id} is still running; stop it first.")
        if index >= len(manifest.chunks) or manifest.chunks[index].deleted:
            raise _not_found(document_id)
        chunk = manifest.chunks[index]
        await self._service.blobs.delete(chunk.content_key)
        await self._service.blobs.delete(chunk.metadata_key)
        manifest.chunks[index] = msgspec.structs.replace(chunk, deleted=True)
        await self._service.save_manifest(manifest)

    async def _chunk(self, document_id: str) -> tuple[Chunk, RecordingFormat]:
        recording_id, index = parse_document_id(document_id)
        manifest = await self._service.get(recording_id)
        if index >= len(manifest.chunks) or manifest.chunks[index].deleted:
            raise _not_found(document_id)
        return manifest.chunks[index], manifest.options.format


def _not_found(document_id: str) -> RecordingNotFoundError:
    return RecordingNotFoundError(f"No recording document {document_id}.")
