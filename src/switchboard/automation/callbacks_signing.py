"""The bearer tokens on callback requests, and the OpenID metadata apps verify them against.

    node start ─▶ secrets "automation_callback_key" (RSA 2048 PEM; generated once per
                  deployment, shared by every node through the database)
    every POST ─▶ Authorization: Bearer <RS256 JWT {iss, aud, iat, nbf, exp = iat + 5 min, jti}>
    app ─▶ GET <issuer>/calling/.well-known/acsopenidconfiguration ─▶ jwks_uri
        ─▶ GET <issuer>/calling/keys ─▶ {"keys": [RSA public JWK, kid = RFC 7638 thumbprint]}

As ACS: ``aud`` is the resource id (ACS's "immutable resource id"; ours is the ``resource_id``
secret, the same id identity tokens carry), a fresh token per request, five minutes of life.
Unlike ACS, ``iss`` is this deployment's own endpoint, not
``https://acscallautomation.communication.azure.com``: the token is ours, and an app moving
from ACS changes that one URL for both the issuer and the metadata (docs/automation-callbacks.md).
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from collections.abc import Callable
from typing import Any, Protocol

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from switchboard.core.clock import Clock
from switchboard.storage.secrets import AUTOMATION_CALLBACK_KEY

ALGORITHM = "RS256"
TOKEN_SECONDS = 300
OPENID_PATH = "/calling/.well-known/acsopenidconfiguration"
JWKS_PATH = "/calling/keys"  # ACS's path for its callback keys


class KeySecrets(Protocol):
    """Where the key lives: the resource secrets (storage.secrets.SqlSecretStore)."""

    async def get_or_create(self, name: str, generate: Callable[[], str] | None = None) -> str: ...


def new_private_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


class CallbackSigner:
    def __init__(self, private_pem: str, *, issuer: str, audience: str, clock: Clock) -> None:
        key = serialization.load_pem_private_key(private_pem.encode(), password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise TypeError("the automation callback key is not an RSA key")
        self._key = key
        self.issuer = issuer.rstrip("/")
        self.audience = audience
        self._clock = clock
        self._public_jwk = _public_jwk(key.public_key())
        self.kid = self._public_jwk["kid"]

    @classmethod
    async def load(
        cls, secrets: KeySecrets, *, issuer: str, audience: str, clock: Clock
    ) -> CallbackSigner:
        pem = await secrets.get_or_create(AUTOMATION_CALLBACK_KEY, new_private_pem)
        return cls(pem, issuer=issuer, audience=audience, clock=clock)

    def token(self) -> str:
        now = int(self._clock.now())
        claims = {
            "iss": self.issuer,
            "aud": self.audience,
            "iat": now,
            "nbf": now,
            "exp": now + TOKEN_SECONDS,
            "jti": str(uuid.uuid4()),
        }
        return jwt.encode(claims, self._key, algorithm=ALGORITHM, headers={"kid": self.kid})

    def jwks(self) -> dict[str, Any]:
        return {"keys": [dict(self._public_jwk)]}

    def openid_configuration(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "jwks_uri": self.issuer + JWKS_PATH,
            "id_token_signing_alg_values_supported": [ALGORITHM],
            "token_endpoint_auth_signing_alg_values_supported": [ALGORITHM],
            "response_types_supported": ["id_token"],
            "subject_types_supported": ["public"],
        }


def _public_jwk(public: rsa.RSAPublicKey) -> dict[str, str]:
    numbers = public.public_numbers()
    n, e = _b64_uint(numbers.n), _b64_uint(numbers.e)
    # RFC 7638: the SHA-256 of the required members, sorted, no whitespace.
    canonical = json.dumps({"e": e, "kty": "RSA", "n": n}, separators=(",", ":"), sort_keys=True)
    kid = _b64(hashlib.sha256(canonical.encode()).digest())
    return {"kty": "RSA", "use": "sig", "alg": ALGORITHM, "kid": kid, "n": n, "e": e}


def _b64_uint(value: int) -> str:
    return _b64(value.to_bytes((value.bit_length() + 7) // 8, "big"))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
