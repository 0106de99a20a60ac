"""Calls to phone numbers over SIP trunks, with SIPp (Debian ``sip-tester``) playing the
carrier and the official Call Automation SDK against an in-process node over TLS
(trunks, routes and SIPp runs: sipp_carrier.py):

    createCall to +1555… ─▶ INVITE ─▶ SIPp 180/200 (its SDP names the test's RTP socket) ─▶
        the app plays a TextSource ─▶ the socket receives loud G.711 ─▶ the app hangs up ─▶ BYE
    SIPp's built-in uas with -rtp_echo: the app's keys come back and its recognize hears them
    the app sends DTMF to the phone ─▶ the socket hears the keys in-band · a trunk over TCP
    SIPp answers 486 ─▶ CreateCallFailed 486 · SIPp answers then sends BYE ─▶ CallDisconnected
    a second SIPp answers 503 ─▶ the route's next trunk · 401 ─▶ digest credentials (SIPp
        verifies them) · an addParticipant nobody answers ─▶ CANCEL at its timeout (487/10004)
"""

from __future__ import annotations

import asyncio

import pytest
from azure.communication.callautomation import (
    CallAutomationClient,
    CallConnectionClient,
    CallConnectionProperties,
    DtmfTone,
    PhoneNumberIdentifier,
    RecognizeInputType,
    TextSource,
)

from tests.callback_receiver import CallbackReceiver
from tests.integration.inprocess_node import InProcessNode
from tests.integration.sipp_carrier import (
    AUTH_CALLEE,
    CALLEE,
    FAILOVER_CALLEE,
    PASSWORD,
    RINGING_CALLEE,
    TCP_CALLEE,
    USERNAME,
    RtpSink,
    anyio_backend,
    finished,
    free_udp_port,
    node,
    rtp_sink,
    second_port,
    sip_port,
    sipp,
    tcp_port,
    trunk_port,
)
from tests.integration.test_voice_simulator import (
    client_of,
    events,
    our_number,
    receiver,
    sync,
)

pytestmark = pytest.mark.anyio
__all__ = [
    "anyio_backend",
    "events",
    "node",
    "our_number",
    "receiver",
    "rtp_sink",
    "second_port",
    "sip_port",
    "tcp_port",
    "trunk_port",
]


async def place_call(
    client: CallAutomationClient, callee: str, callback_url: str, our_number: str
) -> CallConnectionProperties:
    """createCall to ``callee`` from our purchased number (the route sends it to a trunk)."""
    return await sync(
        lambda: client.create_call(
            PhoneNumberIdentifier(callee),
            callback_url,
            source_caller_id_number=PhoneNumberIdentifier(our_number),
        )
    )


async def connected_call(
    client: CallAutomationClient,
    callee: str,
    receiver: CallbackReceiver,
    path: str,
    our_number: str,
) -> CallConnectionClient:
    """``place_call``, then its CallConnected: the connection to act on."""
    created = await place_call(client, callee, receiver.url(path), our_number)
    await receiver.event("CallConnected")
    return client.get_call_connection(str(created.call_connection_id))


async def test_create_call_over_the_trunk_is_answered_and_the_carrier_hears_the_prompt(
    node: InProcessNode,
    our_number: str,
    receiver: CallbackReceiver,
    trunk_port: int,
    rtp_sink: tuple[RtpSink, int],
) -> None:
    sink, rtp_port = rtp_sink
    carrier = await sipp("uas_answer.xml", trunk_port, "-key", "rtp_port", str(rtp_port))
    client = client_of(node)
    async with asyncio.timeout(60):
        created = await place_call(client, CALLEE, receiver.url("/out"), our_number)
        connected = await receiver.event("CallConnected")
        assert connected["callConnectionId"] == created.call_connection_id
        connection = client.get_call_connection(str(created.call_connection_id))
        listed = await sync(lambda: list(connection.list_participants()))
        assert [p.identifier.raw_id for p in listed if p.identifier] == [f"4:{CALLEE}"]
        await sync(
            lambda: connection.play_media(
                TextSource(text="Hello from the switchboard, over a SIP trunk."),
                play_to="all",
            )
        )
        await receiver.event("PlayCompleted")
        await sink.loud.wait()
        assert sink.loud_frames >= 25 and sink.frames > sink.loud_frames  # silence too
        await sync(lambda: connection.hang_up(is_for_everyone=True))
        await receiver.event("CallDisconnected")
        assert await finished(carrier) == 0  # it got our BYE and answered it


