"""Hold both ways and early media over a SIP trunk, with SIPp as the carrier and the official
Call Automation SDK as the app (trunks, routes and SIPp runs: sipp_carrier.py):

    the app holds / unholds the phone ─▶ our re-INVITEs say a=sendonly, then a=sendrecv
        (SIPp checks each body and answers) ─▶ SIPp hangs up ─▶ CallDisconnected
    SIPp re-INVITEs: sendonly (our answer: recvonly), inactive (inactive), then sendrecv with
        its media moved to another port and PCMA ─▶ the prompt the app plays arrives there,
        in PCMA
    addParticipant to a phone that answers 183 with SDP and never 200 ─▶ its announcement
        (loud RTP) is heard by the call's first phone before any answer ─▶ the app cancels
        the invitation (CANCEL, 487); createCall to such a phone ─▶ a probe leg in the call's
        media hears it before any CallConnected ─▶ the app hangs up (CANCEL, 487)
"""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from azure.communication.callautomation import PhoneNumberIdentifier, TextSource

from switchboard.media.node import LocalMediaNode
from tests.callback_receiver import CallbackReceiver
from tests.integration.inprocess_node import InProcessNode
from tests.integration.sipp_carrier import (
    CALLEE,
    RINGING_CALLEE,
    RtpSink,
    ToneSource,
    anyio_backend,
    finished,
    node,
    rtp_sink,
    second_port,
    sip_port,
    sipp,
    tcp_port,
    tone_source,
    trunk_port,
)
from tests.integration.test_sip_calls import connected_call, place_call
from tests.integration.test_voice_simulator import client_of, our_number, receiver, sync

pytestmark = pytest.mark.anyio
__all__ = [
    "anyio_backend",
    "node",
    "our_number",
    "receiver",
    "rtp_sink",
    "second_port",
    "sip_port",
    "tcp_port",
    "tone_source",
    "trunk_port",
]


async def test_the_apps_hold_and_unhold_reach_the_carrier_as_re_invites(
    node: InProcessNode,
    our_number: str,
    receiver: CallbackReceiver,
    trunk_port: int,
    rtp_sink: tuple[RtpSink, int],
) -> None:
    _, rtp_port = rtp_sink
    carrier = await sipp("uas_app_holds.xml", trunk_port, "-key", "rtp_port", str(rtp_port))
    client = client_of(node)
    async with asyncio.timeout(60):
        connection = await connected_call(client, CALLEE, receiver, "/hold", our_number)
        await sync(lambda: connection.hold(PhoneNumberIdentifier(CALLEE)))
        held = await sync(lambda: connection.get_participant(PhoneNumberIdentifier(CALLEE)))
        assert held.is_on_hold is True
        await sync(lambda: connection.unhold(PhoneNumberIdentifier(CALLEE)))
        # SIPp hangs up only after a=sendonly and then a=sendrecv came, each answered and ACKed
        await receiver.event("CallDisconnected")
        assert await finished(carrier) == 0


async def test_the_carriers_re_invites_hold_and_move_the_media(
    node: InProcessNode,
    our_number: str,
    receiver: CallbackReceiver,
    trunk_port: int,
    rtp_sink: tuple[RtpSink, int],
) -> None:
    first, rtp_port = rtp_sink
    loop = asyncio.get_running_loop()
    moved_transport, moved = await loop.create_datagram_endpoint(
        RtpSink, local_addr=("127.0.0.1", 0)
    )
    moved_port = int(moved_transport.get_extra_info("sockname")[1])
    carrier = await sipp(
        "uas_carrier_holds.xml",
        trunk_port,
        *("-key", "rtp_port", str(rtp_port), "-key", "moved_port", str(moved_port)),
    )
    client = client_of(node)
    try:
        async with asyncio.timeout(60):
            connection = await connected_call(client, CALLEE, receiver, "/moved", our_number)
            await sync(
                lambda: connection.play_media(
                    TextSource(text="You are back from hold, on a new port."), loop=True
                )
            )
            await moved.loud.wait()  # resumed there, in PCMA (the sink decodes by type)
            assert moved.loud_frames >= 25
            await sync(lambda: connection.hang_up(is_for_everyone=True))
            await receiver.event("CallDisconnected")
            assert await finished(carrier) == 0  # every answer had the direction it checks
    finally:
        moved_transport.close()
    assert first.frames > 0  # the call's media went to the first port before the move


