"""Push for calls against a running server (docs/push.md) and the Web Push fake, which checks
the VAPID JWT and decrypts each aes128gcm payload with the subscription's keys.

Bob's app is closed (no signaling socket); Alice calls; Bob's subscription gets the encrypted
incoming call; Bob's app starts, hands the payload to ``handle_push_notification``, the call
rings there, he answers and audio flows both ways. Alice hanging up first pushes a cancel; a
device that is connected is not pushed; a user with no device and no registration still gets
480; a subscription the push service calls gone is forgotten.

Call Automation's calls to users ring the same way: an app's createCall to Bob pushes his
closed app, which answers from the payload (CallConnected); an addParticipant the app
cancels pushes the cancel; a ringing 1:1 call an app redirects to Carol pushes her closed app.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from azure.communication.callautomation import CallAutomationClient, CommunicationUserIdentifier
from azure.communication.identity import CommunicationIdentityClient

from switchboard.client.calling import CallAgent, CallClient, CallState, PushTarget
from switchboard.client.push import PushRegistrationFailed, PushRegistrations
from tests.callback_receiver import CallbackReceiver
from tests.event_receiver import EventReceiver
from tests.integration.calling_clients import heard, loopback_candidates, start_without_turn
from tests.integration.server import RunningServer
from tests.integration.user_call_events import incoming_call_for, subscribe_for_calls_to
from tests.push.fakes import Pushed, WebPushService
from tests.push.providers import push_server_env

pytestmark = pytest.mark.anyio
__all__ = ["loopback_candidates"]  # the autouse fixture: host candidates on loopback


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    env = {
        **push_server_env(tmp_path_factory.mktemp("push-keys")),
        "SWITCHBOARD_CALLING_RING_TIMEOUT_SECONDS": "20",
    }
    running = start_without_turn(tmp_path_factory.mktemp("push-calling"), env=env)
    yield running
    assert running.stop() == 0, "\n".join(running.output)


@pytest.fixture
async def push_service() -> AsyncIterator[WebPushService]:
    service = await WebPushService().start()
    yield service
    await service.stop()


class People:
    def __init__(self, server: RunningServer) -> None:
        self.server = server
        self.identity = CommunicationIdentityClient.from_connection_string(
            server.connection_string, connection_verify=server.ca_path
        )
        self.agents: list[CallAgent] = []

    def new(self) -> tuple[str, str]:
        user, token = self.identity.create_user_and_token(scopes=["voip"])
        return str(user.properties["id"]), token.token

    async def agent(self, token: str) -> CallAgent:
        client = CallClient(self.server.endpoint, ssl=self.server.ca_path)
        agent = await client.create_call_agent(token)
        self.agents.append(agent)
        return agent

    def registrations(self, token: str) -> PushRegistrations:
        return PushRegistrations(self.server.endpoint, token, ssl=self.server.ca_path)


@pytest.fixture
async def people(server: RunningServer) -> AsyncIterator[People]:
    made = People(server)
    yield made
    for agent in made.agents:
        await agent.dispose()


async def away(people: People, service: WebPushService) -> tuple[str, CallAgent, str, str]:
    """Alice (a connected agent) and Bob, whose only device is a push registration: Alice's
    id and agent, Bob's id and token."""
    alice_id, alice_token = people.new()
    bob_id, bob_token = people.new()
    alice = await people.agent(alice_token)
    subscription = service.subscribe()
    await people.registrations(bob_token).register(
        "bob-phone", PushTarget.web_push(subscription.json())
    )
    return alice_id, alice, bob_id, bob_token


async def pushes(service: WebPushService, count: int) -> list[dict[str, Any]]:
    received: list[Pushed] = await service.wait_for(count)
    assert service.errors == []
    return [p.payload for p in received]


