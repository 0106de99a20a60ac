"""http/websocket.py: the token and close-code rules chat realtime and calling signaling share."""

from __future__ import annotations

from starlette.websockets import WebSocket

from switchboard.calling.signaling.protocol import CLOSE_FORBIDDEN
from switchboard.core.errors import AuthenticationError, PermissionDeniedError, TokenRevokedError
from switchboard.http.websocket import close_code, token_of


def socket(
    headers: list[tuple[bytes, bytes]], query: bytes = b"", *, subprotocols: list[str] | None = None
) -> WebSocket:
    scope = {
        "type": "websocket",
        "path": "/",
        "headers": headers,
        "query_string": query,
        "subprotocols": subprotocols or [],
    }

    async def never() -> dict[str, str]:
        raise AssertionError("not read")

    async def ignore(_message: object) -> None:
        return None

    return WebSocket(scope, never, ignore)


def test_the_bearer_header_wins_over_the_query_parameter() -> None:
    ws = socket([(b"authorization", b"Bearer  abc ")], b"access_token=xyz")
    assert token_of(ws) == "abc"


def test_browsers_pass_the_token_in_a_subprotocol_beside_the_protocol() -> None:
    offered = socket([], subprotocols=["switchboard.chat.v1", "access_token.e.y.z"])
    assert token_of(offered) == "e.y.z"
    assert token_of(socket([(b"authorization", b"Basic Zm9v")])) == ""


def test_a_token_in_the_query_is_still_read_for_older_clients() -> None:
    assert token_of(socket([], b"access_token=xyz")) == "xyz"
    both = socket([], b"access_token=old", subprotocols=["access_token.new"])
    assert token_of(both) == "new"


def test_auth_failures_map_to_the_documented_close_codes() -> None:
    assert close_code(TokenRevokedError("revoked")) == 4003
    assert close_code(AuthenticationError("expired")) == 4001
    assert close_code(PermissionDeniedError("no scope")) == 4001  # chat: no code of its own
    assert close_code(PermissionDeniedError("no voip"), forbidden=CLOSE_FORBIDDEN) == 4006
