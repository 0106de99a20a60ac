"""In-memory registrations and outbox: one node without a database, and the unit tests."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from switchboard.push.models import PushJob, PushKind, Registration


class MemoryRegistrationStore:
    def __init__(self) -> None:
        self._rows: dict[tuple[str, str], Registration] = {}

    async def put(self, registration: Registration) -> None:
        self._rows[(registration.user_id, registration.device_id)] = registration

    async def remove(self, user_id: str, device_id: str) -> bool:
        return self._rows.pop((user_id, device_id), None) is not None

    async def of_user(self, user_id: str, now_ms: int) -> list[Registration]:
        found = [r for (u, _), r in self._rows.items() if u == user_id and r.expires_ms > now_ms]
        return sorted(found, key=lambda r: r.device_id)

    async def get(self, user_id: str, device_id: str) -> Registration | None:
        return self._rows.get((user_id, device_id))

    async def remove_user(self, user_id: str) -> int:
        return self._drop([k for k in self._rows if k[0] == user_id])

    async def remove_token(self, kind: PushKind, token: str) -> int:
        return self._drop([k for k, r in self._rows.items() if r.kind is kind and r.token == token])

    async def prune(self, now_ms: int) -> int:
        return self._drop([k for k, r in self._rows.items() if r.expires_ms <= now_ms])

    def _drop(self, keys: list[tuple[str, str]]) -> int:
        for key in keys:
            del self._rows[key]
        return len(keys)


class MemoryPushOutbox:
    def __init__(self) -> None:
        self._jobs: dict[str, PushJob] = {}  # insertion order is the outbox's order
        self._positions: dict[str, int] = {}

    async def add(self, jobs: Sequence[PushJob]) -> None:
        for job in jobs:
            self._jobs.setdefault(job.id, job)  # owed once, however many times it is told

    async def claim(self, now_ms: int, limit: int, lease_ms: int) -> list[PushJob]:
        token = uuid.uuid4().hex
        taken: list[PushJob] = []
        for job in self._jobs.values():
            if len(taken) == limit:
                break
            if job.due_ms <= now_ms:
                taken.append(job)
        for job in taken:
            leased = PushJob(
                job.id,
                job.user_id,
                job.device_id,
                job.notification,
                job.created_ms,
                job.attempts,
                now_ms + lease_ms,
                token,
            )
            self._jobs[job.id] = leased
        return [self._jobs[j.id] for j in taken]

    async def done(self, job_ids: Sequence[str]) -> None:
        for job_id in job_ids:
            self._jobs.pop(job_id, None)

    async def retry(self, job: PushJob, due_ms: int) -> None:
        current = self._jobs.get(job.id)
        if current is None:
            return
        self._jobs[job.id] = PushJob(
            job.id,
            job.user_id,
            job.device_id,
            job.notification,
            job.created_ms,
            current.attempts + 1,
            due_ms,
            "",
        )

    async def pending(self) -> int:
        return len(self._jobs)

    async def stream_position(self, stream: str, start: int) -> int:
        return self._positions.setdefault(stream, start)

    async def owe_from_stream(
        self, stream: str, upto: int, jobs: Sequence[tuple[int, PushJob]]
    ) -> list[PushJob]:
        stored = self._positions.get(stream)
        added = [job for position, job in jobs if stored is None or position > stored]
        self._positions[stream] = upto if stored is None else max(stored, upto)
        await self.add(added)
        return added