async def test_sipps_own_uas_echoes_our_rtp_and_the_app_recognizes_its_own_keys(
    node: InProcessNode, our_number: str, receiver: CallbackReceiver, trunk_port: int
) -> None:
    """SIPp's built-in ``uas`` with ``-rtp_echo``: the keys the app sends the phone (in-band
    G.711) come back as the phone's audio, through the jitter buffer and the decoder, and the
    app's DTMF recognition on that participant hears them."""
    echo_port = free_udp_port()
    carrier = await sipp("builtin:uas", trunk_port, "-rtp_echo", "-mp", str(echo_port))
    client = client_of(node)
    async with asyncio.timeout(60):
        created = await place_call(client, CALLEE, receiver.url("/echo"), our_number)
        await receiver.event("CallConnected")
        connection = client.get_call_connection(str(created.call_connection_id))
        await sync(
            lambda: connection.start_recognizing_media(
                RecognizeInputType.DTMF,
                PhoneNumberIdentifier(CALLEE),
                dtmf_max_tones_to_collect=2,
                operation_context="echo",
            )
        )
        await sync(
            lambda: connection.send_dtmf_tones(
                [DtmfTone.FOUR, DtmfTone.TWO], PhoneNumberIdentifier(CALLEE)
            )
        )
        recognized = await receiver.event("RecognizeCompleted")
        assert recognized["dtmfResult"]["tones"] == [DtmfTone.FOUR.value, DtmfTone.TWO.value]
        await sync(lambda: connection.hang_up(is_for_everyone=True))
        await receiver.event("CallDisconnected")
        assert await finished(carrier) == 0


async def test_dtmf_the_app_sends_to_the_phone_reaches_the_carrier_in_band(
    node: InProcessNode,
    our_number: str,
    receiver: CallbackReceiver,
    trunk_port: int,
    rtp_sink: tuple[RtpSink, int],
) -> None:
    sink, rtp_port = rtp_sink
    carrier = await sipp("uas_answer.xml", trunk_port, "-key", "rtp_port", str(rtp_port))
    client = client_of(node)
    async with asyncio.timeout(60):
        created = await place_call(client, CALLEE, receiver.url("/keys"), our_number)
        await receiver.event("CallConnected")
        connection = client.get_call_connection(str(created.call_connection_id))
        await sync(
            lambda: connection.send_dtmf_tones(
                [DtmfTone.NINE, DtmfTone.POUND], PhoneNumberIdentifier(CALLEE)
            )
        )
        await receiver.event("SendDtmfTonesCompleted")
        while len(sink.keys) < 2:
            sink.key_heard.clear()
            await sink.key_heard.wait()
        assert sink.keys == ["9", "#"]
        await sync(lambda: connection.hang_up(is_for_everyone=True))
        await receiver.event("CallDisconnected")
        assert await finished(carrier) == 0


async def test_a_trunk_over_tcp_carries_the_call_and_its_bye(
    node: InProcessNode,
    our_number: str,
    receiver: CallbackReceiver,
    tcp_port: int,
    rtp_sink: tuple[RtpSink, int],
) -> None:
    sink, rtp_port = rtp_sink
    carrier = await sipp("uas_answer.xml", tcp_port, "-t", "t1", "-key", "rtp_port", str(rtp_port))
    client = client_of(node)
    async with asyncio.timeout(60):
        created = await place_call(client, TCP_CALLEE, receiver.url("/tcp"), our_number)
        await receiver.event("CallConnected")
        connection = client.get_call_connection(str(created.call_connection_id))
        await sync(lambda: connection.play_media(TextSource(text="Over TCP."), play_to="all"))
        await receiver.event("PlayCompleted")
        await sink.loud.wait()
        await sync(lambda: connection.hang_up(is_for_everyone=True))
        await receiver.event("CallDisconnected")
        assert await finished(carrier) == 0  # SIPp listened on TCP only


async def test_a_busy_callee_fails_create_call_with_486(
    node: InProcessNode, our_number: str, receiver: CallbackReceiver, trunk_port: int
) -> None:
    carrier = await sipp("uas_busy.xml", trunk_port)
    client = client_of(node)
    async with asyncio.timeout(60):
        await sync(
            lambda: client.create_call(
                PhoneNumberIdentifier(CALLEE),
                receiver.url("/busy"),
                source_caller_id_number=PhoneNumberIdentifier(our_number),
            )
        )
        failed = await receiver.event("CreateCallFailed")
        assert failed["resultInformation"]["code"] == 486
        assert await finished(carrier) == 0  # it got the ACK of its 486


