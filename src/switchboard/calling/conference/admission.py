"""Who gets into a conference and how long: the joiner, a Room's roster and window, the lobby.

    join ─▶ group call: in, with every permission
         ─▶ Room call: room_admission: the window open? (else 403) ─▶ the joiner's role on
            the roster: its permissions; off the roster: the lobby (no role, no permission)
    lobby ─▶ Lobby.hold(offer) ─▶ a Presenter admits ─▶ Lobby.admit: its offer, a guest now
          (guests keep their place when the roster changes: they were never on it)
    Room call running ─▶ WindowWatch: look at the window again when it ends, and at least
          every WINDOW_CHECK_SECONDS (the Rooms API can shrink it and announces nothing)

conference.py acts on these answers; nothing here sends a message.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from switchboard.calling.errors import CallNotAllowedError
from switchboard.calling.models import DeviceAddress
from switchboard.core.clock import Clock
from switchboard.core.errors import NotSupportedError
from switchboard.rooms.models import Permission, Room, permissions
from switchboard.rooms.service import RoomDirectory

# The window can also shrink through the Rooms API, which announces nothing: look again at
# least this often while the call runs.
WINDOW_CHECK_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class Joiner:
    """Who sends a request, as the node holding its socket vouches."""

    device: DeviceAddress
    user_id: str
    join_only: bool  # a voip.join token: may join running calls and rooms, not start calls
    # The state the device is shown instead of Connected until ``Conference.show`` says
    # otherwise: a call to a phone number is Connecting/Ringing until the phone answers.
    shown: str | None = None


@dataclass(frozen=True, slots=True)
class Admission:
    """How a joiner comes in: its Room role (None in a group call or off the roster), what
    it may do, and whether it waits in the lobby."""

    role: str | None = None
    granted: frozenset[Permission] = frozenset(Permission)
    lobby: bool = False


async def room_admission(
    rooms: RoomDirectory | None, room_id: str, user_id: str, now_ms: int
) -> tuple[Admission, Room]:
    """A Room call's joiner: its admission, and the room (to watch its window)."""
    if rooms is None:
        raise NotSupportedError("Rooms are not available on this node.")
    room = await rooms.get(room_id)
    if not room.is_open(now_ms):
        raise CallNotAllowedError("The room is not open (outside its validity window).")
    found = await rooms.role_of(room_id, user_id)
    role = found.value if found is not None else None
    return Admission(role, permissions(found, room), lobby=found is None), room


class Lobby:
    """Members waiting in the lobby with the offer (and screen-share mids) they joined with,
    and the guests admitted from it (in the call, not on the roster)."""

    def __init__(self) -> None:
        self._waiting: dict[str, tuple[str, set[str]]] = {}
        self._guests: set[str] = set()

    def hold(self, member_id: str, offer: str, screen: set[str]) -> None:
        self._waiting[member_id] = (offer, screen)

    def admit(self, member_id: str) -> tuple[str, set[str]]:
        """A waiting member is admitted: it is a guest now; (offer, screen) to connect it."""
        self._guests.add(member_id)
        return self._waiting.pop(member_id)

    def reject(self, member_ids: Iterable[str]) -> None:
        for member_id in member_ids:
            self._waiting.pop(member_id, None)

    def forget(self, member_id: str) -> None:
        """The member left (from the lobby or the call)."""
        self._waiting.pop(member_id, None)
        self._guests.discard(member_id)

    def clear(self) -> None:
        self._waiting.clear()
        self._guests.clear()

    def is_guest(self, member_id: str) -> bool:
        return member_id in self._guests


class WindowWatch:
    """One timer: ``check`` runs when a Room's window ends, or within WINDOW_CHECK_SECONDS."""

    def __init__(self, clock: Clock, check: Callable[[], object]) -> None:
        self._clock = clock
        self._check = check
        self._timer: asyncio.TimerHandle | None = None

    def watch(self, room: Room) -> None:
        self.cancel()
        delay = min(max(room.valid_until_ms / 1000 - self._clock.now(), 0.0), WINDOW_CHECK_SECONDS)
        self._timer = asyncio.get_running_loop().call_later(delay, self._check)

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
