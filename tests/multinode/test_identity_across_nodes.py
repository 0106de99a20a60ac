"""Two nodes sharing PostgreSQL + Redis behave as one resource."""

from __future__ import annotations

import ssl

import httpx
from azure.communication.identity import CommunicationIdentityClient, CommunicationTokenScope

from tests.integration.server import RunningServer

Nodes = tuple[RunningServer, RunningServer]


def client_for(node: RunningServer) -> CommunicationIdentityClient:
    # Each node has its own local CA (its own data dir): verify against that node's CA.
    return CommunicationIdentityClient.from_connection_string(
        node.connection_string, connection_verify=node.ca_path
    )


def me_status(node: RunningServer, token: str) -> int:
    context = ssl.create_default_context(cafile=node.ca_path)
    with httpx.Client(base_url=node.endpoint, verify=context) as http:
        return http.get("/me", headers={"Authorization": f"Bearer {token}"}).status_code


def test_nodes_share_the_access_key(two_nodes: Nodes) -> None:
    first, second = two_nodes
    assert first.access_key == second.access_key
    assert first.endpoint != second.endpoint


def test_token_issued_on_one_node_works_on_the_other(two_nodes: Nodes) -> None:
    first, second = two_nodes
    _, token = client_for(first).create_user_and_token(scopes=[CommunicationTokenScope.CHAT])
    assert me_status(second, token.token) == 200


def test_revocation_on_one_node_is_refused_by_the_other_at_once(two_nodes: Nodes) -> None:
    first, second = two_nodes
    user, token = client_for(first).create_user_and_token(scopes=[CommunicationTokenScope.CHAT])
    assert me_status(second, token.token) == 200  # node B has now cached this identity
    client_for(first).revoke_tokens(user)
    assert me_status(second, token.token) == 401
    fresh = client_for(second).get_token(user, scopes=[CommunicationTokenScope.CHAT])
    assert me_status(first, fresh.token) == 200


def test_deletion_on_one_node_is_seen_by_the_other_at_once(two_nodes: Nodes) -> None:
    first, second = two_nodes
    user, token = client_for(second).create_user_and_token(scopes=[CommunicationTokenScope.VOIP])
    assert me_status(first, token.token) == 200
    client_for(second).delete_user(user)
    assert me_status(first, token.token) == 401


def test_both_nodes_serve_certificates_of_one_shared_ca(two_nodes: Nodes) -> None:
    first, second = two_nodes
    with open(first.ca_path, "rb") as a, open(second.ca_path, "rb") as b:
        assert a.read() == b.read()  # one CA, kept in the database they share
    # Trusting the first node's ca.pem is enough for the second node's certificate.
    context = ssl.create_default_context(cafile=first.ca_path)
    assert httpx.get(second.endpoint + "/health", verify=context).status_code == 200
