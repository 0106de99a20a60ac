"""Phone calls through the simulator carrier's virtual phones, with the official Call Automation
SDK against an in-process node over TLS: a phone calls a purchased number (IncomingCall by
Event Grid webhook → answer → a spoken menu the phone hears → its key press recognized → hang
up); createCall to a phone that answers, and to one that is busy; reject; redirect to a user."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

import pytest
from azure.communication.callautomation import (
    CallAutomationClient,
    CallRejectReason,
    CommunicationUserIdentifier,
    DtmfTone,
    PhoneNumberIdentifier,
    RecognizeInputType,
    TextSource,
)
from azure.communication.identity import CommunicationIdentityClient
from azure.communication.phonenumbers import (
    PhoneNumberAssignmentType,
    PhoneNumberCapabilities,
    PhoneNumberCapabilityType,
    PhoneNumbersClient,
    PhoneNumberType,
)

from switchboard.cli import build_parser
from switchboard.client.calling import CallClient, CallState
from switchboard.gateways.voicesim.cli import call_command
from tests.acs_signing import parse_connection_string
from tests.callback_receiver import CallbackReceiver
from tests.event_receiver import EventReceiver
from tests.integration.calling_clients import loopback_candidates
from tests.integration.inprocess_node import InProcessNode, serving
from tests.integration.voice_phones import admin, loud_frames, new_phone, phone, until_phone

pytestmark = pytest.mark.anyio
__all__ = ["loopback_candidates"]

T = TypeVar("T")
INCOMING_CALL = "Microsoft.Communication.IncomingCall"


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
async def node(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[InProcessNode]:
    async with serving(tmp_path_factory.mktemp("voice-sim")) as served:
        yield served


@pytest.fixture(scope="module")
async def events(node: InProcessNode) -> AsyncIterator[EventReceiver]:
    """A webhook subscribed to IncomingCall through the events admin API."""
    receiver = await EventReceiver().start()
    response = await admin(
        node,
        "PUT",
        "/admin/eventSubscriptions/incoming-calls",
        {"endpointUrl": receiver.url("/incoming"), "includedEventTypes": [INCOMING_CALL]},
    )
    assert response.status_code in (200, 201), response.text
    yield receiver
    await receiver.stop()


@pytest.fixture(scope="module")
async def our_number(node: InProcessNode) -> str:
    numbers = PhoneNumbersClient.from_connection_string(
        node.connection_string, connection_verify=node.ca_path
    )

    def buy() -> str:
        search = numbers.begin_search_available_phone_numbers(
            "US",
            PhoneNumberType.GEOGRAPHIC,
            PhoneNumberAssignmentType.APPLICATION,
            PhoneNumberCapabilities(
                calling=PhoneNumberCapabilityType.INBOUND_OUTBOUND,
                sms=PhoneNumberCapabilityType.NONE,
            ),
            quantity=1,
            polling_interval=0.05,
        ).result()
        numbers.begin_purchase_phone_numbers(search.search_id, polling_interval=0.05).result()
        return str(search.phone_numbers[0])

    return await sync(buy)


@pytest.fixture
async def receiver() -> AsyncIterator[CallbackReceiver]:
    started = await CallbackReceiver().start()
    yield started
    await started.stop()


async def sync(call: Callable[[], T]) -> T:
    return await asyncio.to_thread(call)


async def incoming_call_from(events: EventReceiver, number: str) -> dict[str, Any]:
    """The IncomingCall event's data for a call from ``number``."""
    found: list[dict[str, Any]] = []

    def seen() -> bool:
        for notification in events.notifications:
            for event in notification.events():
                data = event.get("data", {})
                if event.get("eventType") == INCOMING_CALL and data["from"]["rawId"] == (
                    f"4:{number}"
                ):
                    found.append(data)
                    return True
        return False

    await events.wait_until(seen, within=20.0)
    return found[0]


def client_of(node: InProcessNode) -> CallAutomationClient:
    return CallAutomationClient.from_connection_string(
        node.connection_string, connection_verify=node.ca_path
    )


async def test_a_phone_calls_the_ivr_hears_the_menu_and_presses_one(
    node: InProcessNode, events: EventReceiver, our_number: str, receiver: CallbackReceiver
) -> None:
    client = client_of(node)
    caller = new_phone()
    async with asyncio.timeout(90):
        dialing = await phone(node, caller, "dial", {"to": our_number})
        assert dialing["state"] == "dialing"
        incoming = await incoming_call_from(events, caller)
        assert incoming["to"]["rawId"] == f"4:{our_number}"
        assert incoming["serverCallId"].startswith("server:")

        answered = await sync(
            lambda: client.answer_call(incoming["incomingCallContext"], receiver.url("/ivr"))
        )
        connected = await receiver.event("CallConnected")
        assert connected["callConnectionId"] == answered.call_connection_id
        updated = await receiver.event("ParticipantsUpdated")
        assert [p["identifier"]["rawId"] for p in updated["participants"]] == [f"4:{caller}"]
        assert (await phone(node, caller))["state"] == "connected"

        connection = client.get_call_connection(str(answered.call_connection_id))
        await sync(
            lambda: connection.start_recognizing_media(
                RecognizeInputType.DTMF,
                PhoneNumberIdentifier(caller),
                play_prompt=TextSource(text="Welcome. Press one for sales."),
                dtmf_max_tones_to_collect=1,
                operation_context="menu",
            )
        )
        heard = await until_phone(node, caller, lambda s: loud_frames(s) >= 25)
        assert heard["heard"]["timeline"][0]["speaking"] is True
        await phone(node, caller, "press", {"keys": "1"})
        recognized = await receiver.event("RecognizeCompleted")
        assert recognized["operationContext"] == "menu"
        assert recognized["dtmfResult"]["tones"] == [DtmfTone.ONE.value]

        await sync(lambda: connection.hang_up(is_for_everyone=False))
        await receiver.event("CallDisconnected")
        ended = await until_phone(node, caller, lambda s: s["state"] == "idle")
        assert ended["lastResult"]["code"] == 0


