"""The BlobStore contract (recording chunks), proved on files under a directory and on
S3-compatible storage (moto's server mode on 127.0.0.1, spoken to over SigV4)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from moto.server import ThreadedMotoServer

from switchboard.storage.blobs import (
    BlobNotFoundError,
    BlobRangeError,
    BlobStore,
    FileBlobStore,
    InvalidBlobKeyError,
)
from switchboard.storage.s3_blobs import S3BlobStore, S3Settings
from tests.integration.calling_clients import closed_port

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    port = closed_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture(params=["file", "s3"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[BlobStore]:
    if request.param == "file":
        yield FileBlobStore(tmp_path / "blobs")
        return
    endpoint: str = request.getfixturevalue("s3_endpoint")
    settings = S3Settings(endpoint, f"b{uuid.uuid4().hex[:12]}", "us-east-1", "key", "secret")
    s3 = S3BlobStore(settings)
    await s3.start()  # creates the bucket
    try:
        yield s3
    finally:
        await s3.close()


async def test_put_then_get_returns_the_bytes_and_their_size(store: BlobStore) -> None:
    data = bytes(range(256)) * 40
    await store.put("recordings/abc/00000.wav", data)
    assert await store.get("recordings/abc/00000.wav") == data
    assert await store.size("recordings/abc/00000.wav") == len(data)


async def test_a_put_replaces_the_object_whole(store: BlobStore) -> None:
    await store.put("a/manifest.json", b"first version, longer")
    await store.put("a/manifest.json", b"second")
    assert await store.get("a/manifest.json") == b"second"


async def test_ranges_are_inclusive_and_clipped_at_the_end(store: BlobStore) -> None:
    data = b"0123456789"
    await store.put("r/x.bin", data)
    assert await store.get("r/x.bin", 2, 5) == b"2345"
    assert await store.get("r/x.bin", 7) == b"789"
    assert await store.get("r/x.bin", 8, 100) == b"89"
    with pytest.raises(BlobRangeError):
        await store.get("r/x.bin", 10)


async def test_a_missing_object_is_not_found(store: BlobStore) -> None:
    with pytest.raises(BlobNotFoundError):
        await store.get("no/such.wav")
    with pytest.raises(BlobNotFoundError):
        await store.size("no/such.wav")
    assert await store.delete("no/such.wav") is False


async def test_delete_removes_it(store: BlobStore) -> None:
    await store.put("d/one.wav", b"x")
    assert await store.delete("d/one.wav") is True
    with pytest.raises(BlobNotFoundError):
        await store.get("d/one.wav")


async def test_list_keys_by_prefix_sorted(store: BlobStore) -> None:
    for key in ("p/2/b", "p/1/a", "q/1/a", "p/1/c"):
        await store.put(key, b".")
    assert await store.list_keys("p/") == ["p/1/a", "p/1/c", "p/2/b"]
    assert await store.list_keys("p/1/") == ["p/1/a", "p/1/c"]
    assert await store.list_keys("none/") == []


@pytest.mark.parametrize("key", ["../escape", "/absolute", "a//b", "a/../b", "", "sp ace"])
async def test_keys_that_could_escape_or_confuse_are_refused(store: BlobStore, key: str) -> None:
    with pytest.raises(InvalidBlobKeyError):
        await store.put(key, b"x")
