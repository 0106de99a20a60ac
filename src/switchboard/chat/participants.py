"""Participant helpers shared by the chat services."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import msgspec

from switchboard.chat.models import NewParticipant, Participant
from switchboard.core.identifiers import is_acs_user_id


class IdentityDirectory(Protocol):
    async def is_live(self, user_id: str) -> bool: ...


class InvalidParticipant(msgspec.Struct):
    raw_id: str
    code: str
    message: str


def find_participant(participants: Sequence[Participant], user_id: str) -> Participant | None:
    for participant in participants:
        if participant.user_id == user_id:
            return participant
    return None


async def validate_new_participants(
    identities: IdentityDirectory, participants: Sequence[NewParticipant]
) -> tuple[list[NewParticipant], list[InvalidParticipant]]:
    valid: list[NewParticipant] = []
    invalid: list[InvalidParticipant] = []
    seen: set[str] = set()
    for participant in participants:
        raw_id = participant.user_id
        if raw_id in seen:
            continue
        seen.add(raw_id)
        if not is_acs_user_id(raw_id):
            invalid.append(
                InvalidParticipant(
                    raw_id,
                    "InvalidParticipant",
                    "Only Communication Services users of this resource can join chat threads.",
                )
            )
        elif not await identities.is_live(raw_id):
            invalid.append(
                InvalidParticipant(
                    raw_id,
                    "IdentityNotFound",
                    f"Identity '{raw_id}' was not found.",
                )
            )
        else:
            valid.append(participant)
    return valid, invalid
