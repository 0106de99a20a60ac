"""SIP final responses ⇄ ACS end reasons (what the app sees in CreateCallFailed and the like).

outbound: the trunk's final response ─end_reason─▶ EndReason (486 busy, 603 declined,
    404/410/484/604 not in service, 408/480 no answer, 403 forbidden, else the status)
inbound: our refusal's EndReason ─sip_status─▶ the status the trunk hears
"""

from __future__ import annotations

from switchboard.calling import models as m
from switchboard.calling.models import EndReason
from switchboard.calling.pstn.ports import FORBIDDEN, NO_ANSWER, NOT_IN_SERVICE

TRUNKS_FAILED = EndReason(503, 0, "No trunk could place the call.")
NO_ROUTE = NOT_IN_SERVICE

_BY_STATUS = {
    486: m.BUSY,
    600: m.BUSY,
    603: m.DECLINED,
    404: NOT_IN_SERVICE,
    410: NOT_IN_SERVICE,
    484: NOT_IN_SERVICE,
    604: NOT_IN_SERVICE,
    408: NO_ANSWER,
    480: NO_ANSWER,
    403: FORBIDDEN,
}

REASON_PHRASES = {
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    480: "Temporarily Unavailable",
    481: "Call/Transaction Does Not Exist",
    486: "Busy Here",
    487: "Request Terminated",
    488: "Not Acceptable Here",
    500: "Server Internal Error",
    503: "Service Unavailable",
    603: "Decline",
}


def end_reason(status: int, phrase: str) -> EndReason:
    known = _BY_STATUS.get(status)
    if known is not None:
        return known
    return EndReason(status, 0, phrase or REASON_PHRASES.get(status, "The call failed."))


def sip_status(reason: EndReason) -> int:
    if reason.code == NO_ANSWER.code:
        return 480
    if 400 <= reason.code <= 699:
        return reason.code
    return 480


def should_fail_over(status: int) -> bool:
    """A trunk's own trouble (5xx), not the callee's answer: try the route's next trunk."""
    return 500 <= status <= 599