async def test_a_closed_apps_push_rings_it_and_the_call_connects(
    people: People, push_service: WebPushService
) -> None:
    alice_id, alice, bob_id, bob_token = await away(people, push_service)
    async with asyncio.timeout(30):
        outgoing = await alice.start_call(bob_id)
        [incoming_push] = await pushes(push_service, 1)
        assert incoming_push["type"] == "incomingCall"
        assert incoming_push["callId"] == outgoing.id
        assert incoming_push["callerId"] == alice_id
        assert incoming_push["video"] is False
        bob = await people.agent(bob_token)  # the app starts, woken by the push
        await bob.handle_push_notification(incoming_push)
        ringing = await bob.next_incoming_call()
        assert ringing.id == outgoing.id
        await ringing.accept()
        await outgoing.wait_for_state(CallState.CONNECTED)
        await heard(outgoing, bob.tone_hz)
        await heard(ringing, alice.tone_hz)
        # Answered on the woken app: the pushed device hears the call is taken.
        cancel = (await pushes(push_service, 2))[1]
        assert cancel == {"type": "callCancelled", "callId": outgoing.id, "reason": "answered"}
        await outgoing.hang_up()


async def test_a_caller_hanging_up_first_pushes_a_cancel(
    people: People, push_service: WebPushService
) -> None:
    _, alice, bob_id, bob_token = await away(people, push_service)
    async with asyncio.timeout(30):
        outgoing = await alice.start_call(bob_id, video=True)
        [incoming_push] = await pushes(push_service, 1)
        assert incoming_push["video"] is True
        assert outgoing.state is not CallState.DISCONNECTED  # held: a woken app may answer
        await outgoing.hang_up()
        cancel = (await pushes(push_service, 2))[1]
        assert cancel == {"type": "callCancelled", "callId": outgoing.id, "reason": "cancelled"}
        # Too late: the woken app's device hears the call is over.
        bob = await people.agent(bob_token)
        await bob.handle_push_notification(incoming_push)
        assert outgoing.end_reason is not None and outgoing.end_reason.code == 0


async def test_a_connected_device_is_rung_not_pushed(
    people: People, push_service: WebPushService
) -> None:
    _, alice_token = people.new()
    bob_id, bob_token = people.new()
    alice = await people.agent(alice_token)
    bob_laptop = await people.agent(bob_token)
    laptop_sub, phone_sub = push_service.subscribe(), push_service.subscribe()
    await bob_laptop.register_push_notification(PushTarget.web_push(laptop_sub.json()))
    await people.registrations(bob_token).register(
        "bob-phone", PushTarget.web_push(phone_sub.json())
    )
    async with asyncio.timeout(30):
        outgoing = await alice.start_call(bob_id)
        incoming = await bob_laptop.next_incoming_call()
        await incoming.accept()
        await outgoing.wait_for_state(CallState.CONNECTED)
        payloads = await pushes(push_service, 2)  # the phone's ring, then its cancel
        assert [p["type"] for p in payloads] == ["incomingCall", "callCancelled"]
        assert {p.token for p in push_service.received} == {phone_sub.id}
        await outgoing.hang_up()


async def test_a_user_with_no_device_and_no_registration_gets_480(people: People) -> None:
    _, alice_token = people.new()
    nobody, _ = people.new()
    alice = await people.agent(alice_token)
    async with asyncio.timeout(15):
        outgoing = await alice.start_call(nobody)
        await outgoing.wait_for_state(CallState.DISCONNECTED)
        assert outgoing.end_reason is not None
        assert (outgoing.end_reason.code, outgoing.end_reason.sub_code) == (480, 10037)


async def test_a_gone_subscription_is_forgotten(
    people: People, push_service: WebPushService
) -> None:
    _, alice_token = people.new()
    bob_id, bob_token = people.new()
    alice = await people.agent(alice_token)
    subscription = push_service.subscribe()
    push_service.dead.add(subscription.id)
    registrations = people.registrations(bob_token)
    await registrations.register("bob-phone", PushTarget.web_push(subscription.json()))
    async with asyncio.timeout(30):
        outgoing = await alice.start_call(bob_id)
        # Until the push service's 410 is acted on (the server's state, over HTTP).
        while await registrations.devices():  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        with pytest.raises(PushRegistrationFailed) as gone:
            await registrations.unregister("bob-phone")
        assert gone.value.status == 404
        await outgoing.hang_up()


@pytest.fixture
async def receiver() -> AsyncIterator[CallbackReceiver]:
    started = await CallbackReceiver().start()
    yield started
    await started.stop()


def automation(server: RunningServer) -> CallAutomationClient:
    return CallAutomationClient.from_connection_string(
        server.connection_string, connection_verify=server.ca_path
    )


