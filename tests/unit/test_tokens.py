from __future__ import annotations

import base64
import json
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from switchboard.core.clock import FakeClock
from switchboard.core.errors import AuthenticationError
from switchboard.identity.keys import SigningKey, SigningKeyRing
from switchboard.identity.models import TokenScope
from switchboard.identity.tokens import TokenCodec

pytestmark = pytest.mark.anyio

RESOURCE = "6b0f3a8e-4a8c-4f3e-9f5e-3b9c7c1d2e4f"


class MemoryKeyStore:
    def __init__(self) -> None:
        self.keys: list[SigningKey] = []

    async def load_all(self) -> list[SigningKey]:
        return sorted(self.keys, key=lambda k: k.created_ms)

    async def add(self, key: SigningKey, *, supersede_until_ms: int) -> None:
        self.keys = [
            k
            if k.verify_until_ms is not None
            else SigningKey(k.kid, k.private_key, k.created_ms, supersede_until_ms)
            for k in self.keys
        ] + [key]


async def codec(clock: FakeClock) -> tuple[TokenCodec, SigningKeyRing]:
    ring = SigningKeyRing(
        MemoryKeyStore(), clock=clock, rotation_seconds=30 * 86400, max_token_seconds=86400
    )
    await ring.load()
    return TokenCodec(ring, resource_id=RESOURCE, clock=clock), ring


def payload_of(token: str) -> dict[str, object]:
    # Exactly how the Python SDK reads it: standard base64, ASCII, JSON.
    body = token.split(".")[1]
    decoded: dict[str, object] = json.loads(base64.b64decode(body + "==").decode("ascii"))
    return decoded


async def test_token_carries_the_claims_real_acs_tokens_carry() -> None:
    clock = FakeClock()
    tokens, _ = await codec(clock)
    user = f"8:acs:{RESOURCE}_{uuid.uuid4()}"
    token = tokens.mint(user, [TokenScope.CHAT, TokenScope.VOIP], 60)
    claims = payload_of(token.token)
    assert claims["skypeid"] == user.removeprefix("8:")
    assert claims["acsScope"] == "chat,voip"
    assert claims["exp"] == int(clock.now()) + 3600
    assert claims["resourceId"] == RESOURCE
    assert {"scp", "csi", "rgn", "resourceLocation", "iat"} <= claims.keys()


@settings(max_examples=200, deadline=None)
@given(
    user=st.uuids(),
    scopes=st.lists(st.sampled_from(list(TokenScope)), min_size=1),
    minutes=st.integers(60, 1440),
    start=st.floats(1.7e9, 2.0e9),
)
def test_payload_never_needs_url_safe_base64(
    user: uuid.UUID, scopes: list[TokenScope], minutes: int, start: float
) -> None:
    import anyio

    async def run() -> None:
        tokens, _ = await codec(FakeClock(start))
        token = tokens.mint(f"8:acs:{RESOURCE}_{user}", scopes, minutes)
        body = token.token.split(".")[1]
        assert "-" not in body and "_" not in body
        assert payload_of(token.token)["exp"] == int(start) + minutes * 60

    anyio.run(run)


async def test_verified_claims_round_trip() -> None:
    clock = FakeClock()
    tokens, _ = await codec(clock)
    user = f"8:acs:{RESOURCE}_{uuid.uuid4()}"
    token = tokens.mint(user, [TokenScope.CHAT_JOIN], 60)
    claims = await tokens.verify(token.token)
    assert claims.user_id == user
    assert claims.scopes == {"chat.join"}


async def test_expired_token_is_refused() -> None:
    clock = FakeClock()
    tokens, _ = await codec(clock)
    token = tokens.mint(f"8:acs:{RESOURCE}_x", [TokenScope.CHAT], 60)
    await tokens.verify(token.token)
    clock.advance(3600)
    with pytest.raises(AuthenticationError, match="expired"):
        await tokens.verify(token.token)


async def test_forged_signature_is_refused() -> None:
    clock = FakeClock()
    tokens, _ = await codec(clock)
    header, body, signature = tokens.mint(f"8:acs:{RESOURCE}_x", [TokenScope.CHAT], 60).token.split(
        "."
    )
    forged_body = (
        base64.b64encode(base64.b64decode(body + "==").replace(b'"chat"', b'"voip"'))
        .decode()
        .rstrip("=")
    )
    with pytest.raises(AuthenticationError):
        await tokens.verify(f"{header}.{forged_body}.{signature}")


async def test_tokens_of_a_rotated_key_verify_until_their_key_retires() -> None:
    clock = FakeClock()
    tokens, ring = await codec(clock)
    old = tokens.mint(f"8:acs:{RESOURCE}_x", [TokenScope.CHAT], 1440)
    await ring.rotate()
    new = tokens.mint(f"8:acs:{RESOURCE}_x", [TokenScope.CHAT], 60)
    assert old.token.split(".")[0] != new.token.split(".")[0]  # another kid
    assert len(ring.jwks()["keys"]) == 2
    clock.advance(86400 - 60)
    other, _ = TokenCodec(ring, resource_id=RESOURCE, clock=clock), None
    await other.verify(old.token)
    clock.advance(86400)
    with pytest.raises(AuthenticationError):
        await TokenCodec(ring, resource_id=RESOURCE, clock=clock).verify(old.token)
    assert len(ring.jwks()["keys"]) == 1


async def test_token_of_another_resource_is_refused() -> None:
    clock = FakeClock()
    tokens, ring = await codec(clock)
    token = tokens.mint(f"8:acs:{RESOURCE}_x", [TokenScope.CHAT], 60)
    foreign = TokenCodec(ring, resource_id=str(uuid.uuid4()), clock=clock)
    with pytest.raises(AuthenticationError, match="another resource"):
        await foreign.verify(token.token)
