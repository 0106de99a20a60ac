"""IncomingCall for a 1:1 call to a user an Event Grid subscription asks for (advanced filter on
``data.to.rawId``), with the official Call Automation SDK (sync and async) against an
in-process node over TLS, the users on the Python calling client: the callee's device rings
and the app is offered the call; the app answers (the callee's device stops, 487/10003; the
caller's call becomes the app's server call and hears its speech), or the callee answers first
(the app's answer is a 4xx), or the app rejects (the call ends for both) or redirects (another
user's device rings, P2P as before); a call to a user no subscription asks for raises nothing.
"""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import AsyncIterator, Callable
from typing import TypeVar

import pytest
from azure.communication.callautomation import (
    CallAutomationClient,
    CallRejectReason,
    CommunicationUserIdentifier,
    TextSource,
)
from azure.communication.callautomation.aio import CallAutomationClient as AsyncCallAutomationClient
from azure.communication.identity import CommunicationIdentityClient
from azure.core.exceptions import HttpResponseError
from websockets.asyncio.client import connect

from switchboard.calling.signaling.protocol import PROTOCOL
from switchboard.client.calling import AudioProbe, Call, CallAgent, CallClient, CallState
from tests.callback_receiver import CallbackReceiver
from tests.delivery_barrier import deliveries_settled
from tests.event_receiver import EventReceiver
from tests.integration.calling_clients import loopback_candidates
from tests.integration.inprocess_node import InProcessNode, serving
from tests.integration.test_group_call_lifecycle import Raw
from tests.integration.user_call_events import (
    incoming_call_for,
    incoming_calls,
    subscribe_for_calls_to,
)

pytestmark = pytest.mark.anyio
__all__ = ["loopback_candidates"]  # the autouse fixture: host candidates on loopback

