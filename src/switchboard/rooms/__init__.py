"""Rooms: scheduled meetings with a roster and roles, which calling enforces."""

from switchboard.rooms.models import ParticipantRole, Permission, Room, RoomParticipant, permissions
from switchboard.rooms.service import RoomDirectory, RoomsService

__all__ = [
    "ParticipantRole",
    "Permission",
    "Room",
    "RoomDirectory",
    "RoomParticipant",
    "RoomsService",
    "permissions",
]
