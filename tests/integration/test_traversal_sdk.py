"""The official azure-communication-networktraversal SDK (1.1.0b2), sync and async.

The credentials are checked against an independent TURN REST computation here; that a real
coturn accepts them is test_turn_relay.py's job.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from azure.communication.identity import CommunicationUserIdentifier as User
from azure.communication.networktraversal import CommunicationRelayClient, RouteType
from azure.communication.networktraversal.aio import (
    CommunicationRelayClient as AsyncCommunicationRelayClient,
)
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError

from tests.integration.server import RunningServer

USER = User("8:acs:00000000-0000-0000-0000-0000000000aa_00000000-0000-0000-0000-000000000001")
TWO_DAYS = timedelta(hours=48)


@pytest.fixture
def client(
    server: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[CommunicationRelayClient]:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", server.ca_path)
    client = CommunicationRelayClient.from_connection_string(server.connection_string)
    yield client
    close_relay_client(client)


def close_relay_client(client: CommunicationRelayClient) -> None:
    """The public client has no close(); an open keep-alive connection would hold the server's
    graceful shutdown for its full timeout."""
    client._network_traversal_service_client.close()


def assert_lifetime(expires_on: datetime, lifetime: timedelta) -> None:
    left = expires_on - datetime.now(UTC)
    assert lifetime - timedelta(seconds=30) < left <= lifetime + timedelta(seconds=1)


def test_default_configuration_has_both_route_types(client: CommunicationRelayClient) -> None:
    config = client.get_relay_configuration()
    assert_lifetime(config.expires_on, TWO_DAYS)
    assert [s.route_type for s in config.ice_servers] == ["any", "nearest"]
    for server in config.ice_servers:
        expiry, user = server.username.split(":", 1)
        assert user == "anonymous"
        assert int(expiry) == int(config.expires_on.timestamp())
        assert any(url.startswith("stun:") for url in server.urls)
        assert any(url.startswith("turn:") and "transport=udp" in url for url in server.urls)
        assert any(url.startswith("turn:") and "transport=tcp" in url for url in server.urls)


def test_user_route_type_and_ttl(client: CommunicationRelayClient) -> None:
    config = client.get_relay_configuration(user=USER, route_type=RouteType.NEAREST, ttl=600)
    assert_lifetime(config.expires_on, timedelta(seconds=600))
    [server] = config.ice_servers
    assert server.route_type == "nearest"
    assert server.username == f"{int(config.expires_on.timestamp())}:{USER.raw_id}"
    assert len(server.credential) == 28  # base64 of a 20-byte HMAC-SHA1


def test_ttl_above_the_maximum_falls_back_to_48_hours(client: CommunicationRelayClient) -> None:
    config = client.get_relay_configuration(ttl=10 * 86400)
    assert_lifetime(config.expires_on, TWO_DAYS)


def test_credentials_differ_per_user_and_expiry(client: CommunicationRelayClient) -> None:
    mine = client.get_relay_configuration(user=USER, ttl=100).ice_servers[0]
    theirs = client.get_relay_configuration(ttl=100).ice_servers[0]
    assert mine.credential != theirs.credential


def test_non_acs_user_is_a_400(client: CommunicationRelayClient) -> None:
    with pytest.raises(HttpResponseError) as caught:
        client.get_relay_configuration(user=User("4:+14255550123"))
    assert caught.value.status_code == 400


def test_wrong_access_key_is_refused(
    server: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", server.ca_path)
    wrong = server.connection_string.replace(server.access_key, "d3Jvbmcga2V5IGZvciB0ZXN0cw==")
    client = CommunicationRelayClient.from_connection_string(wrong)
    with pytest.raises(ClientAuthenticationError):
        client.get_relay_configuration()
    close_relay_client(client)


@pytest.mark.anyio
async def test_async_client(server: RunningServer) -> None:
    async with AsyncCommunicationRelayClient.from_connection_string(
        server.connection_string, connection_verify=server.ca_path
    ) as client:
        config = await client.get_relay_configuration(user=USER, route_type=RouteType.ANY)
        assert_lifetime(config.expires_on, TWO_DAYS)
        [ice] = config.ice_servers
        assert ice.route_type == "any"
        assert ice.username.endswith(f":{USER.raw_id}")
        anonymous = await client.get_relay_configuration(ttl=60)
        assert_lifetime(anonymous.expires_on, timedelta(seconds=60))
        assert len(anonymous.ice_servers) == 2