async def test_create_call_rings_a_phone_that_answers_and_one_that_is_busy(
    node: InProcessNode, our_number: str, receiver: CallbackReceiver
) -> None:
    client = client_of(node)
    friendly, busy = new_phone(), new_phone()
    await phone(node, friendly, "put", {"answer": "auto", "answerAfterMs": 100})
    await phone(node, busy, "put", {"answer": "busy"})
    async with asyncio.timeout(60):
        created = await sync(
            lambda: client.create_call(
                PhoneNumberIdentifier(friendly),
                receiver.url("/out"),
                source_caller_id_number=PhoneNumberIdentifier(our_number),
            )
        )
        connected = await receiver.event("CallConnected")
        assert connected["callConnectionId"] == created.call_connection_id
        status = await until_phone(node, friendly, lambda s: s["state"] == "connected")
        assert status["peer"] == our_number
        connection = client.get_call_connection(str(created.call_connection_id))
        listed = await sync(lambda: list(connection.list_participants()))
        assert [p.identifier.raw_id for p in listed if p.identifier] == [f"4:{friendly}"]
        await phone(node, friendly, "hangUp")
        await receiver.event("CallDisconnected")

        await sync(
            lambda: client.create_call(
                PhoneNumberIdentifier(busy),
                receiver.url("/busy"),
                source_caller_id_number=PhoneNumberIdentifier(our_number),
            )
        )
        failed = await receiver.event("CreateCallFailed")
        assert failed["resultInformation"]["code"] == 486


async def test_an_app_rejects_one_call_and_redirects_another_to_a_user(
    node: InProcessNode, events: EventReceiver, our_number: str
) -> None:
    client = client_of(node)
    rejected, redirected = new_phone(), new_phone()
    identity = CommunicationIdentityClient.from_connection_string(
        node.connection_string, connection_verify=node.ca_path
    )
    user, token = await sync(lambda: identity.create_user_and_token(scopes=["voip"]))
    agent = await CallClient(node.endpoint, ssl=node.ca_path, tone_hz=0.0).create_call_agent(
        token.token
    )
    try:
        async with asyncio.timeout(60):
            await phone(node, rejected, "dial", {"to": our_number})
            context = (await incoming_call_from(events, rejected))["incomingCallContext"]
            await sync(
                lambda: client.reject_call(context, call_reject_reason=CallRejectReason.BUSY)
            )
            status = await until_phone(node, rejected, lambda s: s["state"] == "idle")
            assert status["lastResult"]["code"] == 486

            await phone(node, redirected, "dial", {"to": our_number})
            context = (await incoming_call_from(events, redirected))["incomingCallContext"]
            target = CommunicationUserIdentifier(user.properties["id"])
            await sync(lambda: client.redirect_call(context, target))
            ringing = await agent.next_incoming_call()
            await ringing.accept()
            await ringing.wait_for_state(CallState.CONNECTED)
            await until_phone(node, redirected, lambda s: s["state"] == "connected")
            await ringing.hang_up()
            status = await until_phone(node, redirected, lambda s: s["state"] == "idle")
            assert status["lastResult"]["code"] == 0
    finally:
        await agent.dispose()


async def test_the_cli_sets_rules_dials_and_reports_a_phone(
    node: InProcessNode, our_number: str
) -> None:
    number = new_phone()
    endpoint, key = parse_connection_string(node.connection_string)

    async def target() -> tuple[str, str, str]:
        return endpoint, key, node.ca_path

    async def run(*argv: str) -> list[dict[str, Any]]:
        out = io.StringIO()
        args = build_parser().parse_args(["sim", "call", *argv])
        assert await call_command(args, target, out) == 0
        return [json.loads(line) for line in out.getvalue().splitlines()]

    [ruled] = await run("rules", number, "--answer", "manual")
    assert (ruled["answer"], ruled["state"]) == ("manual", "idle")
    [dialing] = await run("dial", number, "--to", "+18005550199")
    assert dialing["state"] == "dialing"
    await until_phone(node, number, lambda s: s["state"] == "idle")
    [status] = await run("status", number)
    assert status["lastResult"]["code"] == 404  # not a number of ours: not in service
    assert number in [p["number"] for p in await run("status")]
