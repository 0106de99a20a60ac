"""The token signing key ring on the node's database, as the node and the shell build it.

``switchboard keys rotate signing`` rotates the key with no node running; the composition root
(app/parts.py) builds the same ring for the node. Both come here so the rotation period and the
longest token lifetime are set in one place.
"""

from __future__ import annotations

from switchboard.core.clock import Clock
from switchboard.core.sections import AuthConfig
from switchboard.identity.keys import SigningKeyRing, SqlSigningKeyStore
from switchboard.identity.models import MAX_TOKEN_MINUTES
from switchboard.storage.database import Database


def sql_signing_key_ring(database: Database, auth: AuthConfig, clock: Clock) -> SigningKeyRing:
    return SigningKeyRing(
        SqlSigningKeyStore(database),
        clock=clock,
        rotation_seconds=auth.signing_key_rotation_days * 86400,
        max_token_seconds=MAX_TOKEN_MINUTES * 60,
    )


async def rotate_signing_key(database: Database, auth: AuthConfig, clock: Clock) -> str:
    """A new signing key; earlier tokens stay valid until they expire. Returns its key id."""
    ring = sql_signing_key_ring(database, auth, clock)
    await ring.load()
    return (await ring.rotate()).kid
