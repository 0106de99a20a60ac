"""The chat bot: hears the messages sent to it through Event Grid and answers in the thread.

    POST /events  Event Grid: the validation handshake, then ChatMessageReceived (only the
        bot's own: the subscription filters on data.recipientCommunicationIdentifier) ─▶
        not its own message, not seen before ─▶ reply_to(text) ─▶ send_message in the thread
        (official chat SDK, the bot's token) ─▶ 200

It answers before it acknowledges, so a reply that fails is retried by Event Grid's redelivery;
a redelivered message already answered is recognised by its id and not answered twice.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from azure.communication.chat.aio import ChatThreadClient, CommunicationTokenCredential
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from examples.chatbot.replies import reply_to
from examples.sample_app.settings import AppSettings

log = logging.getLogger("chatbot")

MESSAGE_RECEIVED = "Microsoft.Communication.ChatMessageReceived"
VALIDATION = "Microsoft.EventGrid.SubscriptionValidationEvent"
REMEMBERED = 10_000  # message ids kept to recognise redeliveries

# The bot's token and its expiry (epoch seconds); the bot asks again when it runs out.
TokenSource = Callable[[], Awaitable[tuple[str, float]]]


@dataclass
class ChatBot:
    settings: AppSettings
    user_id: str  # the bot's ACS identity (8:acs:…)
    display_name: str
    tokens: TokenSource
    answered: OrderedDict[str, None] = field(default_factory=OrderedDict)
    log: list[str] = field(default_factory=list)  # what it heard and said, for the curious
    _token: tuple[str, float] | None = None

    async def events(self, request: Request) -> Response:
        events: list[dict[str, Any]] = await request.json()
        for event in events:
            kind = event.get("eventType") or event.get("type")
            data = event.get("data") or {}
            if kind == VALIDATION:
                return JSONResponse({"validationResponse": data["validationCode"]})
            if kind == MESSAGE_RECEIVED:
                await self.on_message(data)
        return Response(status_code=200)

    async def on_message(self, data: dict[str, Any]) -> None:
        message_id = str(data.get("messageId", ""))
        sender = (data.get("senderCommunicationIdentifier") or {}).get("rawId")
        if sender == self.user_id or message_id in self.answered:
            return
        text = str(data.get("messageBody", ""))
        answer = reply_to(text, str(data.get("senderDisplayName", "")))
        self.log.append(f"heard {text!r}")
        async with ChatThreadClient(
            self.settings.endpoint + "/",
            CommunicationTokenCredential(await self._current_token()),
            str(data["threadId"]),
            connection_verify=self.settings.ca_path or True,
        ) as thread:
            await thread.send_message(answer, sender_display_name=self.display_name)
        self.log.append(f"said {answer!r}")
        self.answered[message_id] = None
        while len(self.answered) > REMEMBERED:
            self.answered.popitem(last=False)

    async def _current_token(self) -> str:
        if self._token is None or self._token[1] - time.time() < 300:
            self._token = await self.tokens()
        return self._token[0]


def create_app(bot: ChatBot) -> Starlette:
    return Starlette(routes=[Route("/events", bot.events, methods=["POST"])])
