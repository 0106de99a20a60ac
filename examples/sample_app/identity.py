"""Identity management service: app users (signed in by name) ↔ Switchboard identities.

Each app user gets one Switchboard identity on first sign-in (official identity SDK with the
connection string), an app session, a friend list (mutual), and access tokens for chat + voip.
State lives in memory: a restart forgets users (fine for a sample; a real app has a database).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from azure.communication.identity import CommunicationUserIdentifier

TOKEN_SCOPES = ["chat", "voip"]
_TOKEN_MARGIN_SECONDS = 600  # hand out a fresh token when the cached one has less left


class UnknownUserError(Exception):
    """No app user by that name (or session)."""


@dataclass(slots=True)
class AppUser:
    name: str
    user_id: str  # the Switchboard identity, e.g. "8:acs:…"
    friends: set[str] = field(default_factory=set)
    token: str | None = None
    token_expires_at: float = 0.0


class IdentityManagement:
    def __init__(self, identity_client: Any) -> None:
        """``identity_client``: an aio ``CommunicationIdentityClient`` (official SDK)."""
        self._identity = identity_client
        self._users: dict[str, AppUser] = {}
        self._sessions: dict[str, str] = {}  # session → user name

    async def sign_in(self, name: str) -> tuple[AppUser, str]:
        """The user called ``name`` (created with its Switchboard identity on first sign-in),
        and a new session for it."""
        name = name.strip()
        if not name or len(name) > 40:
            raise ValueError("a name is 1 to 40 characters")
        user = self._users.get(name.lower())
        if user is None:
            identifier, token = await self._identity.create_user_and_token(scopes=TOKEN_SCOPES)
            user = AppUser(name, str(identifier.properties["id"]))
            user.token, user.token_expires_at = token.token, _epoch(token.expires_on)
            self._users[name.lower()] = user
        session = secrets.token_urlsafe(24)
        self._sessions[session] = user.name.lower()
        return user, session

    def by_session(self, session: str) -> AppUser:
        name = self._sessions.get(session)
        if name is None:
            raise UnknownUserError("not signed in")
        return self._users[name]

    def by_name(self, name: str) -> AppUser:
        user = self._users.get(name.strip().lower())
        if user is None:
            raise UnknownUserError(f"nobody called {name!r} has signed in yet")
        return user

    def all(self) -> list[AppUser]:
        return sorted(self._users.values(), key=lambda u: u.name.lower())

    def by_user_id(self, user_id: str) -> AppUser | None:
        return next((u for u in self._users.values() if u.user_id == user_id), None)

    async def token(self, user: AppUser) -> tuple[str, float]:
        """A chat + voip token for the user (cached while it has time left)."""
        if user.token is None or user.token_expires_at - time.time() < _TOKEN_MARGIN_SECONDS:
            identifier = CommunicationUserIdentifier(user.user_id)
            token = await self._identity.get_token(identifier, TOKEN_SCOPES)
            user.token, user.token_expires_at = token.token, _epoch(token.expires_on)
        assert user.token is not None  # set just above
        return user.token, user.token_expires_at

    def befriend(self, user: AppUser, friend: AppUser) -> bool:
        """Make them friends (both ways); False if they already were."""
        if friend.name == user.name:
            raise ValueError("you cannot befriend yourself")
        if friend.name.lower() in user.friends:
            return False
        user.friends.add(friend.name.lower())
        friend.friends.add(user.name.lower())
        return True

    def friends(self, user: AppUser) -> list[AppUser]:
        return sorted((self._users[n] for n in user.friends), key=lambda u: u.name.lower())


def _epoch(expires_on: Any) -> float:
    """An AccessToken's expiry in seconds: the sync SDK gives an int, the aio one (as of
    azure-communication-identity 1.5) the service's ISO 8601 string, older ones a datetime."""
    if isinstance(expires_on, datetime):
        return expires_on.timestamp()
    if isinstance(expires_on, str):
        return datetime.fromisoformat(expires_on.replace("Z", "+00:00")).timestamp()
    return float(expires_on)
