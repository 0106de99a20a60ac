"""PushDispatcher: the outbox's worker, the same for every provider.

    take(jobs written and leased here) ─▶ sent at once, as below
    wake or every poll_seconds ─▶ outbox.claim(due, lease) ─▶ for each
        job, concurrently: its registration (gone: drop) ─▶ the user still live? (deleted:
        forget the user's registrations) ─▶ provider.send
        DELIVERED / REJECTED ─▶ done · DEAD_TOKEN ─▶ the registration forgotten, done
        RETRY ─▶ due again after max(Retry-After, backoff(attempts)), unless the
            notification's TTL is over (a late incoming-call push is worse than none) ─▶ done

A node that dies holding a lease leaves its jobs due again when the lease runs out: another
node (or this one restarted) sends them. A provider down for a while only delays them: the
backoff is capped (``max_backoff_seconds``) so one is tried again soon after it is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from prometheus_client import CollectorRegistry, Counter

from switchboard.core.clock import Clock
from switchboard.core.tasks import TaskScope
from switchboard.push.models import Outcome, ProviderAnswer, PushJob, PushKind
from switchboard.push.providers.base import PushProvider
from switchboard.push.store import PushOutbox, RegistrationStore

log = logging.getLogger(__name__)


class UserDirectory(Protocol):
    async def is_live(self, user_id: str) -> bool:
        """False for a deleted user (identity/)."""
        ...


@dataclass(frozen=True, slots=True)
class DispatchSettings:
    poll_seconds: float = 2.0  # look for due jobs this often without a wake-up
    lease_seconds: float = 30.0  # a claim a node holds; after a crash, jobs return then
    batch: int = 256  # jobs claimed at once
    concurrency: int = 64  # sends in flight per node
    first_backoff_seconds: float = 1.0
    max_backoff_seconds: float = 30.0  # so a provider back after an outage is used soon


@dataclass(frozen=True, slots=True)
class Settled:
    """What became of one job (tests and the CLI listen for these)."""

    job: PushJob
    kind: PushKind | None
    answer: ProviderAnswer


class PushMetrics:
    def __init__(self, registry: CollectorRegistry | None) -> None:
        self._outcomes = Counter(
            "switchboard_push_notifications_total",
            "Pushes handed to a provider, by provider and outcome (delivered, retry, "
            "deadToken, rejected, expired).",
            ("kind", "outcome"),
            registry=registry,
        )
        self._children: dict[tuple[PushKind, str], Any] = {}

    def count(self, kind: PushKind, outcome: str) -> None:
        child = self._children.get((kind, outcome))
        if child is None:  # labels() validates and locks: once per pair, not per push
            child = self._children[(kind, outcome)] = self._outcomes.labels(kind.value, outcome)
        child.inc()


class PushDispatcher:
    def __init__(
        self,
        outbox: PushOutbox,
        registrations: RegistrationStore,
        providers: Mapping[PushKind, PushProvider],
        users: UserDirectory,
        *,
        clock: Clock,
        settings: DispatchSettings = DispatchSettings(),
        registry: CollectorRegistry | None = None,
    ) -> None:
        self._metrics = PushMetrics(registry)
        self._outbox = outbox
        self._registrations = registrations
        self._providers = providers
        self._users = users
        self._clock = clock
        self._settings = settings
        self._wake = asyncio.Event()
        self._limit = asyncio.Semaphore(settings.concurrency)
        self._scope = TaskScope("push dispatcher")
        self.sent = 0  # handed to a provider and taken (metrics, bench)
        self.listeners: list[asyncio.Queue[Settled]] = []

    async def start(self) -> None:
        await self._scope.start()
        self._scope.spawn(self._run(), name="push dispatcher")

    async def stop(self) -> None:
        await self._scope.stop()

    def wake(self) -> None:
        self._wake.set()

    def take(self, jobs: Sequence[PushJob]) -> None:
        """PushService's Dispatch: jobs just written and leased to this node, sent now (a
        crash before they are done leaves them to the lease); none: claim due ones now."""
        if not jobs:
            self.wake()
            return
        self._scope.spawn(self._send_handed(list(jobs)), name="push: handed jobs")

    async def _send_handed(self, jobs: list[PushJob]) -> None:
        try:
            await self._send_all(jobs)
        except Exception:  # the lease brings them back
            log.exception("sending handed push jobs failed")

    async def _run(self) -> None:
        while True:
            try:
                busy = await self.run_once()
            except Exception:  # a database blip: the next round tries again
                log.exception("push dispatch round failed")
                busy = False
            if not busy:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._settings.poll_seconds)
                self._wake.clear()

    async def run_once(self) -> bool:
        """Claim and send one batch; True if there was one (there may be more)."""
        now_ms = self._now_ms()
        lease_ms = int(self._settings.lease_seconds * 1000)
        jobs = await self._outbox.claim(now_ms, self._settings.batch, lease_ms)
        if not jobs:
            return False
        await self._send_all(jobs)
        return True

    async def _send_all(self, jobs: list[PushJob]) -> None:
        results = await asyncio.gather(*(self._send(job) for job in jobs))
        done = [job.id for job, finished in zip(jobs, results, strict=True) if finished]
        await self._outbox.done(done)

    async def _send(self, job: PushJob) -> bool:
        """True when the job is finished (sent, refused, or pointless now)."""
        async with self._limit:
            registration = await self._registrations.get(job.user_id, job.device_id)
            if registration is None:
                return True  # unregistered meanwhile (or a dead token): nobody to tell
            if not await self._users.is_live(job.user_id):
                removed = await self._registrations.remove_user(job.user_id)
                log.info("push: user deleted, %d registrations forgotten", removed)
                return True
            provider = self._providers.get(registration.kind)
            if provider is None:
                return True  # its credentials were removed from the config
            answer = await provider.send(registration, job.notification)
        self._tell(Settled(job, registration.kind, answer))
        self._metrics.count(registration.kind, answer.outcome.value)
        if answer.outcome is Outcome.DELIVERED:
            self.sent += 1
            return True
        if answer.outcome is Outcome.DEAD_TOKEN:
            await self._registrations.remove_token(registration.kind, registration.token)
            log.info("push: %s said the device %s is gone", registration.kind, job.device_id)
            return True
        if answer.outcome is Outcome.REJECTED:
            log.warning("push: %s refused job %s: %s", registration.kind, job.id, answer)
            return True
        if await self._retry(job, answer):
            self._metrics.count(registration.kind, "expired")
            return True
        return False

    async def _retry(self, job: PushJob, answer: ProviderAnswer) -> bool:
        now_ms = self._now_ms()
        backoff = min(
            self._settings.first_backoff_seconds * 2**job.attempts,
            self._settings.max_backoff_seconds,
        )
        wait = max(backoff, answer.retry_after or 0.0)
        due_ms = now_ms + int(wait * 1000)
        if due_ms > job.created_ms + job.notification.ttl_seconds * 1000:
            log.warning("push: job %s expired before a provider took it (%s)", job.id, answer)
            return True
        await self._outbox.retry(job, due_ms)
        return False

    def _tell(self, settled: Settled) -> None:
        for queue in self.listeners:
            queue.put_nowait(settled)

    def _now_ms(self) -> int:
        return int(self._clock.now() * 1000)
