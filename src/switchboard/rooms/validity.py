"""The validity window of a room: defaults and limits, as ACS applies them.

    create:  validFrom  = given or now
             validUntil = given or validFrom + 180 days
    update:  a field that is null or absent keeps its current value (the SDK always sends both)
    checks (in this order, each a 400 naming the field as ACS does):
             validFrom  ≤ now + 180 days          "Value is incorrect or more than 180 days ..."
             validUntil > now                     "The time range end is in the past."
             0 < validUntil − validFrom ≤ 180 d   "The time range is incorrect, or larger ..."

All times are integer milliseconds since the epoch; ``now_ms`` comes from the caller's clock.
"""

from __future__ import annotations

from dataclasses import dataclass

from switchboard.core.errors import BadRequestError
from switchboard.rooms.models import MAX_WINDOW_MS, Room


@dataclass(frozen=True, slots=True)
class Window:
    valid_from_ms: int
    valid_until_ms: int


def new_window(now_ms: int, valid_from_ms: int | None, valid_until_ms: int | None) -> Window:
    start = now_ms if valid_from_ms is None else valid_from_ms
    end = start + MAX_WINDOW_MS if valid_until_ms is None else valid_until_ms
    return checked(Window(start, end), now_ms)


def changed_window(
    room: Room, now_ms: int, valid_from_ms: int | None, valid_until_ms: int | None
) -> Window:
    """The window after an update. An update that leaves both ends alone is not re-checked, so
    e.g. toggling pstnDialOutEnabled works on a room whose window has already ended."""
    current = Window(room.valid_from_ms, room.valid_until_ms)
    if valid_from_ms is None and valid_until_ms is None:
        return current
    window = Window(
        current.valid_from_ms if valid_from_ms is None else valid_from_ms,
        current.valid_until_ms if valid_until_ms is None else valid_until_ms,
    )
    return checked(window, now_ms)


def checked(window: Window, now_ms: int) -> Window:
    if window.valid_from_ms > now_ms + MAX_WINDOW_MS:
        raise bad_argument("Value is incorrect or more than 180 days in the future.", "ValidFrom")
    if window.valid_until_ms <= now_ms:
        raise bad_argument("The time range end is in the past.", "ValidUntil")
    length = window.valid_until_ms - window.valid_from_ms
    if not 0 < length <= MAX_WINDOW_MS:
        raise bad_argument("The time range is incorrect, or larger than 180 days.", "ValidUntil")
    return window


def bad_argument(message: str, target: str) -> BadRequestError:
    """ACS Rooms' validation error: a generic 400 with the field named in ``details``."""
    detail = BadRequestError(message, target=target, code="BadArgument")
    return BadRequestError(
        "The request could not be understood by the server due to malformed syntax.",
        details=(detail,),
    )
