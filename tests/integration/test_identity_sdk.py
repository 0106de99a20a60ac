"""The official azure-communication-identity SDK, sync and async, against a real server."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from azure.communication.identity import CommunicationIdentityClient, CommunicationTokenScope
from azure.communication.identity import CommunicationUserIdentifier as User
from azure.communication.identity.aio import (
    CommunicationIdentityClient as AsyncCommunicationIdentityClient,
)
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
)

from tests.integration.server import RunningServer

CHAT = CommunicationTokenScope.CHAT
VOIP = CommunicationTokenScope.VOIP


@pytest.fixture
def client(server: RunningServer, monkeypatch: pytest.MonkeyPatch) -> CommunicationIdentityClient:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", server.ca_path)
    return CommunicationIdentityClient.from_connection_string(server.connection_string)


@pytest.fixture
def me(server: RunningServer) -> Iterator[httpx.Client]:
    context = ssl.create_default_context(cafile=server.ca_path)
    with httpx.Client(base_url=server.endpoint, verify=context) as http:
        yield http


def status_of_me(http: httpx.Client, token: str) -> int:
    return http.get("/me", headers={"Authorization": f"Bearer {token}"}).status_code


def test_create_user_returns_an_acs_user_id(client: CommunicationIdentityClient) -> None:
    user = client.create_user()
    raw_id = user.properties["id"]
    assert raw_id.startswith("8:acs:")
    assert raw_id.removeprefix("8:acs:").count("_") == 1


def test_create_user_and_token_honours_scopes_and_expiry(
    client: CommunicationIdentityClient, me: httpx.Client
) -> None:
    before = datetime.now(UTC)
    user, token = client.create_user_and_token(
        scopes=[CHAT, VOIP], token_expires_in=timedelta(minutes=120)
    )
    # SDK 1.5.0 hands expires_on back as the ISO string the service sent.
    lifetime = datetime.fromisoformat(str(token.expires_on)) - before
    assert timedelta(minutes=119) < lifetime < timedelta(minutes=121)
    body = me.get("/me", headers={"Authorization": f"Bearer {token.token}"}).json()
    assert body["identity"]["rawId"] == user.properties["id"]
    assert body["identity"]["communicationUser"]["id"] == user.properties["id"]
    assert body["scopes"] == ["chat", "voip"]


def test_default_token_lifetime_is_24_hours(client: CommunicationIdentityClient) -> None:
    user = client.create_user()
    token = client.get_token(user, scopes=[CHAT])
    lifetime = datetime.fromisoformat(str(token.expires_on)) - datetime.now(UTC)
    assert timedelta(hours=23, minutes=59) < lifetime <= timedelta(hours=24)


def test_every_scope_can_be_issued(client: CommunicationIdentityClient, me: httpx.Client) -> None:
    user = client.create_user()
    scopes = ["chat", "voip", "chat.join", "chat.join.limited", "voip.join"]
    token = client.get_token(user, scopes=scopes)
    body = me.get("/me", headers={"Authorization": f"Bearer {token.token}"}).json()
    assert body["scopes"] == sorted(scopes)


def test_a_user_of_another_resource_is_identity_not_owned(
    client: CommunicationIdentityClient,
) -> None:
    """ACS answers 401 IdentityNotOwned (the SDK raises ClientAuthenticationError), not 404."""
    stranger = User(
        "8:acs:00000000-1111-2222-3333-444444444444_00000000-0000-0000-0000-0000000000aa"
    )
    for call in (
        lambda: client.get_token(stranger, scopes=[CHAT]),
        lambda: client.revoke_tokens(stranger),
        lambda: client.delete_user(stranger),
    ):
        with pytest.raises(ClientAuthenticationError) as caught:
            call()
        assert caught.value.status_code == 401
        assert caught.value.error is not None and caught.value.error.code == "IdentityNotOwned"


@pytest.mark.anyio
async def test_async_client_gets_identity_not_owned_too(server: RunningServer) -> None:
    stranger = User(
        "8:acs:00000000-1111-2222-3333-444444444444_00000000-0000-0000-0000-0000000000ab"
    )
    async with AsyncCommunicationIdentityClient.from_connection_string(
        server.connection_string, connection_verify=server.ca_path
    ) as client:
        with pytest.raises(ClientAuthenticationError) as caught:
            await client.get_token(stranger, scopes=[CHAT])
    assert caught.value.error is not None and caught.value.error.code == "IdentityNotOwned"


def test_wrong_access_key_is_refused(
    server: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", server.ca_path)
    wrong = server.connection_string.replace(server.access_key, "d3Jvbmcga2V5IGZvciB0ZXN0cw==")
    with pytest.raises(ClientAuthenticationError):
        CommunicationIdentityClient.from_connection_string(wrong).create_user()


def test_unknown_identity_is_not_found(client: CommunicationIdentityClient) -> None:
    resource = client.create_user().properties["id"].split("_")[0]
    ghost = User(f"{resource}_00000000-0000-0000-0000-000000000000")
    with pytest.raises(ResourceNotFoundError):
        client.get_token(ghost, scopes=[CHAT])
    with pytest.raises(ResourceNotFoundError):
        client.revoke_tokens(ghost)
    with pytest.raises(ResourceNotFoundError):
        client.delete_user(ghost)


def test_bad_scope_is_a_400(client: CommunicationIdentityClient) -> None:
    user = client.create_user()
    with pytest.raises(HttpResponseError) as caught:
        client.get_token(user, scopes=["chat", "teleport"])
    assert caught.value.status_code == 400
    assert caught.value.error is not None  # ACS's code and target for every validation error
    assert (caught.value.error.code, caught.value.error.target) == ("ValidationError", "Scopes")


@pytest.mark.parametrize("minutes", [59, 1441])
def test_out_of_range_expiry_is_a_400(client: CommunicationIdentityClient, minutes: int) -> None:
    user = client.create_user()
    with pytest.raises(HttpResponseError) as caught:
        client.get_token(user, scopes=[CHAT], token_expires_in=timedelta(minutes=minutes))
    assert caught.value.status_code == 400
    assert caught.value.error is not None
    assert (caught.value.error.code, caught.value.error.target) == (
        "ValidationError",
        "ExpiresInMinutes",
    )
    with pytest.raises(HttpResponseError) as caught:
        client.create_user_and_token(scopes=[CHAT], token_expires_in=timedelta(minutes=minutes))
    assert caught.value.status_code == 400


def test_revoked_token_is_refused_while_a_new_one_works(
    client: CommunicationIdentityClient, me: httpx.Client
) -> None:
    user, old = client.create_user_and_token(scopes=[CHAT])
    assert status_of_me(me, old.token) == 200
    client.revoke_tokens(user)
    assert status_of_me(me, old.token) == 401
    new = client.get_token(user, scopes=[CHAT])
    assert status_of_me(me, new.token) == 200
    assert status_of_me(me, old.token) == 401


def test_deleted_identity_refuses_every_earlier_token(
    client: CommunicationIdentityClient, me: httpx.Client
) -> None:
    user, first = client.create_user_and_token(scopes=[CHAT])
    second = client.get_token(user, scopes=[VOIP])
    client.delete_user(user)
    assert status_of_me(me, first.token) == 401
    assert status_of_me(me, second.token) == 401
    with pytest.raises(ResourceNotFoundError):
        client.get_token(user, scopes=[CHAT])


def test_teams_token_exchange_is_refused_clearly(client: CommunicationIdentityClient) -> None:
    with pytest.raises(HttpResponseError) as caught:
        client.get_token_for_teams_user("aad-token", "app-id", "user-id")
    assert caught.value.status_code == 400
    assert caught.value.error is not None
    assert caught.value.error.code == "TeamsInteropNotSupported"
    assert "Entra" in str(caught.value.error.message)


@pytest.mark.anyio
async def test_async_client_covers_every_operation(server: RunningServer) -> None:
    async with AsyncCommunicationIdentityClient.from_connection_string(
        server.connection_string, connection_verify=server.ca_path
    ) as client:
        user = await client.create_user()
        assert user.properties["id"].startswith("8:acs:")
        other, token = await client.create_user_and_token(scopes=[CHAT, VOIP])
        assert datetime.fromisoformat(str(token.expires_on)) > datetime.now(UTC) + timedelta(
            hours=23
        )
        issued = await client.get_token(user, scopes=["chat.join", "voip.join"])
        assert issued.token.count(".") == 2
        await client.revoke_tokens(user)
        await client.delete_user(other)
        with pytest.raises(ResourceNotFoundError):
            await client.get_token(other, scopes=[CHAT])
        with pytest.raises(HttpResponseError) as caught:
            await client.get_token(user, scopes=["nope"])
        assert caught.value.status_code == 400


@pytest.mark.anyio
async def test_async_client_with_wrong_key_is_refused(server: RunningServer) -> None:
    wrong = server.connection_string.replace(server.access_key, "d3Jvbmcga2V5IGZvciB0ZXN0cw==")
    async with AsyncCommunicationIdentityClient.from_connection_string(
        wrong, connection_verify=server.ca_path
    ) as client:
        with pytest.raises(ClientAuthenticationError):
            await client.create_user()
