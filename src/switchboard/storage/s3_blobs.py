"""S3BlobStore: the BlobStore on S3-compatible object storage, for nodes that share storage.

Plain HTTP with AWS Signature Version 4 (path-style URLs: ``{endpoint}/{bucket}/{key}``), so
it needs no AWS SDK: PUT (durable when S3 answers 200), GET with ``Range``, HEAD, DELETE and
ListObjectsV2. The bucket is created at start if missing. Tested against moto's server mode
(tests/contract/test_blob_store_contract.py).

    request ─▶ canonical request (method, path, query, signed headers, payload SHA-256)
        ─▶ string to sign (AWS4-HMAC-SHA256, time, scope) ─▶ HMAC chain (date, region, s3,
        aws4_request) ─▶ Authorization header
"""

from __future__ import annotations

import hashlib
import hmac
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote, urlsplit

import httpx

from switchboard.storage.blobs import BlobNotFoundError, BlobRangeError, check_key

_EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
_S3_NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"


class S3Error(Exception):
    """The object store answered something unexpected (not a client's fault)."""


@dataclass(frozen=True, slots=True)
class S3Settings:
    endpoint: str  # e.g. https://s3.example.internal or http://127.0.0.1:9000
    bucket: str
    region: str
    access_key: str
    secret_key: str


class S3BlobStore:
    def __init__(self, settings: S3Settings, *, client: httpx.AsyncClient | None = None) -> None:
        self._settings = settings
        self._base = settings.endpoint.rstrip("/")
        self._host = urlsplit(self._base).netloc
        self._client = client or httpx.AsyncClient(timeout=30.0)

    async def start(self) -> None:
        """Create the bucket if it is not there."""
        response = await self._send("HEAD", "")
        if response.status_code == 404:
            created = await self._send("PUT", "")
            if created.status_code not in (200, 409):
                raise S3Error(f"creating bucket {self._settings.bucket}: {created.status_code}")

    async def close(self) -> None:
        await self._client.aclose()

    async def put(self, key: str, data: bytes) -> None:
        response = await self._send("PUT", check_key(key), body=data)
        if response.status_code != 200:
            raise S3Error(f"PUT {key}: {response.status_code}")

    async def get(self, key: str, start: int = 0, end: int | None = None) -> bytes:
        headers = {}
        if start or end is not None:
            headers["range"] = f"bytes={start}-{'' if end is None else end}"
        response = await self._send("GET", check_key(key), headers=headers)
        if response.status_code == 404:
            raise BlobNotFoundError(f"{key} not found.")
        if response.status_code == 416:
            raise BlobRangeError(f"The range starts past the end of {key}.")
        if response.status_code not in (200, 206):
            raise S3Error(f"GET {key}: {response.status_code}")
        return response.content

    async def size(self, key: str) -> int:
        response = await self._send("HEAD", check_key(key))
        if response.status_code == 404:
            raise BlobNotFoundError(f"{key} not found.")
        if response.status_code != 200:
            raise S3Error(f"HEAD {key}: {response.status_code}")
        return int(response.headers.get("content-length", "0"))

    async def delete(self, key: str) -> bool:
        check_key(key)
        try:
            await self.size(key)
        except BlobNotFoundError:
            return False
        response = await self._send("DELETE", key)
        if response.status_code not in (200, 204):
            raise S3Error(f"DELETE {key}: {response.status_code}")
        return True

    async def list_keys(self, prefix: str) -> list[str]:
        keys: list[str] = []
        token: str | None = None
        while True:
            query = {"list-type": "2", "prefix": prefix}
            if token:
                query["continuation-token"] = token
            response = await self._send("GET", "", query=query)
            if response.status_code != 200:
                raise S3Error(f"LIST {prefix}: {response.status_code}")
            root = ElementTree.fromstring(response.content)
            keys += [e.text or "" for e in root.iter(f"{_S3_NS}Key")]
            truncated = root.findtext(f"{_S3_NS}IsTruncated") == "true"
            token = root.findtext(f"{_S3_NS}NextContinuationToken")
            if not truncated or not token:
                return sorted(keys)

    async def _send(
        self,
        method: str,
        key: str,
        *,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
        query: dict[str, str] | None = None,
    ) -> httpx.Response:
        path = f"/{self._settings.bucket}" + (f"/{quote(key, safe='/-_.~')}" if key else "")
        canonical_query = "&".join(
            f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}"
            for k, v in sorted((query or {}).items())
        )
        signed = self._sign(method, path, canonical_query, body, headers or {})
        url = self._base + path + (f"?{canonical_query}" if canonical_query else "")
        return await self._client.request(method, url, content=body or None, headers=signed)

    def _sign(
        self, method: str, path: str, query: str, body: bytes, extra: dict[str, str]
    ) -> dict[str, str]:
        now = datetime.now(UTC)
        stamp, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
        payload = hashlib.sha256(body).hexdigest() if body else _EMPTY_SHA256
        headers = {
            "host": self._host,
            "x-amz-content-sha256": payload,
            "x-amz-date": stamp,
            **{k.lower(): v for k, v in extra.items()},
        }
        names = sorted(headers)
        canonical = "\n".join(
            [
                method,
                path,
                query,
                *(f"{n}:{headers[n].strip()}" for n in names),
                "",
                ";".join(names),
                payload,
            ]
        )
        scope = f"{day}/{self._settings.region}/s3/aws4_request"
        to_sign = "\n".join(
            ["AWS4-HMAC-SHA256", stamp, scope, hashlib.sha256(canonical.encode()).hexdigest()]
        )
        key = f"AWS4{self._settings.secret_key}".encode()
        for part in (day, self._settings.region, "s3", "aws4_request"):
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        headers["authorization"] = (
            f"AWS4-HMAC-SHA256 Credential={self._settings.access_key}/{scope}, "
            f"SignedHeaders={';'.join(names)}, Signature={signature}"
        )
        del headers["host"]  # httpx writes it (the same value)
        return headers