async def test_early_media_of_an_invited_phone_is_heard_in_the_call_before_any_answer(
    node: InProcessNode,
    our_number: str,
    receiver: CallbackReceiver,
    trunk_port: int,
    second_port: int,
    rtp_sink: tuple[RtpSink, int],
    tone_source: tuple[ToneSource, int],
) -> None:
    sink, rtp_port = rtp_sink
    tone, tone_port = tone_source
    carrier = await sipp("uas_answer.xml", trunk_port, "-key", "rtp_port", str(rtp_port))
    announcing = await sipp("uas_early_media.xml", second_port, "-key", "rtp_port", str(tone_port))
    client = client_of(node)
    async with asyncio.timeout(60):
        connection = await connected_call(client, CALLEE, receiver, "/early", our_number)
        invited = await sync(
            lambda: connection.add_participant(
                PhoneNumberIdentifier(RINGING_CALLEE),
                invitation_timeout=60,
                source_caller_id_number=PhoneNumberIdentifier(our_number),
            )
        )
        # nobody speaks in the call: the first phone's loud audio is the announcement, and
        # the invited phone has sent only its 183 (it never answers)
        await sink.loud.wait()
        assert tone.sent > 0 and sink.loud_frames >= 25
        listed = await sync(lambda: list(connection.list_participants()))
        assert [p.identifier.raw_id for p in listed if p.identifier] == [f"4:{CALLEE}"]
        await sync(lambda: connection.cancel_add_participant_operation(str(invited.invitation_id)))
        await receiver.event("CancelAddParticipantSucceeded")
        assert await finished(announcing) == 0  # CANCEL, 200, 487, ACK
        await sync(lambda: connection.hang_up(is_for_everyone=True))
        await receiver.event("CallDisconnected")
        assert await finished(carrier) == 0


async def test_early_media_of_a_created_call_reaches_the_call_before_any_answer(
    node: InProcessNode,
    our_number: str,
    receiver: CallbackReceiver,
    trunk_port: int,
    tone_source: tuple[ToneSource, int],
) -> None:
    """createCall to a phone that answers 183 with SDP and never 200: a probe leg of the
    test's own in the same SFU call hears the announcement (loud 48 kHz frames from the
    early leg) while CallConnected never came; the app hangs up (CANCEL, 487)."""
    tone, tone_port = tone_source
    announcing = await sipp("uas_early_media.xml", trunk_port, "-key", "rtp_port", str(tone_port))
    client = client_of(node)
    media = node.node.calling.conferences.media
    assert isinstance(media, LocalMediaNode)
    async with asyncio.timeout(60):
        created = await place_call(client, CALLEE, receiver.url("/early-create"), our_number)
        early: list[str] = []
        for _ in range(2000):  # the 183 arrives; its early leg joins the call's media
            early = [
                i for i, c in media.calls.items() if any(p.startswith("early-") for p in c.legs)
            ]
            if early:
                break
            await asyncio.sleep(0.02)
        (call_id,) = early
        probe = await media.add_local_participant(call_id, "probe")
        loud = asyncio.Event()
        loud_frames = 0

        def heard(publisher: str, pcm: bytes) -> None:
            nonlocal loud_frames
            samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
            if publisher.startswith("early-") and np.sqrt(np.mean(samples**2)) > 1000:
                loud_frames += 1
                if loud_frames >= 25:
                    loud.set()

        probe.listen_all(heard)
        await loud.wait()
        assert tone.sent > 0
        assert not any(
            t.endswith("CallConnected") for t in receiver.accepted_types("/early-create")
        )
        probe.close()
        connection = client.get_call_connection(str(created.call_connection_id))
        await sync(lambda: connection.hang_up(is_for_everyone=True))
        assert await finished(announcing) == 0  # CANCEL, 200, 487, ACK
