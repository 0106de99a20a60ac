"""TURN REST credentials: short-lived username/password pairs a TURN server checks statelessly.

    username   = "<expiry epoch seconds>:<user>"            e.g. "1800172800:8:acs:r_u"
    credential = base64(HMAC-SHA1(shared secret, username))

coturn (``use-auth-secret`` + ``static-auth-secret``) recomputes the credential from the
username and refuses it once the expiry has passed; no per-user state on either side. coturn
reads the expiry up to the *first* colon, so a user part with colons (raw ids) is fine.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

ANONYMOUS_USER = "anonymous"


@dataclass(frozen=True, slots=True)
class TurnCredential:
    username: str
    password: str
    expires_at: int  # epoch seconds


def turn_username(expires_at: int, user: str | None) -> str:
    return f"{expires_at}:{user or ANONYMOUS_USER}"


def turn_password(secret: str, username: str) -> str:
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def issue(secret: str, user: str | None, expires_at: int) -> TurnCredential:
    username = turn_username(expires_at, user)
    return TurnCredential(username, turn_password(secret, username), expires_at)
