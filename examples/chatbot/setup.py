"""What the bot needs before anyone can talk to it: a user of the sample app (so people can add
it as a friend and get a 1:1 thread with it), and an Event Grid subscription that sends the
messages addressed to it to its webhook."""

from __future__ import annotations

import httpx

from examples.chatbot.bot import MESSAGE_RECEIVED, TokenSource
from examples.eventgrid import subscribe
from examples.sample_app.settings import AppSettings


async def sign_in(sample_app: str, name: str) -> tuple[str, TokenSource]:
    """Sign in to the sample app as ``name``: the bot's user id, and where its tokens come from."""
    async with httpx.AsyncClient(base_url=sample_app) as client:
        response = await client.post("/api/signin", json={"name": name})
        response.raise_for_status()
        signed_in = response.json()
    session = signed_in["session"]

    async def tokens() -> tuple[str, float]:
        async with httpx.AsyncClient(base_url=sample_app) as client:
            answer = await client.post("/api/token", headers={"Authorization": f"Bearer {session}"})
            answer.raise_for_status()
            body = answer.json()
        return str(body["token"]), float(body["expiresOn"])

    return str(signed_in["userId"]), tokens


def subscribe_messages(settings: AppSettings, name: str, webhook: str, user_id: str) -> None:
    """ChatMessageReceived events addressed to ``user_id`` (an advanced filter on the
    recipient) to ``webhook``."""
    subscribe(
        settings,
        name,
        webhook,
        MESSAGE_RECEIVED,
        [
            {
                "operatorType": "StringIn",
                "key": "data.recipientCommunicationIdentifier.rawId",
                "values": [user_id],
            }
        ],
    )
