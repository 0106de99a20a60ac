"""Human messages for a call's end reason (``Call.end_message``), beside ACS's code/subCode.

The same table as the browser SDK's ``src/switchboard/web/calling-end-reasons.js``
(tests/unit/test_end_reason_messages.py checks that both are equal). Rows are
``(code, sub_code, when, with_name, without_name)``: ``when`` narrows a row to "local" (this
device ended the call) or to the error behind a refusal (the signaling error code, e.g.
``NotFound`` for an unknown room); ``None`` matches any. ``{name}`` is the other side's display
name in a 1:1 call; without one, ``without_name`` is used.
"""

from __future__ import annotations

from switchboard.calling.models import EndReason

EndReasonRow = tuple[int, int, str | None, str, str]

END_REASON_MESSAGES: list[EndReasonRow] = [
    (0, 0, "local", "You left the call.", "You left the call."),
    (0, 0, None, "{name} ended the call.", "The call ended."),
    (0, 4521, None, "{name} was disconnected.", "The other side was disconnected."),
    (
        401,
        10009,
        None,
        "Your sign-in expired. Sign in again to call.",
        "Your sign-in expired. Sign in again to call.",
    ),
    (403, 0, "NotFound", "That room does not exist.", "That room does not exist."),
    (
        403,
        0,
        "CallNotAllowed",
        "The meeting is not open at this time.",
        "The meeting is not open at this time.",
    ),
    (
        403,
        0,
        "Forbidden",
        "You are not allowed to join this call.",
        "You are not allowed to join this call.",
    ),
    (403, 0, None, "You could not join the call.", "You could not join the call."),
    (
        403,
        5854,
        None,
        "The meeting organiser did not admit you.",
        "The meeting organiser did not admit you.",
    ),
    (
        403,
        5855,
        None,
        "You were removed from the meeting.",
        "You were removed from the meeting.",
    ),
    (
        403,
        5856,
        None,
        "The meeting is over: its time window ended.",
        "The meeting is over: its time window ended.",
    ),
    (404, 0, None, "That number is not in service.", "That number is not in service."),
    (408, 0, None, "Nobody answered.", "Nobody answered."),
    (480, 10037, None, "{name} is not online.", "The person you called is not online."),
    (
        480,
        10078,
        None,
        "{name} is not reachable right now.",
        "The person you called is not reachable right now.",
    ),
    (486, 0, None, "{name} is busy.", "The person you called is busy."),
    (487, 0, None, "The call was cancelled.", "The call was cancelled."),
    (
        487,
        10003,
        None,
        "The call was answered on another device.",
        "The call was answered on another device.",
    ),
    (487, 10004, None, "{name} did not answer.", "Nobody answered."),
    (
        496,
        7,
        None,
        "The connection was lost and could not be restored.",
        "The connection was lost and could not be restored.",
    ),
    (
        500,
        0,
        "NotAllowedError",
        "Your microphone or camera could not be used: access was refused.",
        "Your microphone or camera could not be used: access was refused.",
    ),
    (
        500,
        0,
        "NotFoundError",
        "No microphone or camera was found.",
        "No microphone or camera was found.",
    ),
    (
        500,
        0,
        "NotReadableError",
        "Your microphone or camera is in use by another app.",
        "Your microphone or camera is in use by another app.",
    ),
    (500, 0, None, "The call could not be set up.", "The call could not be set up."),
    (
        503,
        0,
        None,
        "The call could not be connected: no phone line is available.",
        "The call could not be connected: no phone line is available.",
    ),
    (603, 0, None, "{name} declined the call.", "The call was declined."),
    # The signaling socket closed for good (close codes, docs/calling-protocol.md).
    (
        4003,
        0,
        None,
        "Your sign-in was revoked. Sign in again to call.",
        "Your sign-in was revoked. Sign in again to call.",
    ),
    (4006, 0, None, "This account may not make calls.", "This account may not make calls."),
    (
        4009,
        0,
        None,
        "This page is out of date: reload it to call.",
        "This page is out of date: reload it to call.",
    ),
    (
        4011,
        0,
        None,
        "Calling moved to another tab or window of yours.",
        "Calling moved to another tab or window of yours.",
    ),
]

DEFAULT_END_MESSAGE = "The call ended."


def end_reason_message(reason: EndReason, name: str | None = None, when: str | None = None) -> str:
    """The row of (code, sub_code, when), else of (code, sub_code), else of (code, 0) with no
    ``when``, else the default; ``{name}`` filled in, or the nameless text."""

    def find(sub_code: int, narrowed: str | None) -> EndReasonRow | None:
        for row in END_REASON_MESSAGES:
            if row[0] == reason.code and row[1] == sub_code and row[2] == narrowed:
                return row
        return None

    row = (
        (find(reason.sub_code, when) if when else None)
        or find(reason.sub_code, None)
        or (find(0, when) if when else None)
        or find(0, None)
    )
    if row is None:
        return DEFAULT_END_MESSAGE
    trimmed = (name or "").strip()
    return row[3].replace("{name}", trimmed) if trimmed else row[4]
