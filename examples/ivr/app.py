"""The IVR: answers calls to its number, asks "press 1 or say sales", and transfers the caller
to an agent (a user of the sample web app, who takes the call in the browser).

    POST /events     Event Grid: the validation handshake, then IncomingCall → answer_call
    POST /callbacks  Call Automation's CloudEvents for the calls it answered:
        CallConnected      → recognize (choices: 1/"sales", 2/"support"; a spoken prompt)
        RecognizeCompleted → sales: transfer to the agent · support: a goodbye, hang up
        RecognizeFailed    → ask again once, then a goodbye and hang up
        PlayCompleted of the goodbye → hang up
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from azure.communication.callautomation import (
    CallAutomationClient,
    CommunicationUserIdentifier,
    DtmfTone,
    PhoneNumberIdentifier,
    RecognitionChoice,
    RecognizeInputType,
    TextSource,
)
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from examples.sample_app.settings import AppSettings

log = logging.getLogger("ivr")

MENU = TextSource(
    text="Welcome to Contoso. For sales, press 1 or say sales. For support, press 2 or say "
    "support.",
    voice_name="en-US-NancyNeural",
)
AGAIN = TextSource(text="Sorry, I did not get that. Press 1 or say sales, press 2 or say support.")
GOODBYE = TextSource(text="Thank you for calling. Goodbye.")
CHOICES = [
    RecognitionChoice(label="sales", phrases=["sales", "I want sales"], tone=DtmfTone.ONE),
    RecognitionChoice(label="support", phrases=["support", "help"], tone=DtmfTone.TWO),
]


@dataclass
class IvrSettings:
    switchboard: AppSettings
    public_url: str  # where Switchboard reaches this app (http is fine for the emulator)
    agent_user_id: str  # the ACS user who takes "sales" calls


@dataclass
class CallState:
    caller: str  # the caller's raw id (a phone number: 4:+1…)
    attempts: int = 0
    transferred: bool = False


@dataclass
class Ivr:
    settings: IvrSettings
    client: CallAutomationClient
    calls: dict[str, CallState] = field(default_factory=dict)  # by serverCallId
    log: list[str] = field(default_factory=list)  # what happened, for tests and the curious

    async def events(self, request: Request) -> Response:
        events: list[dict[str, Any]] = await request.json()
        for event in events:
            kind = event.get("eventType") or event.get("type")
            data = event.get("data") or {}
            if kind == "Microsoft.EventGrid.SubscriptionValidationEvent":
                return JSONResponse({"validationResponse": data["validationCode"]})
            if kind == "Microsoft.Communication.IncomingCall":
                await asyncio.to_thread(self._answer, data)
        return Response(status_code=200)

    def _answer(self, data: dict[str, Any]) -> None:
        # Callbacks may come before answer_call returns: the call is known by its serverCallId
        # (in the event and in every callback) from before the answer.
        caller = data["from"]["rawId"]
        self.calls[data["serverCallId"]] = CallState(caller)
        self.client.answer_call(
            data["incomingCallContext"], f"{self.settings.public_url}/callbacks"
        )
        self.log.append(f"answered {caller}")

    async def callbacks(self, request: Request) -> Response:
        for event in await request.json():
            kind = event["type"].rsplit(".", 1)[1]
            try:
                await asyncio.to_thread(self._on_event, kind, event["data"])
            except Exception as error:  # a failed step is logged; the call goes on or ends
                log.exception("IVR: handling %s failed", kind)
                self.log.append(f"failed {kind}: {error}")
        return Response(status_code=200)

    def _on_event(self, kind: str, data: dict[str, Any]) -> None:
        call_id = data["callConnectionId"]
        state = self.calls.get(data["serverCallId"])
        if state is None:
            return
        connection = self.client.get_call_connection(call_id)
        self.log.append(kind)
        if kind == "CallConnected":
            self._ask(call_id, state, MENU)
        elif kind == "RecognizeCompleted":
            label = (data.get("choiceResult") or {}).get("label")
            self.log.append(f"chose {label}")
            if label == "sales":
                state.transferred = True
                connection.transfer_call_to_participant(
                    CommunicationUserIdentifier(self.settings.agent_user_id),
                    operation_context="to-sales",
                )
            else:
                connection.play_media(GOODBYE, operation_context="goodbye")
        elif kind == "RecognizeFailed":
            if state.attempts < 2:
                self._ask(call_id, state, AGAIN)
            else:
                connection.play_media(GOODBYE, operation_context="goodbye")
        elif kind == "PlayCompleted" and data.get("operationContext") == "goodbye":
            connection.hang_up(is_for_everyone=True)
        elif kind == "CallDisconnected":
            self.calls.pop(data["serverCallId"], None)

    def _ask(self, call_id: str, state: CallState, prompt: TextSource) -> None:
        state.attempts += 1
        self.client.get_call_connection(call_id).start_recognizing_media(
            RecognizeInputType.CHOICES,
            _identifier(state.caller),
            play_prompt=prompt,
            choices=CHOICES,
            interrupt_prompt=True,
            initial_silence_timeout=10,
            operation_context="menu",
        )


def _identifier(raw_id: str) -> PhoneNumberIdentifier | CommunicationUserIdentifier:
    if raw_id.startswith("4:"):
        return PhoneNumberIdentifier(raw_id[2:])
    return CommunicationUserIdentifier(raw_id)


def create_app(settings: IvrSettings) -> tuple[Starlette, Ivr]:
    client = CallAutomationClient.from_connection_string(
        settings.switchboard.connection_string,
        connection_verify=settings.switchboard.ca_path or True,
    )
    ivr = Ivr(settings, client)
    app = Starlette(
        routes=[
            Route("/events", ivr.events, methods=["POST"]),
            Route("/callbacks", ivr.callbacks, methods=["POST"]),
        ]
    )
    return app, ivr
