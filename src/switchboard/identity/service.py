"""IdentityService: users, tokens and revocation, consistent across nodes.

    create / delete / revoke ──▶ store (durable) ──▶ bus "identity.changed" ──▶ every node
                                                                                evicts its cache
    bearer request ──▶ TokenCodec.verify (signature, expiry) ──▶ IdentityStateCache
                       (deleted? issued before the last revocation?) ──▶ Principal

The cache makes the hot paths (token issuance, bearer checks) free of database reads.
A load that races with an invalidation is not cached (generation check), and entries expire
after ``cache_ttl`` seconds as a backstop should a bus message be lost.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Sequence
from dataclasses import replace

from switchboard.bus.base import Bus, Subscription
from switchboard.core.clock import Clock
from switchboard.core.errors import IdentityNotFoundError, TokenRevokedError
from switchboard.core.identifiers import is_acs_user_id, new_acs_user_id
from switchboard.core.principal import Principal, PrincipalKind
from switchboard.core.tasks import TaskScope
from switchboard.identity.models import (
    AccessToken,
    Identity,
    IdentityNotOwnedError,
    check_custom_id,
    parse_scopes,
    resource_of,
    token_minutes,
)
from switchboard.identity.store import CustomIdTakenError, IdentityStore
from switchboard.identity.tokens import TokenCodec

log = logging.getLogger(__name__)

IDENTITY_CHANGED = "identity.changed"
# lastTokenIssuedAt is kept to this precision, so issuing tokens in a loop writes at most
# once a minute per identity (token issuance is a benchmarked hot path).
LAST_ISSUED_PRECISION_MS = 60_000


class IdentityStateCache:
    """Identity rows by id, shared by concurrent requests.

    One database read per id at a time (concurrent misses wait for the same read), and each
    entry lives a random 50–100 % of ``ttl`` so entries loaded together do not all expire
    together and stampede the database.
    """

    def __init__(self, store: IdentityStore, clock: Clock, ttl: float, max_entries: int) -> None:
        self._store = store
        self._clock = clock
        self._ttl = ttl
        self._max_entries = max_entries
        self._entries: dict[str, tuple[Identity | None, float]] = {}  # id -> (row, expires)
        self._loading: dict[str, asyncio.Future[Identity | None]] = {}
        self._generation = 0

    async def get(self, identity_id: str) -> Identity | None:
        entry = self._entries.get(identity_id)
        if entry is not None and self._clock.now() < entry[1]:
            return entry[0]
        pending = self._loading.get(identity_id)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[Identity | None] = asyncio.get_running_loop().create_future()
        self._loading[identity_id] = future
        try:
            generation = self._generation
            identity = await self._store.get(identity_id)
            if generation == self._generation:  # no invalidation raced with the read
                self._remember(identity_id, identity)
            future.set_result(identity)
            return identity
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # consumed here, so a future nobody awaited does not warn
            raise
        finally:
            del self._loading[identity_id]

    def peek(self, identity_id: str) -> Identity | None:
        """The cached row if there is an unexpired one (no database read, no waiting)."""
        entry = self._entries.get(identity_id)
        if entry is not None and self._clock.now() < entry[1]:
            return entry[0]
        return None

    def put(self, identity: Identity) -> None:
        self._remember(identity.id, identity)

    def invalidate(self, identity_id: str) -> None:
        self._generation += 1
        self._entries.pop(identity_id, None)

    def _remember(self, identity_id: str, identity: Identity | None) -> None:
        if len(self._entries) >= self._max_entries:
            self._entries.clear()
        expires = self._clock.now() + self._ttl * random.uniform(0.5, 1.0)
        self._entries[identity_id] = (identity, expires)


class IdentityService:
    def __init__(
        self,
        store: IdentityStore,
        tokens: TokenCodec,
        bus: Bus,
        *,
        resource_id: str,
        clock: Clock,
        cache_ttl: float = 10.0,
        cache_entries: int = 100_000,
    ) -> None:
        self._store = store
        self._tokens = tokens
        self._bus = bus
        self._resource_id = resource_id
        self._clock = clock
        self._cache = IdentityStateCache(store, clock, cache_ttl, cache_entries)
        self._subscription: Subscription | None = None
        self._tasks = TaskScope("identity")

    async def start(self) -> None:
        self._subscription = await self._bus.subscribe(IDENTITY_CHANGED)
        await self._tasks.start()
        self._tasks.spawn(self._listen(self._subscription), name="identity change listener")

    async def stop(self) -> None:
        if self._subscription is not None:
            await self._subscription.close()
        await self._tasks.stop()

    async def create_identity(
        self,
        scopes: Sequence[str] | None = None,
        expires_in_minutes: int | None = None,
        custom_id: str | None = None,
    ) -> tuple[Identity, AccessToken | None]:
        """A new identity; with a ``custom_id`` a live identity already has, that one (with a
        new token if scopes are asked for), as ACS answers from 2025-03-02-preview on."""
        # Validate before writing: a bad scope must not leave an identity behind.
        parsed = parse_scopes(scopes, "CreateTokenWithScopes") if scopes else None
        minutes = token_minutes(expires_in_minutes)
        if custom_id is not None:
            check_custom_id(custom_id)
        now = self._now_ms()
        identity = None if custom_id is None else await self._store.by_custom_id(custom_id)
        if identity is None:
            try:
                identity = await self._store.create(
                    new_acs_user_id(self._resource_id),
                    now,
                    custom_id=custom_id,
                    token_issued_ms=now if parsed else None,
                )
            except CustomIdTakenError:  # created by a concurrent request: answer with it
                assert custom_id is not None
                identity = await self._store.by_custom_id(custom_id)
                if identity is None:
                    raise
        if parsed and identity.last_token_issued_ms != now:
            identity = await self._noted_issue(identity, now, force=True)
        self._cache.put(identity)
        token = self._tokens.mint(identity.id, parsed, minutes) if parsed else None
        return identity, token

    async def get_identity(self, identity_id: str) -> Identity:
        """A live identity of this resource (``GET /identities/{id}``)."""
        self._check_owned(identity_id)
        identity = await self._store.get(identity_id) if is_acs_user_id(identity_id) else None
        if identity is None or identity.is_deleted:
            raise self._not_found(identity_id)
        return identity

    async def issue_token(
        self, identity_id: str, scopes: Sequence[str] | None, expires_in_minutes: int | None = None
    ) -> AccessToken:
        parsed = parse_scopes(scopes)
        minutes = token_minutes(expires_in_minutes)
        identity = await self._live_identity(identity_id)
        await self._noted_issue(identity, self._now_ms())
        return self._tokens.mint(identity_id, parsed, minutes)

    async def revoke_tokens(self, identity_id: str) -> None:
        self._check_owned(identity_id)
        if not await self._store.revoke_tokens(identity_id, self._now_ms()):
            raise self._not_found(identity_id)
        await self._changed(identity_id)

    async def delete_identity(self, identity_id: str) -> None:
        self._check_owned(identity_id)
        if not await self._store.mark_deleted(identity_id, self._now_ms()):
            raise self._not_found(identity_id)
        await self._changed(identity_id)

    async def _noted_issue(self, identity: Identity, now: int, *, force: bool = False) -> Identity:
        """Record that a token was issued now, unless the record is under a minute old."""
        last = identity.last_token_issued_ms
        if not force and last is not None and now - last < LAST_ISSUED_PRECISION_MS:
            return identity
        await self._store.note_token_issued(identity.id, now)
        noted = replace(identity, last_token_issued_ms=now)
        self._cache.put(noted)
        return noted

    def _check_owned(self, identity_id: str) -> None:
        resource = resource_of(identity_id)
        if resource is not None and resource != self._resource_id:
            raise IdentityNotOwnedError(
                f"Identity '{identity_id}' belongs to another Communication Services resource."
            )

    async def is_live(self, identity_id: str) -> bool:
        """True for an existing, undeleted identity of this resource (other domains ask this)."""
        if not is_acs_user_id(identity_id):
            return False
        identity = await self._cache.get(identity_id)
        return identity is not None and not identity.is_deleted

    async def authenticate_token(self, token: str) -> Principal:
        """The TokenVerifier used by bearer-protected routes."""
        claims = await self._tokens.verify(token)
        identity = await self._cache.get(claims.user_id)
        if identity is None or identity.is_deleted:
            raise TokenRevokedError("The identity of this access token has been deleted.")
        revoked = identity.tokens_revoked_ms
        if revoked is not None and claims.issued_ms <= revoked:
            raise TokenRevokedError("The access token has been revoked.")
        return Principal(PrincipalKind.USER, claims.user_id, claims.scopes, claims.expires_at)

    async def revalidate_token(self, token: str) -> Principal:
        """authenticate_token with the identity's state read afresh (after a change event)."""
        claims = await self._tokens.verify(token)
        self._cache.invalidate(claims.user_id)
        return await self.authenticate_token(token)

    async def _live_identity(self, identity_id: str) -> Identity:
        # A cached row was stored under this id, so the id is well-formed: skip parsing it.
        identity = self._cache.peek(identity_id)
        if identity is None:
            self._check_owned(identity_id)
        if identity is None and is_acs_user_id(identity_id):
            identity = await self._cache.get(identity_id)
        if identity is None or identity.is_deleted:
            raise self._not_found(identity_id)
        return identity

    async def _changed(self, identity_id: str) -> None:
        self._cache.invalidate(identity_id)
        await self._bus.publish(IDENTITY_CHANGED, identity_id.encode())

    async def _listen(self, subscription: Subscription) -> None:
        try:
            async for message in subscription:
                self._cache.invalidate(message.decode())
        except Exception:
            # Without invalidations the cache still expires entries within its TTL; say so.
            log.exception("identity invalidation listener stopped; relying on cache expiry")

    def _now_ms(self) -> int:
        return int(self._clock.now() * 1000)

    @staticmethod
    def _not_found(identity_id: str) -> IdentityNotFoundError:
        return IdentityNotFoundError(f"Identity '{identity_id}' was not found.", target="id")
