"""What the rooms domain tells others, as typed events on the bus.

    RoomsService.change_participants ─commit─▶ bus "rooms.participants":
        RoomParticipantsChanged(room_id) ─▶ calling (every node): the room's call re-reads
        its roster and applies role changes live (and ends the call of a removed member)

Encoded with msgspec once per change; a consumer decodes with ``decode_room_event``.
"""

from __future__ import annotations

import msgspec

ROOM_EVENTS = "rooms.participants"  # the bus topic


class RoomParticipantsChanged(msgspec.Struct, frozen=True, tag="participantsChanged"):
    """A room's roster changed (participants added, removed or given another role)."""

    room_id: str


RoomEvent = RoomParticipantsChanged  # a union as more kinds appear

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(RoomEvent)


def encode_room_event(event: RoomEvent) -> bytes:
    return _encoder.encode(event)


def decode_room_event(data: bytes) -> RoomEvent:
    """Raises ``msgspec.DecodeError`` for anything that is not a room event."""
    return _decoder.decode(data)
