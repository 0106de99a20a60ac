"""BlobStore: named byte objects (recording chunks and their manifests), durable once ``put``
returns.

    put(key, data) ─▶ the object, whole, or (after a crash) the one before it: never half
    get(key, start, end) ─▶ bytes [start, end] (end inclusive, as HTTP ranges) · size(key)
    delete(key) · list_keys(prefix) ─▶ keys, sorted

Two implementations, one contract suite (tests/contract/test_blob_store_contract.py):
``FileBlobStore`` under the data dir (one node; written to a temporary file, fsynced, renamed,
the directory fsynced) and ``S3BlobStore`` (s3_blobs.py: S3-compatible object storage, for
nodes sharing storage). app.py picks one. Keys are ``/``-separated words of
``[A-Za-z0-9._-]``; anything else is refused (``InvalidBlobKeyError``), so a key never
escapes the store's directory.
"""

from __future__ import annotations

import asyncio
import os
import re
import uuid
from pathlib import Path
from typing import Protocol

from switchboard.core.errors import BadRequestError, NotFoundError

_KEY = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*(/[A-Za-z0-9_-][A-Za-z0-9._-]*)*")


class BlobNotFoundError(NotFoundError):
    code = "NotFound"


class InvalidBlobKeyError(BadRequestError):
    """Not a key a store accepts (a programming error, or a forged location)."""


class BlobRangeError(BadRequestError):
    """A range that starts past the end of the object (HTTP 416 at the edge)."""

    code = "InvalidRange"


def check_key(key: str) -> str:
    if len(key) > 512 or not _KEY.fullmatch(key):
        raise InvalidBlobKeyError(f"{key!r} is not a valid object name.")
    return key


class BlobStore(Protocol):
    async def put(self, key: str, data: bytes) -> None:
        """Store ``data`` under ``key`` (replacing it); durable when this returns."""
        ...

    async def get(self, key: str, start: int = 0, end: int | None = None) -> bytes:
        """Bytes ``start``…``end`` (inclusive; None: to the end). ``BlobNotFoundError`` if
        absent; ``BlobRangeError`` if ``start`` is past the end of a non-empty object."""
        ...

    async def size(self, key: str) -> int:
        """The object's length; ``BlobNotFoundError`` if absent."""
        ...

    async def delete(self, key: str) -> bool:
        """Remove it; False if it was not there."""
        ...

    async def list_keys(self, prefix: str) -> list[str]:
        """Keys that start with ``prefix``, sorted."""
        ...


class FileBlobStore:
    """Objects as files under ``root``; blocking file work runs in a worker thread."""

    def __init__(self, root: Path) -> None:
        self._root = root

    async def put(self, key: str, data: bytes) -> None:
        await asyncio.to_thread(self._put, check_key(key), data)

    async def get(self, key: str, start: int = 0, end: int | None = None) -> bytes:
        return await asyncio.to_thread(self._get, check_key(key), start, end)

    async def size(self, key: str) -> int:
        try:
            return (self._root / check_key(key)).stat().st_size
        except FileNotFoundError:
            raise BlobNotFoundError(f"{key} not found.") from None

    async def delete(self, key: str) -> bool:
        try:
            (self._root / check_key(key)).unlink()
        except FileNotFoundError:
            return False
        return True

    async def list_keys(self, prefix: str) -> list[str]:
        return await asyncio.to_thread(self._list_keys, prefix)

    def _put(self, key: str, data: bytes) -> None:
        path = self._root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
        with temporary.open("wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
        directory = os.open(path.parent, os.O_RDONLY)
        try:  # the rename itself survives a power cut only once its directory is synced
            os.fsync(directory)
        finally:
            os.close(directory)

    def _get(self, key: str, start: int, end: int | None) -> bytes:
        try:
            with (self._root / key).open("rb") as file:
                length = os.fstat(file.fileno()).st_size
                if start >= length > 0 or start < 0:
                    raise BlobRangeError(f"The range starts past the end of {key}.")
                file.seek(start)
                count = length - start if end is None else min(end, length - 1) - start + 1
                return file.read(max(0, count))
        except FileNotFoundError:
            raise BlobNotFoundError(f"{key} not found.") from None

    def _list_keys(self, prefix: str) -> list[str]:
        if not self._root.exists():
            return []
        found = []
        for path in self._root.rglob("*"):
            if path.is_file() and not path.name.startswith("."):
                key = path.relative_to(self._root).as_posix()
                if key.startswith(prefix):
                    found.append(key)
        return sorted(found)
