"""Helpers to make users and official chat SDK clients against a running server."""

from __future__ import annotations

from azure.communication.chat import ChatClient, CommunicationTokenCredential
from azure.communication.chat.aio import ChatClient as AsyncChatClient
from azure.communication.chat.aio import ChatThreadClient as AsyncChatThreadClient
from azure.communication.chat.aio import (
    CommunicationTokenCredential as AsyncCommunicationTokenCredential,
)
from azure.communication.identity import CommunicationIdentityClient, CommunicationUserIdentifier

from tests.integration.server import RunningServer


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
