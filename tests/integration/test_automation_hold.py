"""Hold that silences, and virtual phones that recognise speech, with the official Call
Automation SDK (sync and async) against an in-process node over TLS: two virtual phones in
one call; the held one hears the hold audio and neither hears the other until unhold; a
transcribing phone's report has the words of the app's TextSource prompt."""

from __future__ import annotations

import asyncio
import io
import json
from typing import Any

import pytest
from azure.communication.callautomation import PhoneNumberIdentifier, TextSource
from azure.communication.callautomation.aio import (
    CallAutomationClient as AsyncCallAutomationClient,
)

from switchboard.cli import build_parser
from switchboard.gateways.voicesim.cli import call_command
from tests.acs_signing import parse_connection_string
from tests.callback_receiver import CallbackReceiver
from tests.integration.inprocess_node import InProcessNode
from tests.integration.test_voice_simulator import (
    anyio_backend,
    client_of,
    node,
    our_number,
    receiver,
    sync,
)
from tests.integration.voice_phones import (
    heard_from,
    new_phone,
    phone,
    say_all,
    until_phone,
)

pytestmark = pytest.mark.anyio
__all__ = ["anyio_backend", "node", "our_number", "receiver"]  # fixtures, shared


async def cli(node: InProcessNode, *argv: str) -> list[dict[str, Any]]:
    """``switchboard sim call …`` against the node: one JSON document a phone."""
    endpoint, key = parse_connection_string(node.connection_string)

    async def target() -> tuple[str, str, str]:
        return endpoint, key, node.ca_path

    out = io.StringIO()
    assert await call_command(build_parser().parse_args(["sim", "call", *argv]), target, out) == 0
    return [json.loads(line) for line in out.getvalue().splitlines()]


def said(status: dict[str, Any]) -> str:
    """Everything the phone's transcript has, in order."""
    return " ".join(w["text"] for w in status["heard"]["transcript"])


async def call_two_phones(
    node: InProcessNode, our_number: str, receiver: CallbackReceiver, path: str
) -> tuple[str, str, str]:
    """A call from the app to one phone, then a second phone added: (call id, first, second)."""
    client = client_of(node)
    first, second = new_phone(), new_phone()
    for number in (first, second):
        await phone(node, number, "put", {"answer": "auto"})
    created = await sync(
        lambda: client.create_call(
            PhoneNumberIdentifier(first),
            receiver.url(path),
            source_caller_id_number=PhoneNumberIdentifier(our_number),
        )
    )
    await receiver.event("CallConnected")
    connection = client.get_call_connection(str(created.call_connection_id))
    await sync(
        lambda: connection.add_participant(
            PhoneNumberIdentifier(second), source_caller_id_number=PhoneNumberIdentifier(our_number)
        )
    )
    await receiver.event("AddParticipantSucceeded")
    return str(created.call_connection_id), first, second


async def test_a_held_phone_hears_only_the_hold_audio_and_nobody_hears_it(
    node: InProcessNode, our_number: str, receiver: CallbackReceiver
) -> None:
    async with asyncio.timeout(120):
        call_id, held, other = await call_two_phones(node, our_number, receiver, "/hold")
        connection = client_of(node).get_call_connection(call_id)
        held_id = (await phone(node, held))["participantId"]
        other_id = (await phone(node, other))["participantId"]
        # Before the hold they hear each other.
        await say_all(node, other, "Can you hear me on the other side?")
        assert heard_from(await phone(node, held), other_id) > 10
        await say_all(node, held, "Yes, I can hear you fine.")
        assert heard_from(await phone(node, other), held_id) > 10

        await sync(
            lambda: connection.hold(
                PhoneNumberIdentifier(held), play_source=TextSource(text="Please hold the line.")
            )
        )
        listed = await sync(lambda: list(connection.list_participants()))
        on_hold = {p.identifier.raw_id: p.is_on_hold for p in listed if p.identifier}
        assert on_hold == {f"4:{held}": True, f"4:{other}": False}
        status = await phone(node, held)
        await until_phone(
            node, held, lambda s: heard_from(s, "app") >= heard_from(status, "app") + 25
        )
        held_heard = heard_from(await phone(node, held), other_id)
        other_heard = heard_from(await phone(node, other), held_id)
        await say_all(node, other, "Are you still there? Hello?")
        await say_all(node, held, "I am talking while on hold.")
        assert heard_from(await phone(node, held), other_id) == held_heard
        assert heard_from(await phone(node, other), held_id) == other_heard

        async with AsyncCallAutomationClient.from_connection_string(
            node.connection_string, connection_verify=node.ca_path
        ) as client:
            await client.get_call_connection(call_id).unhold(PhoneNumberIdentifier(held))
            back = await client.get_call_connection(call_id).get_participant(
                PhoneNumberIdentifier(held)
            )
            assert back.is_on_hold is False
        await say_all(node, other, "Welcome back to the call.")
        assert heard_from(await phone(node, held), other_id) > held_heard + 10
        await say_all(node, held, "Thank you, I am back.")
        assert heard_from(await phone(node, other), held_id) > other_heard + 10
        await sync(lambda: connection.hang_up(is_for_everyone=True))
        await receiver.event("CallDisconnected")


async def test_a_transcribing_phone_reports_the_words_the_app_played(
    node: InProcessNode, our_number: str, receiver: CallbackReceiver
) -> None:
    client = client_of(node)
    number = new_phone()
    [ruled] = await cli(node, "rules", number, "--transcribe")
    assert ruled["transcribe"] is True
    async with asyncio.timeout(120):
        created = await sync(
            lambda: client.create_call(
                PhoneNumberIdentifier(number),
                receiver.url("/speech"),
                source_caller_id_number=PhoneNumberIdentifier(our_number),
            )
        )
        await receiver.event("CallConnected")
        connection = client.get_call_connection(str(created.call_connection_id))
        await sync(
            lambda: connection.play_media(
                TextSource(text="Welcome to the sales department."), [PhoneNumberIdentifier(number)]
            )
        )
        await receiver.event("PlayCompleted")
        # An utterance is recognised once the endpoint has been quiet a while after the play.
        status = await until_phone(node, number, lambda s: "sales" in said(s), within=30.0)
        # pocketsphinx's dictation of espeak-ng is rough; this sentence comes through whole
        assert {"welcome", "sales", "department"} <= set(said(status).split()), status
        heard = status["heard"]["transcript"][0]
        assert heard["from"] == "app"
        assert 0 <= heard["atMs"] < heard["endMs"]
        [reported] = await cli(node, "status", number)  # `switchboard sim call status`
        assert reported["heard"]["transcript"] == status["heard"]["transcript"]
        await sync(lambda: connection.hang_up(is_for_everyone=True))
        await receiver.event("CallDisconnected")
