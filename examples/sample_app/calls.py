"""Call management service: a group call id, shared with the friends invited to it.

The service creates the id (a UUID, as ACS's group call locator) and lists invitations; the
app tells each invitee in real time with a chat message carrying the id in its metadata.
Every page then joins with ``callAgent.join({ groupId })``: media goes through Switchboard's
SFU, and the call exists while someone is in it.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

from examples.sample_app.identity import AppUser


@dataclass(frozen=True, slots=True)
class GroupCall:
    group_call_id: str
    host: str
    invited: tuple[str, ...]
    created_at: float

    def json(self) -> dict[str, object]:
        return {
            "groupCallId": self.group_call_id,
            "host": self.host,
            "invited": list(self.invited),
            "createdAt": self.created_at,
        }


class GroupCalls:
    def __init__(self) -> None:
        self._calls: list[GroupCall] = []

    def create(self, host: AppUser, invited: list[AppUser]) -> GroupCall:
        names = tuple(sorted({u.name for u in invited if u.name != host.name}))
        call = GroupCall(str(uuid.uuid4()), host.name, names, time.time())
        self._calls.append(call)
        return call

    def for_user(self, user: AppUser) -> list[GroupCall]:
        """Calls the user hosts or is invited to, newest first."""
        mine = [c for c in self._calls if user.name == c.host or user.name in c.invited]
        return mine[::-1]
