"""Callback bearer tokens: RS256, ACS's claims and lifetime, verifiable with the JWKS we serve;
one key per deployment, kept in the resource secrets."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jwt
import pytest
from jwt.types import Options

from switchboard.automation.callbacks_signing import (
    TOKEN_SECONDS,
    CallbackSigner,
    new_private_pem,
)
from switchboard.core.clock import FakeClock
from switchboard.storage.secrets import AUTOMATION_CALLBACK_KEY

pytestmark = pytest.mark.anyio

ISSUER = "https://switchboard.test:8443"
RESOURCE = "6c1f3e0e-0000-4000-8000-000000000001"


class FakeSecrets:
    def __init__(self) -> None:
        self.values: dict[str, str] = {}
        self.generated = 0

    async def get_or_create(self, name: str, generate: Callable[[], str] | None = None) -> str:
        if name not in self.values:
            assert generate is not None
            self.generated += 1
            self.values[name] = generate()
        return self.values[name]


@pytest.fixture(scope="module")
def pem() -> str:
    return new_private_pem()


def test_a_token_verifies_against_the_served_jwks_with_acs_claims(pem: str) -> None:
    clock = FakeClock(1_800_000_000.0)
    signer = CallbackSigner(pem, issuer=ISSUER + "/", audience=RESOURCE, clock=clock)
    token = signer.token()
    [jwk] = signer.jwks()["keys"]
    assert jwt.get_unverified_header(token) == {"alg": "RS256", "kid": jwk["kid"], "typ": "JWT"}
    key = jwt.PyJWK(jwk).key
    claims = _claims(token, key)
    assert (claims["iss"], claims["aud"]) == (ISSUER, RESOURCE)
    assert claims["exp"] - claims["iat"] == TOKEN_SECONDS
    assert claims["nbf"] == claims["iat"] == 1_800_000_000
    assert claims["jti"] != _claims(signer.token(), key)["jti"]  # a fresh token per request
    assert set(jwk) == {"kty", "use", "alg", "kid", "n", "e"}  # public parts only


def test_a_token_from_another_key_does_not_verify(pem: str) -> None:
    clock = FakeClock()
    ours = CallbackSigner(pem, issuer=ISSUER, audience=RESOURCE, clock=clock)
    theirs = CallbackSigner(new_private_pem(), issuer=ISSUER, audience=RESOURCE, clock=clock)
    key = jwt.PyJWK(ours.jwks()["keys"][0]).key
    with pytest.raises(jwt.InvalidSignatureError):
        _claims(theirs.token(), key)


def test_the_openid_metadata_points_at_the_keys(pem: str) -> None:
    signer = CallbackSigner(pem, issuer=ISSUER, audience=RESOURCE, clock=FakeClock())
    config = signer.openid_configuration()
    assert config["issuer"] == ISSUER
    assert config["jwks_uri"] == ISSUER + "/calling/keys"
    assert config["id_token_signing_alg_values_supported"] == ["RS256"]


async def test_the_key_is_made_once_and_shared_through_the_secrets() -> None:
    secrets = FakeSecrets()
    first = await CallbackSigner.load(secrets, issuer=ISSUER, audience=RESOURCE, clock=FakeClock())
    second = await CallbackSigner.load(secrets, issuer=ISSUER, audience=RESOURCE, clock=FakeClock())
    assert first.kid == second.kid
    assert secrets.generated == 1
    assert list(secrets.values) == [AUTOMATION_CALLBACK_KEY]


def _claims(token: str, key: Any) -> dict[str, Any]:
    """Signature, issuer and audience checked; times not (the clock is fake)."""
    lenient: Options = {"verify_exp": False, "verify_iat": False, "verify_nbf": False}
    claims: dict[str, Any] = jwt.decode(
        token, key, algorithms=["RS256"], issuer=ISSUER, audience=RESOURCE, options=lenient
    )
    return claims