async def test_the_carrier_hanging_up_first_disconnects_the_app(
    node: InProcessNode,
    our_number: str,
    receiver: CallbackReceiver,
    trunk_port: int,
    rtp_sink: tuple[RtpSink, int],
) -> None:
    _, rtp_port = rtp_sink
    carrier = await sipp("uas_hangs_up.xml", trunk_port, "-key", "rtp_port", str(rtp_port))
    client = client_of(node)
    async with asyncio.timeout(60):
        created = await place_call(client, CALLEE, receiver.url("/dropped"), our_number)
        connected = await receiver.event("CallConnected")
        assert connected["callConnectionId"] == created.call_connection_id
        disconnected = await receiver.event("CallDisconnected")
        assert disconnected["callConnectionId"] == created.call_connection_id
        assert await finished(carrier) == 0  # its BYE got our 200


async def test_a_trunks_503_fails_over_to_the_routes_next_trunk(
    node: InProcessNode,
    our_number: str,
    receiver: CallbackReceiver,
    trunk_port: int,
    second_port: int,
    rtp_sink: tuple[RtpSink, int],
) -> None:
    _, rtp_port = rtp_sink
    troubled = await sipp("uas_503.xml", second_port)
    carrier = await sipp("uas_answer.xml", trunk_port, "-key", "rtp_port", str(rtp_port))
    client = client_of(node)
    async with asyncio.timeout(60):
        created = await place_call(client, FAILOVER_CALLEE, receiver.url("/failover"), our_number)
        await receiver.event("CallConnected")
        assert await finished(troubled) == 0  # it answered 503 and got its ACK
        connection = client.get_call_connection(str(created.call_connection_id))
        await sync(lambda: connection.hang_up(is_for_everyone=True))
        await receiver.event("CallDisconnected")
        assert await finished(carrier) == 0


async def test_a_trunk_that_asks_for_digest_credentials_gets_them(
    node: InProcessNode,
    our_number: str,
    receiver: CallbackReceiver,
    second_port: int,
    rtp_sink: tuple[RtpSink, int],
) -> None:
    _, rtp_port = rtp_sink
    carrier = await sipp(
        "uas_auth.xml",
        second_port,
        *("-key", "rtp_port", str(rtp_port), "-key", "username", USERNAME),
        *("-key", "password", PASSWORD),
    )
    client = client_of(node)
    async with asyncio.timeout(60):
        created = await place_call(client, AUTH_CALLEE, receiver.url("/auth"), our_number)
        await receiver.event("CallConnected")  # SIPp answers only a verified INVITE (else 403)
        connection = client.get_call_connection(str(created.call_connection_id))
        await sync(lambda: connection.hang_up(is_for_everyone=True))
        await receiver.event("CallDisconnected")
        assert await finished(carrier) == 0


async def test_an_unanswered_add_participant_is_canceled_at_its_timeout(
    node: InProcessNode,
    our_number: str,
    receiver: CallbackReceiver,
    trunk_port: int,
    second_port: int,
    rtp_sink: tuple[RtpSink, int],
) -> None:
    _, rtp_port = rtp_sink
    carrier = await sipp("uas_answer.xml", trunk_port, "-key", "rtp_port", str(rtp_port))
    ringing = await sipp("uas_ring_cancel.xml", second_port)
    client = client_of(node)
    async with asyncio.timeout(60):
        created = await place_call(client, CALLEE, receiver.url("/cancel"), our_number)
        await receiver.event("CallConnected")
        connection = client.get_call_connection(str(created.call_connection_id))
        await sync(
            lambda: connection.add_participant(
                PhoneNumberIdentifier(RINGING_CALLEE),
                invitation_timeout=2,
                source_caller_id_number=PhoneNumberIdentifier(our_number),
            )
        )
        failed = await receiver.event("AddParticipantFailed")
        assert failed["participant"]["rawId"] == f"4:{RINGING_CALLEE}"
        assert (failed["resultInformation"]["code"], failed["resultInformation"]["subCode"]) == (
            487,
            10004,
        )
        assert await finished(ringing) == 0  # CANCEL, 200, 487, ACK
        await sync(lambda: connection.hang_up(is_for_everyone=True))
        await receiver.event("CallDisconnected")
        assert await finished(carrier) == 0
