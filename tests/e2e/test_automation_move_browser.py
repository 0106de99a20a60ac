"""moveParticipants with a browser user: Call Automation calls the page (call A), calls a
virtual phone (call B), and moves the page's user into B. The page's Call follows (callMoved:
a new id, a new peer connection, Connected again without ringing) and hears the phone; the
phone hears the page (Chromium's fake microphone beeps)."""

from __future__ import annotations

from typing import Any

from azure.communication.callautomation import (
    CallAutomationClient,
    CommunicationUserIdentifier,
    PhoneNumberIdentifier,
)
from playwright.sync_api import Page

from tests.callback_receiver import CallbackReceiver
from tests.e2e.calling_peers import EventLoopThread
from tests.e2e.test_automation_browser import (
    CALL_TIMEOUT_MS,
    EVENT_SECONDS,
    next_event,
    receiver,
    server,
    speech,
    user_page,
)
from tests.integration.server import RunningServer
from tests.integration.voice_phones import buy_number, heard_from, new_phone, phone, until_phone

__all__ = ["receiver", "server", "user_page"]  # fixtures, shared


def test_the_app_moves_a_browser_user_into_a_call_with_a_phone(
    server: RunningServer,
    receiver: tuple[EventLoopThread, CallbackReceiver],
    user_page: tuple[str, Page],
) -> None:
    loop, callbacks = receiver
    user_id, page = user_page

    def event(kind: str) -> dict[str, Any]:
        return loop.run(next_event(callbacks, kind), EVENT_SECONDS + 5)

    client = CallAutomationClient.from_connection_string(
        server.connection_string, connection_verify=server.ca_path
    )
    ours, number = buy_number(server), new_phone()
    loop.run(phone(server, number, "put", {"answer": "auto"}))
    first = client.create_call(CommunicationUserIdentifier(user_id), callbacks.url("/a"))
    page.evaluate("window.accepted")
    page.wait_for_function("window.call.state === 'Connected'", timeout=CALL_TIMEOUT_MS)
    second = client.create_call(
        PhoneNumberIdentifier(number),
        callbacks.url("/b"),
        source_caller_id_number=PhoneNumberIdentifier(ours),
    )
    loop.run(until_phone(server, number, lambda s: s["participantId"] is not None))
    target = client.get_call_connection(str(second.call_connection_id))
    target.move_participants([CommunicationUserIdentifier(user_id)], str(first.call_connection_id))

    moved = event("MoveParticipantSucceeded")
    assert moved["fromCall"] == first.call_connection_id
    assert moved["participant"]["rawId"] == user_id
    server_call_id = target.get_call_properties().server_call_id
    page.wait_for_function(
        "([id]) => window.call.id === id && window.call.state === 'Connected'",
        arg=[server_call_id],
        timeout=CALL_TIMEOUT_MS,
    )
    states = page.evaluate("window.states")
    assert "Ringing" not in states[1:] and states[-1] == "Connected"

    text = "Hello there, can you hear the phone in your browser? It is talking for a while."
    loop.run(phone(server, number, "say", {"text": text}))
    assert speech(page)["value"] > 0  # the phone's speech reached the page's new connection
    me = str(page.evaluate("window.call.participantId"))
    loop.run(until_phone(server, number, lambda s: heard_from(s, me) > 0, within=30.0), 35.0)
    target.hang_up(is_for_everyone=True)
    page.wait_for_function("window.call.state === 'Disconnected'", timeout=CALL_TIMEOUT_MS)
