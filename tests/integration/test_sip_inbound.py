"""Calls from a carrier to our numbers over a SIP trunk, with SIPp as the phone and the
official Call Automation SDK as the app (trunks and SIPp runs: sipp_carrier.py):

    SIPp calls our number ─▶ IncomingCall ─▶ answer ─▶ recognize ─▶ SIPp's RFC 4733 "1" (its
        recorded pcap) ─▶ RecognizeCompleted ─▶ hang up ─▶ BYE
    the app rejects (486) · redirects to a user, who accepts and hangs up ─▶ BYE
    SIPp (UDP and TCP) calls a number that is not ours ─▶ 404
    the app holds and resumes SIPp's call ─▶ our re-INVITEs say a=sendonly, then a=sendrecv
"""

from __future__ import annotations

import asyncio

import pytest
from azure.communication.callautomation import (
    CallRejectReason,
    CommunicationUserIdentifier,
    DtmfTone,
    PhoneNumberIdentifier,
    RecognizeInputType,
)
from azure.communication.identity import CommunicationIdentityClient

from switchboard.client.calling import CallClient, CallState
from tests.callback_receiver import CallbackReceiver
from tests.event_receiver import EventReceiver
from tests.integration.calling_clients import loopback_candidates
from tests.integration.inprocess_node import InProcessNode
from tests.integration.sipp_carrier import (
    anyio_backend,
    finished,
    free_udp_port,
    node,
    second_port,
    sip_port,
    sipp,
    tcp_port,
    trunk_port,
)
from tests.integration.test_voice_simulator import (
    client_of,
    events,
    incoming_call_from,
    our_number,
    receiver,
    sync,
)

pytestmark = pytest.mark.anyio
__all__ = [
    "anyio_backend",
    "events",
    "loopback_candidates",
    "node",
    "our_number",
    "receiver",
    "second_port",
    "sip_port",
    "tcp_port",
    "trunk_port",
]


async def test_a_carrier_call_to_our_number_is_answered_and_its_key_press_recognized(
    node: InProcessNode,
    events: EventReceiver,
    our_number: str,
    receiver: CallbackReceiver,
    sip_port: int,
    trunk_port: int,
) -> None:
    caller = "+15550007777"
    phone = await sipp(
        "uac_dtmf.xml",
        trunk_port,
        f"127.0.0.1:{sip_port}",
        "-s",
        our_number,
        "-key",
        "caller",
        caller,
        "-mp",
        str(free_udp_port()),
    )
    client = client_of(node)
    async with asyncio.timeout(60):
        incoming = await incoming_call_from(events, caller)
        assert incoming["to"]["rawId"] == f"4:{our_number}"
        answered = await sync(
            lambda: client.answer_call(incoming["incomingCallContext"], receiver.url("/ivr"))
        )
        await receiver.event("CallConnected")
        connection = client.get_call_connection(str(answered.call_connection_id))
        await sync(
            lambda: connection.start_recognizing_media(
                RecognizeInputType.DTMF,
                PhoneNumberIdentifier(caller),
                dtmf_max_tones_to_collect=1,
                operation_context="menu",
            )
        )
        recognized = await receiver.event("RecognizeCompleted")
        assert recognized["operationContext"] == "menu"
        assert recognized["dtmfResult"]["tones"] == [DtmfTone.ONE.value]
        await sync(lambda: connection.hang_up(is_for_everyone=True))
        await receiver.event("CallDisconnected")
        assert await finished(phone) == 0  # our BYE ended its key presses


async def test_a_carrier_call_the_app_rejects_as_busy_hears_486(
    node: InProcessNode, events: EventReceiver, our_number: str, sip_port: int, trunk_port: int
) -> None:
    caller = "+15550006666"
    phone = await sipp(
        "uac_rejected.xml",
        trunk_port,
        f"127.0.0.1:{sip_port}",
        *("-s", our_number, "-key", "caller", caller, "-mp", str(free_udp_port())),
    )
    client = client_of(node)
    async with asyncio.timeout(60):
        context = (await incoming_call_from(events, caller))["incomingCallContext"]
        await sync(lambda: client.reject_call(context, call_reject_reason=CallRejectReason.BUSY))
        assert await finished(phone) == 0  # it got 486 and ACKed it


async def test_a_carrier_call_redirected_to_a_user_rings_their_device_and_ends_with_them(
    node: InProcessNode, events: EventReceiver, our_number: str, sip_port: int, trunk_port: int
) -> None:
    caller = "+15550005555"
    client = client_of(node)
    identity = CommunicationIdentityClient.from_connection_string(
        node.connection_string, connection_verify=node.ca_path
    )
    user, token = await sync(lambda: identity.create_user_and_token(scopes=["voip"]))
    agent = await CallClient(node.endpoint, ssl=node.ca_path, tone_hz=0.0).create_call_agent(
        token.token
    )
    phone = await sipp(
        "uac_dtmf.xml",
        trunk_port,
        f"127.0.0.1:{sip_port}",
        *("-s", our_number, "-key", "caller", caller, "-mp", str(free_udp_port())),
    )
    try:
        async with asyncio.timeout(60):
            context = (await incoming_call_from(events, caller))["incomingCallContext"]
            target = CommunicationUserIdentifier(user.properties["id"])
            await sync(lambda: client.redirect_call(context, target))
            ringing = await agent.next_incoming_call()
            await ringing.accept()
            await ringing.wait_for_state(CallState.CONNECTED)
            await ringing.hang_up()
            assert await finished(phone) == 0  # the user left: the phone got BYE
    finally:
        await agent.dispose()


@pytest.mark.parametrize("transport", ["u1", "t1"])  # SIPp's UDP, TCP
async def test_a_carrier_call_to_a_number_that_is_not_ours_hears_404(
    node: InProcessNode, sip_port: int, trunk_port: int, transport: str
) -> None:
    phone = await sipp(
        "uac_unknown.xml",
        trunk_port,
        f"127.0.0.1:{sip_port}",
        *("-t", transport, "-s", "+15559990000", "-key", "caller", "+15550008888"),
        *("-mp", str(free_udp_port())),
    )
    async with asyncio.timeout(60):
        assert await finished(phone) == 0


async def test_the_apps_hold_of_a_carrier_call_reaches_the_carrier_as_re_invites(
    node: InProcessNode,
    events: EventReceiver,
    our_number: str,
    receiver: CallbackReceiver,
    sip_port: int,
    trunk_port: int,
) -> None:
    """The app answers SIPp's call, holds and resumes the caller: our re-INVITEs (from the
    UAS side of the dialog) say a=sendonly, then a=sendrecv; SIPp checks each body."""
    caller = "+15550004444"
    phone = await sipp(
        "uac_held.xml",
        trunk_port,
        f"127.0.0.1:{sip_port}",
        *("-s", our_number, "-key", "caller", caller, "-mp", str(free_udp_port())),
    )
    client = client_of(node)
    async with asyncio.timeout(60):
        incoming = await incoming_call_from(events, caller)
        answered = await sync(
            lambda: client.answer_call(incoming["incomingCallContext"], receiver.url("/held"))
        )
        await receiver.event("CallConnected")
        connection = client.get_call_connection(str(answered.call_connection_id))
        await sync(lambda: connection.hold(PhoneNumberIdentifier(caller)))
        await sync(lambda: connection.unhold(PhoneNumberIdentifier(caller)))
        # SIPp hangs up only after a=sendonly and then a=sendrecv came, each answered and ACKed
        await receiver.event("CallDisconnected")
        assert await finished(phone) == 0