async def test_an_apps_call_to_a_closed_app_pushes_it_and_the_woken_app_answers(
    server: RunningServer, people: People, push_service: WebPushService, receiver: CallbackReceiver
) -> None:
    _, _, bob_id, bob_token = await away(people, push_service)
    client = automation(server)
    async with asyncio.timeout(30):
        created = await asyncio.to_thread(
            client.create_call, CommunicationUserIdentifier(bob_id), receiver.url("/calls")
        )
        [incoming_push] = await pushes(push_service, 1)
        assert incoming_push["type"] == "incomingCall"
        assert incoming_push["callId"].startswith("server:")
        bob = await people.agent(bob_token)  # the app starts, woken by the push
        await bob.handle_push_notification(incoming_push)
        ringing = await bob.next_incoming_call()
        await ringing.accept()
        connected = await receiver.event("CallConnected")
        assert connected["callConnectionId"] == created.call_connection_id
        cancel = (await pushes(push_service, 2))[1]
        assert cancel == {
            "type": "callCancelled",
            "callId": incoming_push["callId"],
            "reason": "answered",
        }
        connection = client.get_call_connection(str(created.call_connection_id))
        await asyncio.to_thread(connection.hang_up, True)


async def test_an_invitation_the_app_cancels_pushes_a_cancel(
    server: RunningServer, people: People, push_service: WebPushService, receiver: CallbackReceiver
) -> None:
    alice_id, alice, bob_id, _ = await away(people, push_service)
    client = automation(server)
    async with asyncio.timeout(30):
        created = await asyncio.to_thread(
            client.create_call, CommunicationUserIdentifier(alice_id), receiver.url("/calls")
        )
        incoming = await alice.next_incoming_call()
        await incoming.accept()
        await receiver.event("CallConnected")
        connection = client.get_call_connection(str(created.call_connection_id))
        added = await asyncio.to_thread(
            connection.add_participant, CommunicationUserIdentifier(bob_id)
        )
        [incoming_push] = await pushes(push_service, 1)
        assert incoming_push["type"] == "incomingCall"
        invitation = str(added.invitation_id)
        await asyncio.to_thread(connection.cancel_add_participant_operation, invitation)
        cancel = (await pushes(push_service, 2))[1]
        assert cancel == {
            "type": "callCancelled",
            "callId": incoming_push["callId"],
            "reason": "cancelled",
        }
        await receiver.event("CancelAddParticipantSucceeded")
        await asyncio.to_thread(connection.hang_up, True)


async def test_a_call_an_app_redirects_to_a_closed_apps_user_pushes_them(
    server: RunningServer, people: People, push_service: WebPushService
) -> None:
    events = await EventReceiver().start()
    try:
        alice_id, alice_token = people.new()
        bob_id, bob_token = people.new()
        _, _, carol_id, carol_token = await away(people, push_service)  # Carol: push only
        alice, bob = await people.agent(alice_token), await people.agent(bob_token)
        await subscribe_for_calls_to(
            server.connection_string, server.ca_path, "push-redirect", events.url(), bob_id
        )
        async with asyncio.timeout(30):
            outgoing = await alice.start_call(bob_id)
            bobs = await bob.next_incoming_call()
            context = (await incoming_call_for(events, bob_id))["incomingCallContext"]
            await asyncio.to_thread(
                automation(server).redirect_call, context, CommunicationUserIdentifier(carol_id)
            )
            await bobs.wait_for_state(CallState.DISCONNECTED)
            [incoming_push] = await pushes(push_service, 1)
            assert incoming_push["type"] == "incomingCall"
            assert incoming_push["callId"] == outgoing.id
            assert incoming_push["callerId"] == alice_id
            carol = await people.agent(carol_token)  # woken by the push
            await carol.handle_push_notification(incoming_push)
            ringing = await carol.next_incoming_call()
            await ringing.accept()
            await outgoing.wait_for_state(CallState.CONNECTED)
            assert outgoing.remote is not None and outgoing.remote.user_id == carol_id
            cancel = (await pushes(push_service, 2))[1]
            assert cancel == {"type": "callCancelled", "callId": outgoing.id, "reason": "answered"}
            await outgoing.hang_up()
    finally:
        await events.stop()
