"""push/'s storage seams: registrations and the outbox of notifications owed.

Both have an in-memory implementation (store_memory.py) and a SQL one (store_sql.py), held to
one contract (tests/contract/test_push_store_contract.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from switchboard.push.models import PushJob, PushKind, Registration


class RegistrationStore(Protocol):
    async def put(self, registration: Registration) -> None:
        """Create or replace the registration of (user, device): a refresh moves its expiry."""
        ...

    async def remove(self, user_id: str, device_id: str) -> bool: ...

    async def of_user(self, user_id: str, now_ms: int) -> list[Registration]:
        """The user's registrations that have not expired."""
        ...

    async def get(self, user_id: str, device_id: str) -> Registration | None: ...

    async def remove_user(self, user_id: str) -> int:
        """Forget every registration of a deleted user; how many there were."""
        ...

    async def remove_token(self, kind: PushKind, token: str) -> int:
        """Forget a token the provider called dead (every user that registered it)."""
        ...

    async def prune(self, now_ms: int) -> int:
        """Forget expired registrations."""
        ...


class PushOutbox(Protocol):
    """Notifications owed, durable until a provider took them (or said never)."""

    async def add(self, jobs: Sequence[PushJob]) -> None:
        """Written durably when this returns (before what caused them is acknowledged); a
        job whose id is there already is not added again."""
        ...

    async def claim(self, now_ms: int, limit: int, lease_ms: int) -> list[PushJob]:
        """Due jobs, oldest first, leased to the caller until ``now_ms + lease_ms`` (a node
        that dies holding them leaves them to be claimed again when the lease runs out)."""
        ...

    async def done(self, job_ids: Sequence[str]) -> None:
        """Delivered, rejected for good, or for a dead device: gone."""
        ...

    async def retry(self, job: PushJob, due_ms: int) -> None:
        """Not taken: due again at ``due_ms``, one more attempt counted."""
        ...

    async def pending(self) -> int:
        """How many are owed (metrics, tests)."""
        ...

    async def stream_position(self, stream: str, start: int) -> int:
        """How far the pushes of another domain's durable event stream are owed (every event
        up to it has its jobs here, or had); a stream never read begins at ``start``."""
        ...

    async def owe_from_stream(
        self, stream: str, upto: int, jobs: Sequence[tuple[int, PushJob]]
    ) -> list[PushJob]:
        """In one durable step: the jobs (each with the stream position of the event that
        owes it) of positions after the stored one are added, and the position moves to
        ``upto`` (never back). Jobs of positions another reader (a node) owed already are
        not added again; the jobs added."""
        ...
