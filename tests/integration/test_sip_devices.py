"""Calls to phone numbers from the Python calling client (``start_call("+1…",
alternate_caller_id=our number)``) over SIP trunks, with SIPp as the carrier's signaling and
the test's own RTP end as the phone's media (a 440 Hz tone back; trunks: sipp_carrier.py):

    start_call ─▶ INVITE ─▶ SIPp 180/200 ─▶ Connected: the client hears 440 Hz, the phone
        hears the client's 660 Hz ─▶ the client hangs up ─▶ BYE
    SIPp hangs up first ─▶ the client's call ends 0/0 · SIPp answers 486 ─▶ 486/0
    a trunk that is down (TCP refused) ─▶ 503/0 · a caller id that is not ours ─▶ refused
    a number no route takes ─▶ the voice simulator, which has no such phone ─▶ 404/0
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from azure.communication.identity import CommunicationIdentityClient

from switchboard.client.calling import CallAgent, CallClient, CallState
from switchboard.client.calling.session import RequestFailed
from tests.integration.calling_clients import hears, loopback_candidates
from tests.integration.inprocess_node import InProcessNode
from tests.integration.sipp_carrier import (
    CALLEE,
    TCP_CALLEE,
    TonePhone,
    anyio_backend,
    finished,
    node,
    second_port,
    sip_port,
    sipp,
    tcp_port,
    tone_phone,
    trunk_port,
)
from tests.integration.test_voice_simulator import our_number, sync

pytestmark = pytest.mark.anyio
__all__ = [
    "anyio_backend",
    "loopback_candidates",
    "node",
    "our_number",
    "second_port",
    "sip_port",
    "tcp_port",
    "tone_phone",
    "trunk_port",
]

CLIENT_HZ = 660.0  # what the client sends; the phone sends 440 Hz


@pytest.fixture
async def agent(node: InProcessNode) -> AsyncIterator[CallAgent]:
    identity = CommunicationIdentityClient.from_connection_string(
        node.connection_string, connection_verify=node.ca_path
    )
    _, token = await sync(lambda: identity.create_user_and_token(scopes=["voip"]))
    client = CallClient(node.endpoint, ssl=node.ca_path, tone_hz=CLIENT_HZ)
    created = await client.create_call_agent(token.token)
    yield created
    await created.dispose()


async def test_the_client_calls_a_number_over_the_trunk_and_both_sides_hear_each_other(
    agent: CallAgent, our_number: str, trunk_port: int, tone_phone: tuple[TonePhone, int]
) -> None:
    phone, rtp_port = tone_phone
    carrier = await sipp("uas_answer.xml", trunk_port, "-key", "rtp_port", str(rtp_port))
    async with asyncio.timeout(60):
        call = await agent.start_call(CALLEE, alternate_caller_id=our_number)
        assert call.is_conference and call.id is not None and call.id.startswith("server:")
        await call.wait_for_state(CallState.CONNECTED)
        [remote] = call.remote_participants.values()
        assert remote.user_id == f"4:{CALLEE}"
        await hears(call.audio_of(remote.id), 440.0)  # the phone's tone, through G.711
        await phone.loud.wait()  # the phone hears the client
        assert phone.heard_hz is not None and abs(phone.heard_hz - CLIENT_HZ) < 40
        await call.hang_up()
        await call.wait_for_state(CallState.DISCONNECTED)
        assert call.end_reason is not None and call.end_reason.code == 0
        assert await finished(carrier) == 0  # it got our BYE and answered it


async def test_the_carrier_hanging_up_first_ends_the_clients_call(
    agent: CallAgent, our_number: str, trunk_port: int, tone_phone: tuple[TonePhone, int]
) -> None:
    _, rtp_port = tone_phone
    carrier = await sipp("uas_hangs_up.xml", trunk_port, "-key", "rtp_port", str(rtp_port))
    async with asyncio.timeout(60):
        call = await agent.start_call(CALLEE, alternate_caller_id=our_number)
        await call.wait_for_state(CallState.DISCONNECTED)
        assert call.end_reason is not None
        assert (call.end_reason.code, call.end_reason.sub_code) == (0, 0)
        assert await finished(carrier) == 0  # its BYE got our 200


async def test_a_busy_number_ends_the_clients_call_with_486(
    agent: CallAgent, our_number: str, trunk_port: int
) -> None:
    carrier = await sipp("uas_busy.xml", trunk_port)
    async with asyncio.timeout(60):
        call = await agent.start_call(CALLEE, alternate_caller_id=our_number)
        await call.wait_for_state(CallState.DISCONNECTED)
        assert call.end_reason is not None and call.end_reason.code == 486
        assert await finished(carrier) == 0  # it got the ACK of its 486


async def test_a_trunk_that_is_down_ends_the_clients_call_with_503(
    agent: CallAgent, our_number: str
) -> None:
    """The route's one trunk is signalled over TCP and nothing listens there now."""
    async with asyncio.timeout(60):
        call = await agent.start_call(TCP_CALLEE, alternate_caller_id=our_number)
        await call.wait_for_state(CallState.DISCONNECTED)
        assert call.end_reason is not None and call.end_reason.code == 503


async def test_a_caller_id_that_is_not_a_purchased_number_is_refused(agent: CallAgent) -> None:
    async with asyncio.timeout(60):
        with pytest.raises(RequestFailed) as refused:
            await agent.start_call(CALLEE, alternate_caller_id="+18005550199")
        assert refused.value.code == "InvalidAlternateCallerId"
        assert not agent.calls


async def test_a_number_no_route_takes_goes_to_the_voice_simulator(
    agent: CallAgent, our_number: str
) -> None:
    """No virtual phone has the number: the simulator answers "not in service"."""
    async with asyncio.timeout(60):
        call = await agent.start_call("+13125550111", alternate_caller_id=our_number)
        await call.wait_for_state(CallState.DISCONNECTED)
        assert call.end_reason is not None and call.end_reason.code == 404
