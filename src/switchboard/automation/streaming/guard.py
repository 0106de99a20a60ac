"""A transportUrl through the callbacks' SSRF guard: ws:// and wss:// are checked as http://
and https:// (the same rules: wss only in production; where the host points). The socket
checks the addresses again when it connects (transport.py)."""

from __future__ import annotations

from switchboard.automation.ports import UrlGuard
from switchboard.automation.streaming.models import InvalidTransportUrlError
from switchboard.core.errors import BadRequestError


async def check_transport_url(guard: UrlGuard, url: str, target: str) -> None:
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.lower() not in ("ws", "wss"):
        raise InvalidTransportUrlError(f"{target} must be a wss:// URL.", target=target)
    as_http = ("https" if scheme.lower() == "wss" else "http") + "://" + rest
    try:
        await guard.check_callback_uri(as_http)
    except BadRequestError as error:
        reason = error.message.removeprefix("The field CallbackUri is invalid: ")
        raise InvalidTransportUrlError(
            f"{target} is refused: {reason.replace('https', 'wss')}", target=target
        ) from None
