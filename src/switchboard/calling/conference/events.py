"""GroupCallEvents: the Event Grid lifecycle of one group or Room call. Sans-I/O.

    first member Connected ─▶ CallStarted (startedBy: that member, its Room role)
                            + CallParticipantAdded
    a member Connected (joined, admitted from the lobby) ─▶ CallParticipantAdded
    a Connected member leaves (hang-up, dropped, removed, rejected…) ─▶ CallParticipantRemoved
    the last one out, or the room's window closed ─▶ CallEnded (reason, duration)

Lobby members are not in the call yet: they produce nothing until admitted. ``serverCallId``
is the call id (``group:<id>``/``room:<id>``/``server:<id>``), as the clients see it;
``correlationId`` is fresh for each run of the call, so two runs of one group call differ.
"""

from __future__ import annotations

import uuid

from switchboard.calling.lifecycle import Lifecycle, LifecycleKind, LifecycleParticipant
from switchboard.calling.models import EndReason

DEFAULT_ROLE = "Attendee"  # what ACS reports for a group call's members (no Room roles)


class GroupCallEvents:
    def __init__(self, call_id: str, *, group_id: str | None, room_id: str | None) -> None:
        self.call_id = call_id
        self.group_id = group_id
        self.room_id = room_id
        self.correlation_id = str(uuid.uuid4())
        self.started_at: float | None = None
        self._started_by = ""
        self._started_role = DEFAULT_ROLE
        self._in_call: set[str] = set()  # participant ids reported added

    @property
    def started(self) -> bool:
        return self.started_at is not None

    def added(self, member: LifecycleParticipant, role: str | None, now: float) -> list[Lifecycle]:
        out: list[Lifecycle] = []
        if self.started_at is None:
            self.started_at = now
            self._started_by = member.user_id
            self._started_role = role or DEFAULT_ROLE
            out.append(self._fact(LifecycleKind.CALL_STARTED, now))
        if member.id not in self._in_call:
            self._in_call.add(member.id)
            out.append(self._fact(LifecycleKind.PARTICIPANT_ADDED, now, member, role))
        return out

    def removed(
        self, member: LifecycleParticipant, role: str | None, now: float
    ) -> list[Lifecycle]:
        if member.id not in self._in_call:
            return []  # a lobby member, or a join that failed: never reported in
        self._in_call.discard(member.id)
        return [self._fact(LifecycleKind.PARTICIPANT_REMOVED, now, member, role)]

    def ended(self, reason: EndReason, ended_by: str | None, now: float) -> list[Lifecycle]:
        if self.started_at is None:
            return []  # nobody ever got in: no call to report
        return [
            self._fact(
                LifecycleKind.CALL_ENDED,
                now,
                reason=reason,
                ended_by=ended_by,
                duration=now - self.started_at,
            )
        ]

    def _fact(
        self,
        kind: LifecycleKind,
        at: float,
        participant: LifecycleParticipant | None = None,
        role: str | None = None,
        *,
        reason: EndReason | None = None,
        ended_by: str | None = None,
        duration: float | None = None,
    ) -> Lifecycle:
        return Lifecycle(
            kind,
            self.call_id,
            at,
            self._started_by,
            participant=participant,
            reason=reason,
            ended_by=ended_by,
            duration=duration,
            group_id=self.group_id,
            room_id=self.room_id,
            correlation_id=self.correlation_id,
            started_by_role=self._started_role,
            participant_role=role or DEFAULT_ROLE,
            two_party=False,
        )
