"""Call lifecycle as Event Grid events (``Microsoft.Communication.Call*``) through the outbox.

    CallSession ─Lifecycle─▶ CallEventGridSink.offer (no wait) ─▶ queue ─▶ worker task:
        database.write(): outbox.add(events) ─▶ commit ─▶ outbox.notify()

Calls keep no rows, so there is no change to share a transaction with: the worker writes the
events in their own transaction, off the signaling path (a slow database never delays a
ring). Shapes follow ACS's AcsCallStarted/Ended/ParticipantAdded/Removed event data.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from typing import Any

from switchboard.calling.lifecycle import Lifecycle, LifecycleKind
from switchboard.core.events import IntegrationEvent
from switchboard.core.tasks import TaskScope
from switchboard.events.outbox import Outbox
from switchboard.http.identifiers import user_identifier_json
from switchboard.storage.database import Database

log = logging.getLogger(__name__)

PREFIX = "Microsoft.Communication."


def integration_event(fact: Lifecycle) -> IntegrationEvent:
    data: dict[str, Any] = {
        "startedBy": {
            "communicationIdentifier": user_identifier_json(fact.started_by),
            "role": fact.started_by_role,
        },
        "serverCallId": fact.call_id,
        "group": {"id": fact.group_id} if fact.group_id is not None else None,
        "room": {"id": fact.room_id} if fact.room_id is not None else None,
        "isTwoParty": fact.two_party,
        "correlationId": fact.correlation_id or fact.call_id,
        "isRoomsCall": fact.room_id is not None,
    }
    if fact.kind is LifecycleKind.CALL_ENDED:
        reason = fact.reason
        data["endedBy"] = (
            {
                "communicationIdentifier": user_identifier_json(fact.ended_by),
                "type": "Participant",
                "name": "",
            }
            if fact.ended_by
            else {"communicationIdentifier": None, "type": "MicrosoftInternal", "name": ""}
        )
        data["reason"] = reason.json() if reason is not None else None
        data["callDurationInSeconds"] = round(fact.duration or 0.0, 3)
    if fact.participant is not None:
        participant = fact.participant
        data["user"] = {
            "communicationIdentifier": user_identifier_json(participant.user_id),
            "role": fact.participant_role,
        }
        data["displayName"] = participant.display_name
        data["participantId"] = participant.id
        data["userAgent"] = "switchboard-calling/1"
    subject = f"call/{fact.call_id}/startedBy/{fact.started_by}"
    return IntegrationEvent(PREFIX + fact.kind.value, subject, data, fact.at)


class CallEventGridSink:
    """Implements ``CallEventSink``: start() after the database, stop() before it."""

    def __init__(
        self,
        database: Database,
        outbox: Outbox,
        *,
        wants: Callable[[str], bool] | None = None,
    ) -> None:
        self._database = database
        self._outbox = outbox
        self._wants = wants or (lambda _type: True)
        self._queue: asyncio.Queue[list[Lifecycle]] = asyncio.Queue()
        self._tasks = TaskScope("calling events")
        self._started = False

    def offer(self, events: Sequence[Lifecycle]) -> None:
        wanted = [e for e in events if self._wants(PREFIX + e.kind.value)]
        if wanted:
            self._queue.put_nowait(wanted)

    async def start(self) -> None:
        await self._tasks.start()
        self._tasks.spawn(self._write(), name="calling events")
        self._started = True

    async def stop(self) -> None:
        """Write what is queued (shutdown drains), then stop."""
        if not self._started:
            return
        self._started = False
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._queue.join(), timeout=5.0)
        await self._tasks.stop()

    async def _write(self) -> None:
        while True:
            batch = await self._queue.get()
            while not self._queue.empty():  # one transaction for whatever piled up
                batch.extend(self._queue.get_nowait())
                self._queue.task_done()
            try:
                async with self._database.write() as conn:
                    await self._outbox.add(conn, [integration_event(e) for e in batch])
                await self._outbox.notify()
            except Exception:  # a database blip loses these events; signaling goes on
                log.exception("could not write %d call events to the outbox", len(batch))
            finally:
                self._queue.task_done()
