"""Meetings: a Room per meeting, made with the official ``azure-communication-rooms`` SDK.

The organiser is the Room's Presenter (admits whoever waits in the lobby); each invited friend
gets the role the organiser chose, Attendee (talks, shows video) or Consumer (watches and
listens). Anyone else who knows the room id may ask to join: the call puts them in its lobby.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from azure.communication.rooms import (
    CommunicationUserIdentifier,
    ParticipantRole,
    RoomParticipant,
)

from examples.sample_app.identity import AppUser

MEETING_HOURS = 8  # how long a meeting's Room stays open


class MeetingRole(StrEnum):
    """The roles an organiser may give invitees (the organiser is the Presenter)."""

    ATTENDEE = "Attendee"
    CONSUMER = "Consumer"


@dataclass(frozen=True, slots=True)
class Meeting:
    room_id: str
    organiser: str
    roster: tuple[tuple[str, str], ...]  # (name, role), the organiser first
    created_at: float

    def json(self) -> dict[str, object]:
        return {
            "roomId": self.room_id,
            "organiser": self.organiser,
            "roster": [{"name": name, "role": role} for name, role in self.roster],
            "createdAt": self.created_at,
        }

    def role_of(self, user: AppUser) -> str | None:
        return next((role for name, role in self.roster if name == user.name), None)


class Meetings:
    def __init__(self, rooms_client: Any) -> None:
        """``rooms_client``: an aio ``RoomsClient`` (official SDK)."""
        self._rooms = rooms_client
        self._meetings: list[Meeting] = []

    async def create(
        self, organiser: AppUser, invited: list[tuple[AppUser, MeetingRole]]
    ) -> Meeting:
        roster = [(organiser, "Presenter")] + [
            (user, role.value) for user, role in invited if user.name != organiser.name
        ]
        participants = [
            RoomParticipant(
                communication_identifier=CommunicationUserIdentifier(user.user_id),
                role=ParticipantRole(role),
            )
            for user, role in roster
        ]
        now = datetime.now(UTC)
        room = await self._rooms.create_room(
            valid_from=now - timedelta(minutes=1),
            valid_until=now + timedelta(hours=MEETING_HOURS),
            participants=participants,
        )
        meeting = Meeting(
            str(room.id), organiser.name, tuple((u.name, r) for u, r in roster), time.time()
        )
        self._meetings.append(meeting)
        return meeting

    def for_user(self, user: AppUser) -> list[Meeting]:
        """Meetings the user organises or is invited to, newest first."""
        return [m for m in self._meetings if m.role_of(user) is not None][::-1]
