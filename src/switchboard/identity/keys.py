"""Token signing keys: ES256 (P-256) key pairs that rotate, stored in the database.

    newest key ──signs──▶ new tokens
    every key whose verify_until is in the future (or unset) ──verifies──▶ tokens

When a key is superseded its ``verify_until`` becomes now + the longest token lifetime, so
tokens it signed stay valid until they expire. Keys live in the database so every node signs
and verifies with the same set; a node that meets an unknown ``kid`` reloads (at most once a
second, so random kids cannot hammer the database).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import uuid
from dataclasses import dataclass
from typing import Any, Protocol

import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from switchboard.core.clock import Clock
from switchboard.storage.database import Database, metadata

log = logging.getLogger(__name__)

ALGORITHM = "ES256"

signing_keys = sa.Table(
    "signing_keys",
    metadata,
    sa.Column("kid", sa.String(64), primary_key=True),
    sa.Column("algorithm", sa.String(16), nullable=False),
    sa.Column("private_pem", sa.Text, nullable=False),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    sa.Column("verify_until_ms", sa.BigInteger, nullable=True),
)


@dataclass(frozen=True, slots=True)
class SigningKey:
    kid: str
    private_key: ec.EllipticCurvePrivateKey
    created_ms: int
    verify_until_ms: int | None

    @property
    def public_key(self) -> ec.EllipticCurvePublicKey:
        return self.private_key.public_key()


class SigningKeyStore(Protocol):
    async def load_all(self) -> list[SigningKey]: ...

    async def add(self, key: SigningKey, *, supersede_until_ms: int) -> None:
        """Store a new key and set ``verify_until`` on the keys it supersedes."""
        ...


class SqlSigningKeyStore:
    def __init__(self, database: Database) -> None:
        self._db = database

    async def load_all(self) -> list[SigningKey]:
        async with self._db.read() as conn:
            rows = (await conn.execute(sa.select(signing_keys))).all()
        keys = []
        for row in rows:
            private = serialization.load_pem_private_key(row.private_pem.encode(), password=None)
            if not isinstance(private, ec.EllipticCurvePrivateKey):
                raise TypeError(f"signing key {row.kid} is not an EC key")
            keys.append(SigningKey(row.kid, private, row.created_ms, row.verify_until_ms))
        return sorted(keys, key=lambda k: k.created_ms)

    async def add(self, key: SigningKey, *, supersede_until_ms: int) -> None:
        pem = key.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        async with self._db.write() as conn:
            await conn.execute(
                signing_keys.update()
                .where(signing_keys.c.verify_until_ms.is_(None))
                .values(verify_until_ms=supersede_until_ms)
            )
            await conn.execute(
                signing_keys.insert().values(
                    kid=key.kid,
                    algorithm=ALGORITHM,
                    private_pem=pem,
                    created_ms=key.created_ms,
                    verify_until_ms=None,
                )
            )


class SigningKeyRing:
    def __init__(
        self,
        store: SigningKeyStore,
        *,
        clock: Clock,
        rotation_seconds: float,
        max_token_seconds: float,
    ) -> None:
        self._store = store
        self._clock = clock
        self._rotation_seconds = rotation_seconds
        self._grace_ms = int((max_token_seconds + 300) * 1000)  # 5 min slack for clock skew
        self._keys: dict[str, SigningKey] = {}
        self._current: SigningKey | None = None
        self._loaded_at = float("-inf")
        self._lock = asyncio.Lock()

    @property
    def current(self) -> SigningKey:
        if self._current is None:
            raise RuntimeError("SigningKeyRing.load() has not run")
        return self._current

    async def load(self) -> None:
        """Load every key; create the first one, or rotate when the newest is too old."""
        keys = await self._store.load_all()
        now = self._clock.now()
        if not keys or now - keys[-1].created_ms / 1000 >= self._rotation_seconds:
            await self.rotate()
            return
        self._install(keys)

    async def rotate(self) -> SigningKey:
        now_ms = int(self._clock.now() * 1000)
        key = SigningKey(uuid.uuid4().hex, ec.generate_private_key(ec.SECP256R1()), now_ms, None)
        await self._store.add(key, supersede_until_ms=now_ms + self._grace_ms)
        self._install(await self._store.load_all())
        log.info("token signing key rotated; new kid %s", key.kid)
        return key

    def verification_key(self, kid: str) -> ec.EllipticCurvePublicKey | None:
        key = self._keys.get(kid)
        if key is None:
            return None
        if key.verify_until_ms is not None and key.verify_until_ms < self._clock.now() * 1000:
            return None
        return key.public_key

    async def reload_for_unknown_kid(self) -> None:
        async with self._lock:
            if self._clock.now() - self._loaded_at >= 1.0:
                self._install(await self._store.load_all())

    def jwks(self) -> dict[str, Any]:
        now_ms = self._clock.now() * 1000
        keys = []
        for key in self._keys.values():
            if key.verify_until_ms is not None and key.verify_until_ms < now_ms:
                continue
            numbers = key.public_key.public_numbers()
            keys.append(
                {
                    "kty": "EC",
                    "crv": "P-256",
                    "use": "sig",
                    "alg": ALGORITHM,
                    "kid": key.kid,
                    "x": _b64url(numbers.x.to_bytes(32, "big")),
                    "y": _b64url(numbers.y.to_bytes(32, "big")),
                }
            )
        return {"keys": keys}

    def _install(self, keys: list[SigningKey]) -> None:
        self._keys = {key.kid: key for key in keys}
        self._current = keys[-1]
        self._loaded_at = self._clock.now()


def thumbprint(key: SigningKey) -> str:
    """``x5t``-style SHA-1 thumbprint of the public key, as real ACS token headers carry."""
    der = key.public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return _b64url(hashlib.sha1(der, usedforsecurity=False).digest())


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
