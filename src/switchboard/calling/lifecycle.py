"""Lifecycle facts of a call, for Event Grid (``eventgrid.py``): what happened, to whom, when.

Two-party calls (``session.py``) and group/Room/server calls (``conference/events.py``)
produce them; the Event Grid sink turns each into one ``Microsoft.Communication.Call*`` event.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from switchboard.calling.models import EndReason


class LifecycleParticipant(Protocol):
    """What an event says about a participant (a two-party ``Participant``, a group member)."""

    @property
    def id(self) -> str: ...

    @property
    def user_id(self) -> str: ...

    @property
    def display_name(self) -> str: ...


class LifecycleKind(StrEnum):
    CALL_STARTED = "CallStarted"
    CALL_ENDED = "CallEnded"
    PARTICIPANT_ADDED = "CallParticipantAdded"
    PARTICIPANT_REMOVED = "CallParticipantRemoved"


@dataclass(frozen=True, slots=True)
class Lifecycle:
    kind: LifecycleKind
    call_id: str
    at: float
    started_by: str  # the caller's (a group call: the first member's) raw id
    participant: LifecycleParticipant | None = None
    reason: EndReason | None = None
    ended_by: str | None = None
    duration: float | None = None
    group_id: str | None = None  # a group call's GUID
    room_id: str | None = None  # a Room call's room
    correlation_id: str | None = None  # None: the call id
    started_by_role: str = "Attendee"  # a Room role in a Room call
    participant_role: str = "Attendee"
    two_party: bool = True  # false for group, Room and server calls