T = TypeVar("T")
SUBSCRIPTION = "user-calls"


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
async def node(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[InProcessNode]:
    async with serving(tmp_path_factory.mktemp("user-incoming")) as served:
        yield served


@pytest.fixture(scope="module")
async def events() -> AsyncIterator[EventReceiver]:
    receiver = await EventReceiver().start()
    yield receiver
    await receiver.stop()


@pytest.fixture
async def receiver() -> AsyncIterator[CallbackReceiver]:
    started = await CallbackReceiver().start()
    yield started
    await started.stop()


async def sync(call: Callable[[], T]) -> T:
    """A sync SDK call off the loop (the node serves on this loop)."""
    return await asyncio.to_thread(call)


async def voip_user(node: InProcessNode) -> tuple[str, str]:
    """A user's id and a voip token."""
    identity = CommunicationIdentityClient.from_connection_string(
        node.connection_string, connection_verify=node.ca_path
    )
    user_, token = await sync(lambda: identity.create_user_and_token(scopes=["voip"]))
    return user_.properties["id"], token.token


async def raw_device(node: InProcessNode, token: str) -> Raw:
    """A bare signaling client: one that knows nothing of callConverted."""
    connection = await connect(
        node.endpoint.replace("https://", "wss://") + "/calling/signaling",
        subprotocols=[PROTOCOL],  # type: ignore[list-item]  # a plain str is fine
        additional_headers={"Authorization": f"Bearer {token}"},
        ssl=ssl.create_default_context(cafile=node.ca_path),
    )
    raw = Raw(connection)
    await raw.request("register")
    return raw


async def user(node: InProcessNode) -> tuple[str, CallAgent]:
    user_id, token = await voip_user(node)
    agent = await CallClient(node.endpoint, ssl=node.ca_path, tone_hz=0.0).create_call_agent(
        token, display_name="Alice's phone"
    )
    return user_id, agent


async def subscribe_for(node: InProcessNode, events: EventReceiver, *callees: str) -> None:
    """IncomingCall for calls to ``callees`` only (the subscription is replaced)."""
    await subscribe_for_calls_to(
        node.connection_string, node.ca_path, SUBSCRIPTION, events.url("/incoming"), *callees
    )


async def ringing(agent: CallAgent) -> Call:
    call = await agent.next_incoming_call()
    assert call.state is CallState.RINGING
    return call


async def loud_frames_since(probe: AudioProbe, before: int, *, at_least: int) -> None:
    while probe.loud_frames - before < at_least:
        probe.changed.clear()
        await probe.changed.wait()


def client_of(node: InProcessNode) -> CallAutomationClient:
    return CallAutomationClient.from_connection_string(
        node.connection_string, connection_verify=node.ca_path
    )


async def test_the_app_answers_a_users_call_plays_to_the_caller_and_hangs_up(
    node: InProcessNode, events: EventReceiver, receiver: CallbackReceiver
) -> None:
    client = client_of(node)
    alice_id, alice = await user(node)
    bob_id, bob = await user(node)
    await subscribe_for(node, events, bob_id)
    try:
        async with asyncio.timeout(90):
            call = await alice.start_call(bob_id)
            bobs = await ringing(bob)  # his own device rings too
            incoming = await incoming_call_for(events, bob_id)
            assert incoming["from"]["rawId"] == alice_id
            assert incoming["callerDisplayName"] == "Alice's phone"
            assert incoming["serverCallId"].startswith("server:")
            assert incoming["correlationId"]

            answered = await sync(
                lambda: client.answer_call(incoming["incomingCallContext"], receiver.url("/app"))
            )
            connected = await receiver.event("CallConnected")
            assert connected["callConnectionId"] == answered.call_connection_id
            assert connected["serverCallId"] == incoming["serverCallId"]

            await bobs.wait_for_state(CallState.DISCONNECTED)
            assert bobs.end_reason is not None
            assert (bobs.end_reason.code, bobs.end_reason.sub_code) == (487, 10003)

            await call.wait_for_state(CallState.CONNECTED)
            assert call.id == incoming["serverCallId"] and call.is_conference
            updated = await receiver.event("ParticipantsUpdated")
            assert [p["identifier"]["rawId"] for p in updated["participants"]] == [alice_id]

            connection = client.get_call_connection(str(answered.call_connection_id))
            probe = call.audio_of("app")
            await sync(lambda: connection.play_media(TextSource(text="Hello Alice.")))
            await receiver.event("PlayStarted")
            loud = probe.loud_frames
            await receiver.event("PlayCompleted")
            await loud_frames_since(probe, loud, at_least=10)  # the last ones still arriving

            # The app leaves: Alice, alone, is hung up (as when Bob hangs up a 1:1 call).
            await sync(lambda: connection.hang_up(is_for_everyone=False))
            await receiver.event("CallDisconnected")
            await call.wait_for_state(CallState.DISCONNECTED)
            assert call.end_reason is not None and call.end_reason.code == 0
    finally:
        await alice.dispose()
        await bob.dispose()


async def test_when_the_callee_answers_first_the_apps_answer_is_refused(
    node: InProcessNode, events: EventReceiver, receiver: CallbackReceiver
) -> None:
    _, alice = await user(node)
    bob_id, bob = await user(node)
    await subscribe_for(node, events, bob_id)
    client = AsyncCallAutomationClient.from_connection_string(
        node.connection_string, connection_verify=node.ca_path
    )
    try:
        async with asyncio.timeout(60), client:
            call = await alice.start_call(bob_id)
            bobs = await ringing(bob)
            incoming = await incoming_call_for(events, bob_id)
            await bobs.accept()
            await call.wait_for_state(CallState.CONNECTED)
            with pytest.raises(HttpResponseError) as refused:
                await client.answer_call(incoming["incomingCallContext"], receiver.url("/late"))
            assert refused.value.status_code is not None
            assert 400 <= refused.value.status_code < 500
            assert not call.is_conference  # P2P as before
            assert call.remote is not None and call.remote.user_id == bob_id
            await call.hang_up()
            await bobs.wait_for_state(CallState.DISCONNECTED)
    finally:
        await alice.dispose()
        await bob.dispose()


async def test_the_async_sdk_answers_and_a_caller_hanging_up_ends_the_apps_call(
    node: InProcessNode, events: EventReceiver, receiver: CallbackReceiver
) -> None:
    _, alice = await user(node)
    bob_id, bob = await user(node)
    await subscribe_for(node, events, bob_id)
    client = AsyncCallAutomationClient.from_connection_string(
        node.connection_string, connection_verify=node.ca_path
    )
    try:
        async with asyncio.timeout(60), client:
            call = await alice.start_call(bob_id)
            bobs = await ringing(bob)
            incoming = await incoming_call_for(events, bob_id)
            await client.answer_call(incoming["incomingCallContext"], receiver.url("/async"))
            await receiver.event("CallConnected")
            await call.wait_for_state(CallState.CONNECTED)
            await bobs.wait_for_state(CallState.DISCONNECTED)
            await call.hang_up()
            disconnected = await receiver.event("CallDisconnected")
            assert disconnected["serverCallId"] == incoming["serverCallId"]
    finally:
        await alice.dispose()
        await bob.dispose()


async def test_a_caller_hanging_up_withdraws_the_offer(
    node: InProcessNode, events: EventReceiver, receiver: CallbackReceiver
) -> None:
    client = client_of(node)
    _, alice = await user(node)
    bob_id, bob = await user(node)
    await subscribe_for(node, events, bob_id)
    try:
        async with asyncio.timeout(60):
            call = await alice.start_call(bob_id)
            bobs = await ringing(bob)
            context = (await incoming_call_for(events, bob_id))["incomingCallContext"]
            await call.hang_up()
            await bobs.wait_for_state(CallState.DISCONNECTED)
            with pytest.raises(HttpResponseError) as refused:
                await sync(lambda: client.answer_call(context, receiver.url("/gone")))
            assert refused.value.status_code == 404
    finally:
        await alice.dispose()
        await bob.dispose()


async def test_the_app_rejects_and_the_call_ends_for_both(
    node: InProcessNode, events: EventReceiver
) -> None:
    client = client_of(node)
    _, alice = await user(node)
    bob_id, bob = await user(node)
    await subscribe_for(node, events, bob_id)
    try:
        async with asyncio.timeout(60):
            call = await alice.start_call(bob_id)
            bobs = await ringing(bob)
            context = (await incoming_call_for(events, bob_id))["incomingCallContext"]
            await sync(
                lambda: client.reject_call(context, call_reject_reason=CallRejectReason.BUSY)
            )
            await call.wait_for_state(CallState.DISCONNECTED)
            assert call.end_reason is not None and call.end_reason.code == 486
            await bobs.wait_for_state(CallState.DISCONNECTED)
            assert bobs.end_reason is not None and bobs.end_reason.code == 486
            with pytest.raises(HttpResponseError) as twice:
                await sync(lambda: client.reject_call(context))
            assert twice.value.status_code == 404
    finally:
        await alice.dispose()
        await bob.dispose()


async def test_the_app_redirects_the_call_to_another_user(
    node: InProcessNode, events: EventReceiver
) -> None:
    client = client_of(node)
    alice_id, alice = await user(node)
    bob_id, bob = await user(node)
    carol_id, carol = await user(node)
    await subscribe_for(node, events, bob_id)
    try:
        async with asyncio.timeout(60):
            call = await alice.start_call(bob_id)
            bobs = await ringing(bob)
            context = (await incoming_call_for(events, bob_id))["incomingCallContext"]
            await sync(lambda: client.redirect_call(context, CommunicationUserIdentifier(carol_id)))
            await bobs.wait_for_state(CallState.DISCONNECTED)
            assert bobs.end_reason is not None and bobs.end_reason.code == 487
            carols = await ringing(carol)
            assert carols.remote is not None and carols.remote.user_id == alice_id
            await carols.accept()
            await call.wait_for_state(CallState.CONNECTED)
            assert call.remote is not None and call.remote.user_id == carol_id
            assert not call.is_conference
            await carols.hang_up()
            await call.wait_for_state(CallState.DISCONNECTED)
    finally:
        await alice.dispose()
        await bob.dispose()
        await carol.dispose()


async def test_a_call_to_a_user_no_subscription_asks_for_raises_no_event(
    node: InProcessNode, events: EventReceiver
) -> None:
    _, alice = await user(node)
    dave_id, dave = await user(node)
    await subscribe_for(node, events, "8:acs:somebody-else")
    try:
        async with asyncio.timeout(60):
            call = await alice.start_call(dave_id)
            daves = await ringing(dave)
            await daves.accept()
            await call.wait_for_state(CallState.CONNECTED)
            await deliveries_settled(node.node.database, [SUBSCRIPTION])
            assert incoming_calls(events, dave_id) == []
            assert not call.is_conference
            await call.hang_up()
            await daves.wait_for_state(CallState.DISCONNECTED)
    finally:
        await alice.dispose()
        await dave.dispose()


async def test_a_caller_that_goes_away_before_joining_ends_the_apps_call(
    node: InProcessNode, events: EventReceiver, receiver: CallbackReceiver
) -> None:
    client = client_of(node)
    _, alice_token = await voip_user(node)
    bob_id, bob = await user(node)
    await subscribe_for(node, events, bob_id)
    offer = {"type": "offer", "sdp": "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"}
    try:
        async with asyncio.timeout(60):
            alice = await raw_device(node, alice_token)
            target = {"rawId": bob_id, "communicationUser": {"id": bob_id}}
            placed = await alice.request("startCall", targets=[target], description=offer)
            await ringing(bob)
            context = (await incoming_call_for(events, bob_id))["incomingCallContext"]
            await sync(lambda: client.answer_call(context, receiver.url("/never")))
            converted = await alice.next(lambda f: f.get("type") == "callConverted")
            assert converted["callId"] == placed["callId"]
            await alice.connection.send('{"v":1,"type":"unregister"}')  # gone, never joined
            disconnected = await receiver.event("CallDisconnected")
            assert disconnected["serverCallId"] == converted["serverCallId"]
    finally:
        await bob.dispose()


async def test_a_call_to_a_user_with_no_device_waits_for_the_app_which_answers(
    node: InProcessNode, events: EventReceiver, receiver: CallbackReceiver
) -> None:
    client = client_of(node)
    _, alice = await user(node)
    bob_id, _ = await voip_user(node)  # no device registered
    await subscribe_for(node, events, bob_id)
    try:
        async with asyncio.timeout(60):
            call = await alice.start_call(bob_id)
            context = (await incoming_call_for(events, bob_id))["incomingCallContext"]
            assert call.state is not CallState.DISCONNECTED  # not 480: an app may answer
            await sync(lambda: client.answer_call(context, receiver.url("/nobody")))
            await call.wait_for_state(CallState.CONNECTED)
            assert call.is_conference
            await call.hang_up()
            await receiver.event("CallDisconnected")
    finally:
        await alice.dispose()


async def test_a_caller_whose_hang_up_crossed_the_answer_leaves_the_apps_call_at_once(
    node: InProcessNode, events: EventReceiver, receiver: CallbackReceiver
) -> None:
    """What the SDKs do when callConverted reaches a call they are hanging up: the 1:1 call's
    hangUp is refused (it was converted), so they hang up the server call they were sent to."""
    client = client_of(node)
    _, alice_token = await voip_user(node)
    bob_id, bob = await user(node)
    await subscribe_for(node, events, bob_id)
    offer = {"type": "offer", "sdp": "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"}
    try:
        async with asyncio.timeout(20):  # well under the 30 s the admission would wait
            alice = await raw_device(node, alice_token)
            target = {"rawId": bob_id, "communicationUser": {"id": bob_id}}
            placed = await alice.request("startCall", targets=[target], description=offer)
            await ringing(bob)
            context = (await incoming_call_for(events, bob_id))["incomingCallContext"]
            await sync(lambda: client.answer_call(context, receiver.url("/crossed")))
            converted = await alice.next(lambda f: f.get("type") == "callConverted")
            await alice.connection.send(
                json.dumps({"v": 1, "type": "hangUp", "id": "late", "callId": placed["callId"]})
            )
            refused = await alice.next(lambda f: f.get("id") == "late")
            assert refused["ok"] is False and refused["error"]["code"] == "CallNotFound"
            await alice.request("hangUp", callId=converted["serverCallId"])
            await receiver.event("CallDisconnected")
    finally:
        await bob.dispose()
