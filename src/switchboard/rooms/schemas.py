"""Rooms wire shapes (api-version 2023-03-31-preview … 2025-03-13): the only place with camelCase.

The SDK indexes all five room keys (a missing one is a KeyError on the client), so
``room_json`` always writes every one of them that the request's api-version has.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import msgspec

from switchboard.core.clock import iso8601
from switchboard.rooms.models import ParticipantRole, Room, RoomParticipant, parse_role


class ParticipantProperties(msgspec.Struct):
    role: str | None = None  # the SDK always sends one; a missing role means Attendee


class CreateRoomRequest(msgspec.Struct, rename="camel"):
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    pstn_dial_out_enabled: bool | None = None
    participants: dict[str, ParticipantProperties | None] | None = None


class UpdateRoomRequest(msgspec.Struct, rename="camel"):
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    pstn_dial_out_enabled: bool | None = None


class UpdateParticipantsRequest(msgspec.Struct, rename="camel"):
    participants: dict[str, ParticipantProperties | None] | None = None


def epoch_ms(value: datetime | None) -> int | None:
    """Milliseconds since the epoch; a time without a zone is taken as UTC."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return int(value.timestamp() * 1000)


def roles(
    participants: Mapping[str, ParticipantProperties | None] | None,
) -> dict[str, ParticipantRole | None]:
    """``{rawId: role}``, with ``None`` where the request says ``null`` (remove)."""
    return {
        raw_id: None if props is None else parse_role(props.role)
        for raw_id, props in (participants or {}).items()
    }


# pstnDialOutEnabled came with 2023-10-30-preview; the versions before it never send it.
_WITHOUT_PSTN_DIAL_OUT = frozenset({"2023-03-31-preview", "2023-06-14"})


def room_json(room: Room, api_version: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": room.id,
        "createdAt": iso8601(room.created_ms / 1000),
        "validFrom": iso8601(room.valid_from_ms / 1000),
        "validUntil": iso8601(room.valid_until_ms / 1000),
    }
    if api_version not in _WITHOUT_PSTN_DIAL_OUT:
        body["pstnDialOutEnabled"] = room.pstn_dial_out_enabled
    return body


def participant_json(participant: RoomParticipant) -> dict[str, Any]:
    return {"rawId": participant.raw_id, "role": participant.role.value}
