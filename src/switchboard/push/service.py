"""PushService: who may be pushed (registrations) and what each is owed (the outbox).

    register(user, device, kind, token…) ─▶ checks ─▶ store.put (a refresh moves the expiry)
    notify(user, notification, skip=live devices) ─▶ the user's registrations ─▶ one job per
        device ─▶ outbox.add (durable when it returns) ─▶ the dispatcher: handed the jobs at
        once, already leased to this node (a call's push: no second round trip through the
        outbox), or woken to claim them (``shared``: every node saw the same cause)
    a deleted user (identity's bus event, or found deleted at send time) ─▶ remove_user

Other domains reach it through their own Protocols, implemented in app/push.py.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import uuid
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

from switchboard.core.clock import Clock
from switchboard.core.errors import NotSupportedError
from switchboard.push.models import (
    Notification,
    PushJob,
    PushKind,
    PushRegistrationError,
    PushRegistrationNotFoundError,
    Registration,
)
from switchboard.push.store import PushOutbox, RegistrationStore

MAX_TOKEN = 4096  # characters: an FCM token is ~160, a Web Push endpoint a few hundred
MAX_DEVICE_ID = 128
UrlCheck = Callable[[str], Awaitable[None]]  # the SSRF guard for client-supplied URLs


class Dispatch(Protocol):
    def take(self, jobs: Sequence[PushJob]) -> None:
        """Send these (written, leased to this node) now; none: look for due ones now."""
        ...


@dataclass(frozen=True, slots=True)
class PushSettings:
    registration_ttl_seconds: float = 30 * 24 * 3600.0  # a registration not refreshed expires
    max_registration_ttl_seconds: float = 90 * 24 * 3600.0


@dataclass(frozen=True, slots=True)
class StreamPush:
    """A notification one event of another domain's durable stream owes one user."""

    position: int  # the event's position in its stream
    user_id: str
    notification: Notification
    key: str  # what caused it (the job ids are made from it)


@dataclass(frozen=True, slots=True)
class NewRegistration:
    device_id: str
    kind: PushKind
    token: str
    app_id: str = ""
    p256dh: str = ""
    auth: str = ""
    ttl_seconds: float | None = None


