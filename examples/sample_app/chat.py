"""One chat thread per pair of friends, made and used through the official chat SDK.

The page receives messages in real time with Switchboard's ``/sdk/chat.js``; it sends them
through this service (Switchboard's REST API sends no CORS headers, so a page on the app's
origin cannot call it directly), which posts them with the sender's own token.
"""

from __future__ import annotations

from typing import Any

from azure.communication.chat import ChatParticipant, CommunicationUserIdentifier
from azure.communication.chat.aio import (
    ChatClient,
    ChatThreadClient,
    CommunicationTokenCredential,
)

from examples.sample_app.identity import AppUser, IdentityManagement


class FriendChats:
    def __init__(self, endpoint: str, identity: IdentityManagement, ca_path: str | None) -> None:
        self._endpoint = endpoint + "/"
        self._identity = identity
        self._verify: Any = ca_path if ca_path else True
        self._threads: dict[frozenset[str], str] = {}

    def thread_of(self, a: AppUser, b: AppUser) -> str | None:
        return self._threads.get(_pair(a, b))

    async def open_thread(self, a: AppUser, b: AppUser) -> str:
        """The thread of ``a`` and ``b``, created by ``a`` the first time."""
        thread_id = self.thread_of(a, b)
        if thread_id is not None:
            return thread_id
        token, _ = await self._identity.token(a)
        members = [
            ChatParticipant(identifier=CommunicationUserIdentifier(u.user_id), display_name=u.name)
            for u in (a, b)
        ]
        async with ChatClient(
            self._endpoint, CommunicationTokenCredential(token), connection_verify=self._verify
        ) as client:
            result = await client.create_chat_thread(
                f"{a.name} & {b.name}", thread_participants=members
            )
        thread_id = str(result.chat_thread.id)
        self._threads[_pair(a, b)] = thread_id
        return thread_id

    async def send(
        self,
        sender: AppUser,
        thread_id: str,
        text: str,
        metadata: dict[str, str] | None = None,
    ) -> str:
        """Post ``text`` as ``sender``; ``metadata`` rides along (the page reads invitations
        to calls from it)."""
        async with await self._thread_client(sender, thread_id) as thread:
            result = await thread.send_message(
                text, sender_display_name=sender.name, metadata=metadata
            )
        return str(result.id)

    async def typing(self, sender: AppUser, thread_id: str) -> None:
        """Tell the thread's other members that ``sender`` is typing (ephemeral)."""
        async with await self._thread_client(sender, thread_id) as thread:
            await thread.send_typing_notification(sender_display_name=sender.name)

    async def read(self, reader: AppUser, thread_id: str, message_id: str) -> None:
        """``reader`` has read the thread up to ``message_id`` (a read receipt)."""
        async with await self._thread_client(reader, thread_id) as thread:
            await thread.send_read_receipt(message_id)

    async def receipts(self, reader: AppUser, thread_id: str) -> list[dict[str, str]]:
        """The thread's read receipts: who read up to which message, and when."""
        found: list[dict[str, str]] = []
        async with await self._thread_client(reader, thread_id) as thread:
            async for receipt in thread.list_read_receipts():
                found.append(
                    {
                        "senderId": str(receipt.sender.properties["id"]),
                        "chatMessageId": str(receipt.chat_message_id),
                        "readOn": receipt.read_on.isoformat(),
                    }
                )
        return found

    async def history(self, reader: AppUser, thread_id: str) -> list[dict[str, str]]:
        """Text messages, oldest first."""
        found: list[dict[str, str]] = []
        async with await self._thread_client(reader, thread_id) as thread:
            async for message in thread.list_messages():
                if str(message.type).lower().endswith("text") and message.content is not None:
                    found.append(
                        {
                            "id": str(message.id),
                            "senderId": str(message.sender.properties["id"]),
                            "senderDisplayName": str(message.sender_display_name or ""),
                            "message": str(message.content.message),
                            "createdOn": message.created_on.isoformat(),
                        }
                    )
        return found[::-1]

    async def _thread_client(self, user: AppUser, thread_id: str) -> Any:
        token, _ = await self._identity.token(user)
        # Built directly: get_chat_thread_client() would drop connection_verify.
        return ChatThreadClient(
            self._endpoint,
            CommunicationTokenCredential(token),
            thread_id,
            connection_verify=self._verify,
        )


def _pair(a: AppUser, b: AppUser) -> frozenset[str]:
    return frozenset((a.name.lower(), b.name.lower()))
