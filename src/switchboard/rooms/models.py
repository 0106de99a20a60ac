"""Rooms domain model: rooms, participants, roles and what each role may do in a call."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from enum import StrEnum

from switchboard.core.errors import BadRequestError
from switchboard.core.identifiers import IdentifierKind, identifier_from_raw_id

DAY_MS = 86_400_000
MAX_WINDOW_MS = 180 * DAY_MS
"""A room is open for at most 180 days, and cannot open more than 180 days ahead."""

ROOM_ID_DIGITS = 17  # as ACS: e.g. "99454291444134085"
_ROOM_ID = re.compile(r"[0-9]{10,24}")

# Who can be invited to a room: ACS users, and (since 2024-04-15) Teams users.
_INVITABLE = frozenset({IdentifierKind.COMMUNICATION_USER, IdentifierKind.MICROSOFT_TEAMS_USER})


class ParticipantRole(StrEnum):
    PRESENTER = "Presenter"
    ATTENDEE = "Attendee"
    CONSUMER = "Consumer"
    COLLABORATOR = "Collaborator"


DEFAULT_ROLE = ParticipantRole.ATTENDEE


class Permission(StrEnum):
    """What calling enforces for a room member.

    From the role table of the ACS Rooms documentation (not verified against a live service):
    Consumers only receive; only Presenters manage others; Attendees cannot share the screen.
    """

    JOIN = "join"
    PUBLISH_MEDIA = "publishMedia"  # send audio and video
    SHARE_SCREEN = "shareScreen"
    DIAL_OUT = "dialOut"  # add a PSTN participant; also needs room.pstn_dial_out_enabled
    MANAGE_PARTICIPANTS = "manageParticipants"  # remove/mute others


_PERMISSIONS: dict[ParticipantRole, frozenset[Permission]] = {
    ParticipantRole.PRESENTER: frozenset(Permission),
    ParticipantRole.COLLABORATOR: frozenset(
        {Permission.JOIN, Permission.PUBLISH_MEDIA, Permission.SHARE_SCREEN, Permission.DIAL_OUT}
    ),
    ParticipantRole.ATTENDEE: frozenset(
        {Permission.JOIN, Permission.PUBLISH_MEDIA, Permission.DIAL_OUT}
    ),
    ParticipantRole.CONSUMER: frozenset({Permission.JOIN}),  # receives only
}


def parse_role(value: str | None) -> ParticipantRole:
    """A role from the wire; missing means Attendee, the names are case-insensitive."""
    if value is None:
        return DEFAULT_ROLE
    for role in ParticipantRole:
        if role.value.lower() == value.strip().lower():
            return role
    allowed = ", ".join(r.value for r in ParticipantRole)
    raise BadRequestError(
        f"Invalid role '{value}'. Allowed roles: {allowed}.", target="participants.role"
    )


def check_invitable(raw_id: str) -> str:
    """The raw id, if it names someone who can be a room participant; else 400 (as ACS)."""
    # ACS names no target here (its recorded answer: "Invalid format for communication
    # identifier."); the message says which id.
    if not raw_id or identifier_from_raw_id(raw_id).kind not in _INVITABLE:
        raise BadRequestError(
            f"Invalid format for communication identifier: '{raw_id}' is not an ACS or Teams "
            "user id."
        )
    return raw_id


def check_room_id(room_id: str) -> str:
    """ACS answers 400 "Invalid room ID length." for ids that cannot be room ids."""
    if not _ROOM_ID.fullmatch(room_id):
        raise BadRequestError("Invalid room ID length.")  # ACS names no target here
    return room_id


def new_room_id() -> str:
    """A random 17-digit id that never starts with 0 (so it stays 17 digits as a number)."""
    return str(secrets.choice("123456789")) + "".join(
        secrets.choice("0123456789") for _ in range(ROOM_ID_DIGITS - 1)
    )


@dataclass(frozen=True, slots=True)
class Room:
    id: str
    created_ms: int
    valid_from_ms: int
    valid_until_ms: int
    pstn_dial_out_enabled: bool = False

    def is_open(self, now_ms: int) -> bool:
        """Whether a call in this room may be joined at ``now_ms``."""
        return self.valid_from_ms <= now_ms < self.valid_until_ms


@dataclass(frozen=True, slots=True)
class RoomParticipant:
    raw_id: str
    role: ParticipantRole = DEFAULT_ROLE


def permissions(role: ParticipantRole | None, room: Room) -> frozenset[Permission]:
    """What ``role`` may do in ``room`` (nothing for a non-member); dial-out needs the room flag."""
    if role is None:
        return frozenset()
    granted = _PERMISSIONS[role]
    if not room.pstn_dial_out_enabled:
        granted = granted - {Permission.DIAL_OUT}
    return granted