class PushService:
    def __init__(
        self,
        registrations: RegistrationStore,
        outbox: PushOutbox,
        *,
        kinds: Collection[PushKind],
        clock: Clock,
        check_url: UrlCheck,
        settings: PushSettings = PushSettings(),
        lease_seconds: float = 30.0,
    ) -> None:
        self._registrations = registrations
        self._outbox = outbox
        self.kinds = frozenset(kinds)  # the providers this node has credentials for
        self._clock = clock
        self._check_url = check_url
        self._settings = settings
        self._lease_ms = int(lease_seconds * 1000)
        self.dispatch: Dispatch | None = None  # the node's dispatcher, set when it starts

    # ── registrations ──────────────────────────────────────────────────────────────────

    async def register(self, user_id: str, new: NewRegistration) -> Registration:
        await self._check(new)
        now_ms = self._now_ms()
        ttl = new.ttl_seconds or self._settings.registration_ttl_seconds
        if not 60 <= ttl <= self._settings.max_registration_ttl_seconds:
            raise PushRegistrationError(
                "ttlSeconds must be between 60 and "
                f"{int(self._settings.max_registration_ttl_seconds)}.",
                target="ttlSeconds",
            )
        registration = Registration(
            user_id,
            new.device_id,
            new.kind,
            new.token,
            new.app_id,
            new.p256dh,
            new.auth,
            now_ms,
            now_ms + int(ttl * 1000),
        )
        await self._registrations.put(registration)
        # The same subscription (or token) from a new device id: an app reinstalled, a page
        # opened again. One device must not be pushed twice: the older entry goes.
        for other in await self._registrations.of_user(user_id, now_ms):
            same = other.kind is new.kind and other.token == new.token
            if same and other.device_id != new.device_id:
                await self._registrations.remove(user_id, other.device_id)
        return registration

    async def unregister(self, user_id: str, device_id: str) -> None:
        if not await self._registrations.remove(user_id, device_id):
            raise PushRegistrationNotFoundError(
                f"No push registration for device '{device_id}'.", target="deviceId"
            )

    async def registrations(self, user_id: str) -> list[Registration]:
        return await self._registrations.of_user(user_id, self._now_ms())

    async def remove_user(self, user_id: str) -> int:
        return await self._registrations.remove_user(user_id)

    async def prune(self) -> int:
        return await self._registrations.prune(self._now_ms())

    # ── notifications ──────────────────────────────────────────────────────────────────

    async def notify(
        self,
        user_id: str,
        notification: Notification,
        *,
        skip: Collection[str] = (),
        only: Collection[str] | None = None,
        key: str | None = None,
        shared: bool = False,
    ) -> list[PushJob]:
        """Owe ``notification`` to each of the user's registered devices but those in
        ``skip`` (live ones), or only to those in ``only``: durable when this returns. The
        jobs, none if no device. With a ``key`` (what caused it), nodes that all see the same
        cause owe it once: the job ids are made from it (and ``shared`` says so: the job is
        left for whichever node claims it)."""
        targets = [
            r
            for r in await self.registrations(user_id)
            if r.device_id not in skip and (only is None or r.device_id in only)
        ]
        return await self.owe(targets, notification, key=key, shared=shared)

    async def owe(
        self,
        targets: Sequence[Registration],
        notification: Notification,
        *,
        key: str | None = None,
        shared: bool = False,
    ) -> list[PushJob]:
        now_ms = self._now_ms()
        hand = self.dispatch is not None and not shared
        due_ms = now_ms + self._lease_ms if hand else now_ms  # handed: leased to us already
        jobs = [
            PushJob(_job_id(key, r), r.user_id, r.device_id, notification, now_ms, due_ms=due_ms)
            for r in targets
            if r.kind in self.kinds
        ]
        if jobs:
            await self._outbox.add(jobs)
            if self.dispatch is not None:
                self.dispatch.take(jobs if hand else [])
        return jobs

    async def stream_position(self, stream: str, start: int) -> int:
        """How far the pushes of ``stream`` are owed (a stream never read: ``start``)."""
        return await self._outbox.stream_position(stream, start)

    async def owe_from_stream(
        self, stream: str, upto: int, owed: Sequence[StreamPush]
    ) -> list[PushJob]:
        """The jobs of these events' pushes and the stream's position (``upto``), written in
        one durable step; what another node owed already is left out. The jobs written are
        leased to this node and handed to its dispatcher (no other node wrote them)."""
        now_ms = self._now_ms()
        hand = self.dispatch is not None
        due_ms = now_ms + self._lease_ms if hand else now_ms
        targets: dict[str, list[Registration]] = {}
        jobs: list[tuple[int, PushJob]] = []
        for push in owed:
            found = targets.get(push.user_id)
            if found is None:
                found = targets[push.user_id] = await self.registrations(push.user_id)
            jobs.extend(
                (
                    push.position,
                    PushJob(
                        _job_id(push.key, r),
                        r.user_id,
                        r.device_id,
                        push.notification,
                        now_ms,
                        due_ms=due_ms,
                    ),
                )
                for r in found
                if r.kind in self.kinds
            )
        added = await self._outbox.owe_from_stream(stream, upto, jobs)
        if added and self.dispatch is not None:
            self.dispatch.take(added)
        return added

    # ── checks ─────────────────────────────────────────────────────────────────────────

    async def _check(self, new: NewRegistration) -> None:
        if new.kind not in self.kinds:
            raise NotSupportedError(
                f"This server has no credentials for '{new.kind.value}' push notifications.",
                target="kind",
            )
        if not new.device_id or len(new.device_id) > MAX_DEVICE_ID:
            raise PushRegistrationError(
                f"deviceId must be 1-{MAX_DEVICE_ID} characters.", target="deviceId"
            )
        if not new.token or len(new.token) > MAX_TOKEN:
            raise PushRegistrationError(
                f"The token must be 1-{MAX_TOKEN} characters.", target="token"
            )
        if new.kind is PushKind.WEBPUSH:
            _check_key(new.p256dh, 65, "keys.p256dh")
            _check_key(new.auth, 16, "keys.auth")
        if new.kind in (PushKind.WEBPUSH, PushKind.WNS):  # a URL we will POST to
            if urlsplit(new.token).scheme not in ("https", "http"):
                raise PushRegistrationError("The endpoint must be an https URL.", target="token")
            await self._check_url(new.token)
        elif not all(c.isalnum() or c in "-_:." for c in new.token):
            raise PushRegistrationError(
                "The device token has unexpected characters.", target="token"
            )

    def _now_ms(self) -> int:
        return int(self._clock.now() * 1000)


def _job_id(key: str | None, registration: Registration) -> str:
    if key is None:
        return uuid.uuid4().hex
    made = f"{key}\n{registration.user_id}\n{registration.device_id}"
    return hashlib.sha256(made.encode()).hexdigest()[:32]


def _check_key(value: str, size: int, target: str) -> None:
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != size:
        raise PushRegistrationError(
            f"{target} must be {size} bytes, base64url-encoded.", target=target
        )
