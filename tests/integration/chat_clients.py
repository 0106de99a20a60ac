"""Helpers to make users and official chat SDK clients against a running server."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from azure.communication.chat import ChatClient, CommunicationTokenCredential
from azure.communication.chat.aio import ChatClient as AsyncChatClient
from azure.communication.chat.aio import ChatThreadClient as AsyncChatThreadClient
from azure.communication.chat.aio import (
    CommunicationTokenCredential as AsyncCommunicationTokenCredential,
)
from azure.communication.identity import CommunicationIdentityClient, CommunicationUserIdentifier

from tests.integration.server import RunningServer


@contextmanager
def sync_sdk_trusting(ca_path: str) -> Iterator[None]:
    """Point the sync SDKs at a server's CA through REQUESTS_CA_BUNDLE, as a user of a local
    server would. (Thread clients made by get_chat_thread_client drop connection_verify.)"""
    previous = os.environ.get("REQUESTS_CA_BUNDLE")
    os.environ["REQUESTS_CA_BUNDLE"] = ca_path
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("REQUESTS_CA_BUNDLE", None)
        else:
            os.environ["REQUESTS_CA_BUNDLE"] = previous


class ChatUsers:
    def __init__(self, server: RunningServer) -> None:
        self.server = server
        self.identity = CommunicationIdentityClient.from_connection_string(
            server.connection_string, connection_verify=server.ca_path
        )

    def new(self, scopes: list[str] | None = None) -> tuple[CommunicationUserIdentifier, str]:
        user, token = self.identity.create_user_and_token(scopes=scopes or ["chat"])
        return user, token.token

    def client(self, token: str) -> ChatClient:
        return ChatClient(
            self.server.endpoint + "/",
            CommunicationTokenCredential(token),
            connection_verify=self.server.ca_path,
        )

    def async_thread_client(self, token: str, thread_id: str) -> AsyncChatThreadClient:
        # get_chat_thread_client() does not pass connection_verify on; build it directly.
        return AsyncChatThreadClient(
            self.server.endpoint + "/",
            AsyncCommunicationTokenCredential(token),
            thread_id,
            connection_verify=self.server.ca_path,
        )

    def async_client(self, token: str) -> AsyncChatClient:
        return AsyncChatClient(
            self.server.endpoint + "/",
            AsyncCommunicationTokenCredential(token),
            connection_verify=self.server.ca_path,
        )
