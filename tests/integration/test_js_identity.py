"""@azure/communication-identity (npm) against a running server: users, scoped tokens with
lifetimes, revocation and deletion (each checked by using the token with the chat SDK)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.js_sdk import NodeClients, one_server
from tests.integration.server import RunningServer


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    yield from one_server(tmp_path_factory)


def test_tokens_carry_their_scopes_and_lifetimes_and_die_with_revocation(
    server: RunningServer,
) -> None:
    result = NodeClients(server).run("identity.mjs")
    assert result["apiVersions"] == ["2023-10-01"]
    user, both = result["user"], result["both"]
    assert user.startswith("8:acs:") and both["user"].startswith("8:acs:")
    assert user != both["user"]
    assert both["skypeid"] == both["user"].removeprefix("8:")
    # expiresOn is parsed by the SDK into a Date: minutes from now, as asked (default 24 h).
    assert (both["minutes"], both["scope"]) == (120, "chat,voip")
    assert (result["chatOnly"]["minutes"], result["chatOnly"]["scope"]) == (60, "chat")
    assert result["joinOnly"] == {"minutes": 1440, "scope": "chat.join.limited"}
    assert result["usableBefore"] == 200
    assert result["usableAfterRevoke"] == 401
    assert result["freshUsable"] == 200  # revocation ends the tokens issued before it only
    assert result["deletedUsable"] == 401
    assert result["tooShort"] == {"status": 400, "code": "ValidationError"}
