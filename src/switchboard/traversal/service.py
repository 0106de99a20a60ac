"""RelayService: ICE servers with fresh TURN credentials, for the SDK and for our calling clients.

    issue(user, routeType, ttl) ─▶ expiry = now + clamp(ttl) ─▶ TURN REST credential
                                ─▶ one ICE server per route type asked for (both if none)

Every route type gets the same servers here: a single deployment has no "nearest" versus
"any" network, but clients that ask for one still get an entry labelled with it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from switchboard.core.clock import Clock
from switchboard.core.errors import BadRequestError
from switchboard.core.identifiers import is_acs_user_id
from switchboard.traversal.credentials import TurnCredential, issue

MAX_TTL_SECONDS = 172_800  # 48 h: the spec's maximum and default
_MAX_USER_CHARS = 256  # keeps the TURN username well under STUN's 513-byte limit


class RouteType(StrEnum):
    ANY = "any"
    NEAREST = "nearest"


def parse_route_type(value: str | None) -> RouteType | None:
    if value is None:
        return None
    try:
        return RouteType(value.strip().lower())
    except ValueError:
        raise BadRequestError(
            f"Invalid routeType '{value}'. Allowed: any, nearest.", target="routeType"
        ) from None


def credential_lifetime(ttl: int | None) -> int:
    """Seconds the credential lives: the default for none or too much (as the spec says)."""
    if ttl is None or ttl > MAX_TTL_SECONDS:
        return MAX_TTL_SECONDS
    if ttl < 0:
        raise BadRequestError("ttl must be between 0 and 172800 seconds.", target="ttl")
    return ttl


@dataclass(frozen=True, slots=True)
class IceServer:
    urls: tuple[str, ...]
    credential: TurnCredential
    route_type: RouteType


@dataclass(frozen=True, slots=True)
class RelayConfiguration:
    expires_at: int  # epoch seconds
    ice_servers: tuple[IceServer, ...]


class RelayService:
    def __init__(
        self,
        secret: str,
        urls: Sequence[str],
        clock: Clock,
        *,
        available: Callable[[], bool] = lambda: True,
    ) -> None:
        if not secret:
            raise ValueError("the TURN secret must not be empty")
        self._secret = secret
        self._urls = tuple(urls)
        self._clock = clock
        self._available = available
        self.issued = 0  # credentials handed out (the SDK's and calling's), for metrics

    @property
    def available(self) -> bool:
        """False when the TURN server is known not to answer (unmanaged and nothing listens):
        calling then hands out no ICE servers; the Network Traversal API still answers."""
        return self._available()

    @property
    def urls(self) -> tuple[str, ...]:
        return self._urls

    def issue(
        self,
        user_id: str | None = None,
        route_type: RouteType | None = None,
        ttl: int | None = None,
    ) -> RelayConfiguration:
        """Credentials for ``user_id`` (an ACS user raw id) or anonymous ones."""
        if user_id is not None and (len(user_id) > _MAX_USER_CHARS or not is_acs_user_id(user_id)):
            raise BadRequestError(f"'{user_id}' is not an ACS user id.", target="id")
        expires_at = int(self._clock.now()) + credential_lifetime(ttl)
        credential = issue(self._secret, user_id, expires_at)
        self.issued += 1
        routes = (route_type,) if route_type is not None else (RouteType.ANY, RouteType.NEAREST)
        return RelayConfiguration(
            expires_at, tuple(IceServer(self._urls, credential, r) for r in routes)
        )
