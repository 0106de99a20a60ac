"""Calls to phone numbers from the Python calling client (``start_call("+1…",
alternate_caller_id=our number)``) over SIP trunks, with SIPp as the carrier's signaling and
the test's own RTP end as the phone's media (a 440 Hz tone back; trunks: sipp_carrier.py):

    start_call ─▶ INVITE ─▶ SIPp 180/200 ─▶ Connected: the client hears 440 Hz, the phone
        hears the client's 660 Hz ─▶ the client hangs up ─▶ BYE
    the client's state follows the carrier: Connecting until its 180, Ringing, with a 183's
        early media heard meanwhile, Connected on its 200; a carrier that answers 486 at once
        never made it ring
    SIPp hangs up first ─▶ the client's call ends 0/0 · SIPp answers 486 ─▶ 486/0
    a trunk that is down (TCP refused) ─▶ 503/0 · a caller id that is not ours ─▶ refused
    a number no route takes ─▶ the voice simulator, which has no such phone ─▶ 404/0
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import TypeVar

import pytest
from azure.communication.identity import CommunicationIdentityClient

from switchboard.client.calling import Call, CallAgent, CallClient, CallState
from switchboard.client.calling.session import RequestFailed
from tests.integration.calling_clients import hears, loopback_candidates
from tests.integration.inprocess_node import InProcessNode
from tests.integration.sipp_carrier import (
    CALLEE,
    TCP_CALLEE,
    TonePhone,
    ToneSource,
    anyio_backend,
    finished,
    node,
    second_port,
    sip_port,
    sipp,
    tcp_port,
    tone_phone,
    tone_source,
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
    "tone_source",
    "trunk_port",
]

CLIENT_HZ = 660.0  # what the client sends; the phone sends 440 Hz
T = TypeVar("T")


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


def left(state: CallState) -> Callable[[Call], bool]:
    return lambda call: call.state is not state


async def states_of(call: Call, watch: Callable[[], T]) -> list[tuple[CallState, T]]:
    """Each state the call goes through until Connected or Disconnected, with what ``watch``
    saw when it began."""
    seen = [(call.state, watch())]
    while seen[-1][0] not in (CallState.CONNECTED, CallState.DISCONNECTED):
        await call.wait_for(left(seen[-1][0]))
        seen.append((call.state, watch()))
    return seen


async def test_the_clients_call_rings_on_the_carriers_180_hears_its_early_media_then_connects(
    agent: CallAgent, our_number: str, trunk_port: int, tone_source: tuple[ToneSource, int]
) -> None:
    """SIPp: 180 after 0.6 s, a 183 with SDP 0.3 s later (the tone source plays a 440 Hz
    announcement at whoever sends it RTP), the 200 2.5 s after that. The early media's stream
    comes from the call's early leg (not a participant: the client files it under its id)."""
    tone, tone_port = tone_source
    carrier = await sipp("uas_progress_answer.xml", trunk_port, "-key", "rtp_port", str(tone_port))
    async with asyncio.timeout(60):
        call = await agent.start_call(CALLEE, alternate_caller_id=our_number)

        def watch() -> tuple[int, int]:  # (packets of the announcement, loud frames heard)
            media = call.media
            if media is None:
                return tone.sent, 0
            probes = [media.audio, *media.probes.values()]  # whoever's stream it came on
            return tone.sent, sum(probe.loud_frames for probe in probes)

        seen = await states_of(call, watch)
        assert [state for state, _ in seen] == [
            CallState.CONNECTING,
            CallState.RINGING,
            CallState.CONNECTED,
        ]
        (_, at_start), (_, at_ringing), (_, at_answer) = seen
        assert at_start == (0, 0) and at_ringing == (0, 0)  # rang on the 180, before the 183
        assert at_answer[0] > 0  # the 183's media flowed while it rang …
        assert at_answer[1] >= 25  # … and the client heard half a second of it, unanswered
        [remote] = call.remote_participants.values()
        assert remote.user_id == f"4:{CALLEE}"
        await hears(call.audio_of(remote.id), 440.0)  # answered: the phone itself
        await call.hang_up()
        await call.wait_for_state(CallState.DISCONNECTED)
        assert await finished(carrier) == 0  # 180, 183, 200, ACK, our BYE answered


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
    carrier = await sipp("uas_busy.xml", trunk_port)  # 486 at once: no 180, no 183
    async with asyncio.timeout(60):
        call = await agent.start_call(CALLEE, alternate_caller_id=our_number)
        seen = await states_of(call, lambda: None)
        assert [state for state, _ in seen] == [CallState.CONNECTING, CallState.DISCONNECTED]
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
