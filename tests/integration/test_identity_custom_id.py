"""Identity api-version 2025-03-02-preview: customId and ``GET /identities/{id}``.

No published azure-communication-identity (Python 1.5.0, npm 1.3.1) sends customId yet, so
these requests are signed here as the SDKs sign theirs; the shapes are those of the preview
REST API (the SDKs' ``getUserDetail``).
"""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.integration.admin_http import signed_request
from tests.integration.server import RunningServer

pytestmark = pytest.mark.anyio

PREVIEW = "api-version=2025-03-02-preview"
STABLE = "api-version=2023-10-01"


async def test_create_with_an_existing_custom_id_returns_that_identity(
    server: RunningServer,
) -> None:
    first = await signed_request(server, "POST", f"/identities?{PREVIEW}", {"customId": "alice"})
    assert first.status_code == 201, first.text
    identity = first.json()["identity"]
    assert identity["customId"] == "alice"
    assert "lastTokenIssuedAt" not in identity  # no token yet

    again = await signed_request(
        server,
        "POST",
        f"/identities?{PREVIEW}",
        {"customId": "alice", "createTokenWithScopes": ["chat"]},
    )
    assert again.status_code == 201, again.text
    body = again.json()
    assert body["identity"]["id"] == identity["id"]
    assert body["identity"]["customId"] == "alice"
    datetime.fromisoformat(body["identity"]["lastTokenIssuedAt"])
    assert body["accessToken"]["token"]

    other = await signed_request(server, "POST", f"/identities?{PREVIEW}", {"customId": "bob"})
    assert other.json()["identity"]["id"] != identity["id"]


async def test_get_identity_returns_its_details(server: RunningServer) -> None:
    created = await signed_request(
        server,
        "POST",
        f"/identities?{PREVIEW}",
        {"customId": "carol", "createTokenWithScopes": ["voip"]},
    )
    user_id = created.json()["identity"]["id"]
    got = await signed_request(server, "GET", f"/identities/{user_id}?{PREVIEW}")
    assert got.status_code == 200, got.text
    detail = got.json()
    assert set(detail) == {"id", "customId", "lastTokenIssuedAt"}
    assert (detail["id"], detail["customId"]) == (user_id, "carol")

    # Versions before the preview know only the id.
    assert (await signed_request(server, "GET", f"/identities/{user_id}?{STABLE}")).json() == {
        "id": user_id
    }
    plain = await signed_request(server, "POST", f"/identities?{STABLE}", {"customId": "dave"})
    assert plain.json() == {"identity": {"id": plain.json()["identity"]["id"]}}


async def test_a_deleted_identity_frees_its_custom_id(server: RunningServer) -> None:
    created = await signed_request(server, "POST", f"/identities?{PREVIEW}", {"customId": "erin"})
    user_id = created.json()["identity"]["id"]
    deleted = await signed_request(server, "DELETE", f"/identities/{user_id}?{PREVIEW}")
    assert deleted.status_code == 204
    gone = await signed_request(server, "GET", f"/identities/{user_id}?{PREVIEW}")
    assert gone.status_code == 404
    assert gone.json()["error"]["code"] == "IdentityNotFound"
    anew = await signed_request(server, "POST", f"/identities?{PREVIEW}", {"customId": "erin"})
    assert anew.json()["identity"]["id"] != user_id


async def test_bad_custom_id_and_foreign_ids_get_acs_errors(server: RunningServer) -> None:
    empty = await signed_request(server, "POST", f"/identities?{PREVIEW}", {"customId": " "})
    assert empty.status_code == 400
    assert (empty.json()["error"]["code"], empty.json()["error"]["target"]) == (
        "ValidationError",
        "CustomId",
    )
    stranger = "8:acs:00000000-1111-2222-3333-444444444444_00000000-0000-0000-0000-0000000000ac"
    foreign = await signed_request(server, "GET", f"/identities/{stranger}?{PREVIEW}")
    assert foreign.status_code == 401
    assert foreign.json()["error"]["code"] == "IdentityNotOwned"
