"""Phone calls over a SIP trunk, with SIPp (Debian ``sip-tester``) playing the carrier and the
official Call Automation SDK against an in-process node over TLS.

The node's ``[[trunks]]`` has one trunk, SIPp on a loopback port, and ``[[routes]]`` sends
+1555… numbers to it. Each test runs one SIPp scenario (tests/integration/sipp/*.xml) to its
end and asserts SIPp's exit status (0: every message it expected came, in order):

    createCall to +1555… ─▶ INVITE ─▶ SIPp 180/200 (its SDP names the test's RTP socket) ─▶
        the app plays a TextSource ─▶ the socket receives loud G.711 ─▶ the app hangs up ─▶ BYE
    the app sends DTMF to the phone ─▶ the socket hears the keys in-band
    SIPp answers 486 ─▶ CreateCallFailed 486 · SIPp answers then sends BYE ─▶ CallDisconnected
    a second SIPp answers 503 ─▶ the route's next trunk · 401 ─▶ digest credentials (SIPp
        verifies them) · an addParticipant nobody answers ─▶ CANCEL at its timeout (487/10004)
    SIPp calls our number ─▶ IncomingCall ─▶ answer ─▶ recognize ─▶ SIPp's RFC 4733 "1" (its
        recorded pcap) ─▶ RecognizeCompleted ─▶ hang up ─▶ BYE
    SIPp calls our number ─▶ the app rejects (486) · redirects to a user, who accepts and
        hangs up ─▶ BYE · SIPp (UDP and TCP) calls a number that is not ours ─▶ 404
    SIPp's built-in uas with -rtp_echo: the app's keys come back and its recognize hears them
    a trunk over TCP · a TCP trunk refusing the connection · a [[trunks]] typo stops the node
    OPTIONS keep-alives between two carriers of our own: a silent trunk goes down
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest
from azure.communication.callautomation import (
    CallRejectReason,
    CommunicationUserIdentifier,
    DtmfTone,
    PhoneNumberIdentifier,
    RecognizeInputType,
    TextSource,
)
from azure.communication.identity import CommunicationIdentityClient

from switchboard.calling.models import EndReason
from switchboard.calling.pstn.ports import InboundPhoneCall, PhoneCallListener
from switchboard.client.calling import CallClient, CallState
from switchboard.core.sections import ConfigError
from switchboard.gateways.sip import SipCarrier, SipRouting, g711
from switchboard.gateways.sip.trunks import Route, Transport, Trunk
from switchboard.media.audio.dtmf import DtmfDetector
from switchboard.media.rtp import RtpPacket
from tests.callback_receiver import CallbackReceiver
from tests.event_receiver import EventReceiver
from tests.integration.calling_clients import closed_port, loopback_candidates
from tests.integration.inprocess_node import InProcessNode, serving
from tests.integration.test_voice_simulator import (
    client_of,
    events,
    incoming_call_from,
    our_number,
    receiver,
    sync,
)

pytestmark = pytest.mark.anyio
__all__ = ["events", "loopback_candidates", "our_number", "receiver"]

SIPP = shutil.which("sipp")
SCENARIOS = Path(__file__).parent / "sipp"
CALLEE = "+15550001234"  # a number the test route sends to SIPp's trunk
FAILOVER_CALLEE = "+15560001234"  # route: the second trunk (503 there), then the first
RINGING_CALLEE = "+15570001234"  # route: the second trunk only
AUTH_CALLEE = "+15580001234"  # route: the second trunk, with digest credentials
TCP_CALLEE = "+15590001234"  # route: a trunk signalled over TCP
USERNAME, PASSWORD = "switchboard", "s3cret-trunk"


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def trunk_port() -> int:
    return free_udp_port()


@pytest.fixture(scope="module")
def second_port() -> int:
    return free_udp_port()


@pytest.fixture(scope="module")
def tcp_port() -> int:
    return closed_port()


@pytest.fixture(scope="module")
def sip_port() -> int:
    return free_udp_port()


@pytest.fixture(scope="module")
async def node(
    tmp_path_factory: pytest.TempPathFactory,
    trunk_port: int,
    second_port: int,
    tcp_port: int,
    sip_port: int,
) -> AsyncIterator[InProcessNode]:
    assert SIPP is not None, "sipp (Debian sip-tester) is missing: scripts/test installs it"
    second = {"host": "127.0.0.1", "port": second_port, "options_seconds": 0}
    overrides = {
        "sip_port": sip_port,
        "trunks": [
            {"name": "sipp", "host": "127.0.0.1", "port": trunk_port, "options_seconds": 0},
            {"name": "second", **second},
            {"name": "authed", "username": USERNAME, "password": PASSWORD, **second},
            {
                "name": "tcp",
                "host": "127.0.0.1",
                "port": tcp_port,
                "transport": "tcp",
                "options_seconds": 0,
            },
        ],
        "routes": [
            {"name": "test", "pattern": r"\+1555[0-9]{7}", "trunks": ["sipp"]},
            {"name": "failover", "pattern": r"\+1556[0-9]{7}", "trunks": ["second", "sipp"]},
            {"name": "ringing", "pattern": r"\+1557[0-9]{7}", "trunks": ["second"]},
            {"name": "auth", "pattern": r"\+1558[0-9]{7}", "trunks": ["authed"]},
            {"name": "tcp", "pattern": r"\+1559[0-9]{7}", "trunks": ["tcp"]},
        ],
    }
    async with serving(tmp_path_factory.mktemp("sip"), overrides) as served:
        yield served


class RtpSink(asyncio.DatagramProtocol):
    """The carrier's media end for SIPp's answered calls: counts the PCMU frames with speech."""

    def __init__(self) -> None:
        self.frames = 0
        self.loud_frames = 0
        self.loud = asyncio.Event()
        self.keys: list[str] = []  # in-band DTMF heard
        self.key_heard = asyncio.Event()
        self._detector = DtmfDetector(8000)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        packet = RtpPacket.parse(data)
        if packet.payload_type != 0:
            return
        self.frames += 1
        pcm = g711.decode("PCMU", packet.payload)
        for key in self._detector.feed(pcm.tobytes()):
            self.keys.append(key.value)
            self.key_heard.set()
        samples = pcm.astype(np.float64)
        if samples.size and float(np.sqrt(np.mean(samples * samples))) > 300:
            self.loud_frames += 1
            if self.loud_frames >= 25:  # half a second of the prompt
                self.loud.set()


@pytest.fixture
async def rtp_sink() -> AsyncIterator[tuple[RtpSink, int]]:
    loop = asyncio.get_running_loop()
    transport, sink = await loop.create_datagram_endpoint(RtpSink, local_addr=("127.0.0.1", 0))
    yield sink, int(transport.get_extra_info("sockname")[1])
    transport.close()


async def sipp(scenario: str, port: int, *args: str) -> asyncio.subprocess.Process:
    """SIPp running ``scenario`` (a file here, or ``builtin:`` one of its own) for one call."""
    assert SIPP is not None
    if scenario.startswith("builtin:"):
        chosen = ["-sn", scenario.removeprefix("builtin:")]
    else:
        chosen = ["-sf", str(SCENARIOS / scenario)]
    return await asyncio.create_subprocess_exec(
        SIPP,
        *args,
        *chosen,
        "-i",
        "127.0.0.1",
        "-p",
        str(port),
        "-m",
        "1",
        "-timeout",
        "60",
        "-timeout_error",
        "-nostdin",
        *(["-trace_msg", "-trace_err"] if os.environ.get("SIPP_TRACE") else []),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )


async def listening_on_tcp(port: int) -> None:
    """Until a socket listens on the loopback TCP port (/proc/net/tcp: state 0A); SIPp tells
    nobody when it is ready, so the kernel's table is polled (for at most 10 s)."""
    wanted = f"0100007F:{port:04X}"

    def listening() -> bool:
        lines = Path("/proc/net/tcp").read_text().splitlines()[1:]
        return any(line.split()[1] == wanted and line.split()[3] == "0A" for line in lines)

    for _ in range(500):
        if await asyncio.to_thread(listening):
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"nothing listens on TCP port {port}")


async def finished(process: asyncio.subprocess.Process) -> int:
    """SIPp's exit status once its one call is over: 0 when the scenario ran as written."""
    _, stderr = await process.communicate()
    assert process.returncode is not None
    if process.returncode != 0:
        print(stderr.decode(errors="replace"))
    return process.returncode


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
        created = await sync(
            lambda: client.create_call(
                PhoneNumberIdentifier(CALLEE),
                receiver.url("/out"),
                source_caller_id_number=PhoneNumberIdentifier(our_number),
            )
        )
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
        created = await sync(
            lambda: client.create_call(
                PhoneNumberIdentifier(CALLEE),
                receiver.url("/echo"),
                source_caller_id_number=PhoneNumberIdentifier(our_number),
            )
        )
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
        created = await sync(
            lambda: client.create_call(
                PhoneNumberIdentifier(CALLEE),
                receiver.url("/keys"),
                source_caller_id_number=PhoneNumberIdentifier(our_number),
            )
        )
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
        created = await sync(
            lambda: client.create_call(
                PhoneNumberIdentifier(TCP_CALLEE),
                receiver.url("/tcp"),
                source_caller_id_number=PhoneNumberIdentifier(our_number),
            )
        )
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
        created = await sync(
            lambda: client.create_call(
                PhoneNumberIdentifier(CALLEE),
                receiver.url("/dropped"),
                source_caller_id_number=PhoneNumberIdentifier(our_number),
            )
        )
        connected = await receiver.event("CallConnected")
        assert connected["callConnectionId"] == created.call_connection_id
        disconnected = await receiver.event("CallDisconnected")
        assert disconnected["callConnectionId"] == created.call_connection_id
        assert await finished(carrier) == 0  # its BYE got our 200


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
        created = await sync(
            lambda: client.create_call(
                PhoneNumberIdentifier(FAILOVER_CALLEE),
                receiver.url("/failover"),
                source_caller_id_number=PhoneNumberIdentifier(our_number),
            )
        )
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
        created = await sync(
            lambda: client.create_call(
                PhoneNumberIdentifier(AUTH_CALLEE),
                receiver.url("/auth"),
                source_caller_id_number=PhoneNumberIdentifier(our_number),
            )
        )
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
        created = await sync(
            lambda: client.create_call(
                PhoneNumberIdentifier(CALLEE),
                receiver.url("/cancel"),
                source_caller_id_number=PhoneNumberIdentifier(our_number),
            )
        )
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


async def test_a_node_with_a_mistyped_trunk_does_not_start(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    overrides = {"trunks": [{"host": "127.0.0.1", "pasword": "x"}], "sip_port": free_udp_port()}
    with pytest.raises(ConfigError, match="unknown setting 'pasword'"):
        async with serving(tmp_path_factory.mktemp("sip-typo"), overrides):
            pass


async def test_options_keep_alives_tell_a_trunk_that_answers_from_one_that_does_not() -> None:
    """Two carriers of our own: one pings the other (up), and a closed port (down)."""
    closed = free_udp_port()
    far = SipCarrier(SipRouting(), NoInboundCalls(), port=0)
    await far.start()
    try:
        trunks = [
            Trunk("far", "127.0.0.1", far.address[1], options_seconds=0.05),
            Trunk("gone", "127.0.0.1", closed, options_seconds=0.05),
        ]
        routing = SipRouting(trunks, [Route("all", re.compile(r"\+.*"), ("gone", "far"))])
        near = SipCarrier(routing, NoInboundCalls(), port=0)
        await near.start()
        try:
            async with asyncio.timeout(20):
                assert await near.ping(trunks[0]) is True
                assert await near.ping(trunks[1]) is False
                while near.health.get("gone") is None or near.health["gone"].up:
                    await near.health_changed()
                assert near.health["far"].up
                assert [t.name for t in routing.trunks_for("+15550001234")] == ["gone", "far"]
                assert not near.acquire(trunks[1])  # dial skips it
                assert near.acquire(trunks[0])
        finally:
            await near.stop()
    finally:
        await far.stop()


async def test_a_tcp_trunk_that_refuses_the_connection_fails_the_call_over_to_the_next() -> None:
    """A transport error counts as the trunk's silence (RFC 3261 §8.1.3.1), at once: with an
    INVITE timeout of ten minutes the call still ends within the test's limit."""
    trunks = [Trunk("refusing", "127.0.0.1", closed_port(), Transport.TCP, options_seconds=0)]
    routing = SipRouting(trunks, [Route("all", re.compile(r"\+.*"), ("refusing",))])
    carrier = SipCarrier(routing, NoInboundCalls(), port=0, invite_timeout=600)
    await carrier.start()
    listener = Outcome()
    try:
        async with asyncio.timeout(20):
            carrier.dial("+14255550100", "+15550001234", listener)
            reason = await listener.failure
        assert reason.code == 503
        assert carrier.health["refusing"].active == 0  # its slot is free again
    finally:
        await carrier.stop()


async def test_tcp_from_a_host_that_is_no_trunks_is_closed_and_a_trunks_is_served() -> None:
    """Trunks on 127.0.0.2 only: a connection from 127.0.0.1 is closed unanswered; one from
    127.0.0.2 gets its OPTIONS answered."""
    trunks = [Trunk("only", "127.0.0.2", 5060)]
    carrier = SipCarrier(SipRouting(trunks, []), NoInboundCalls(), port=0)
    await carrier.start()
    options = (
        b"OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.2;branch=z9hG4bK-t\r\n"
        b"From: <sip:probe@127.0.0.2>;tag=1\r\nTo: <sip:127.0.0.1>\r\nCall-ID: t-1\r\n"
        b"CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
    )
    try:
        async with asyncio.timeout(20):
            for source, answered in (("127.0.0.1", False), ("127.0.0.2", True)):
                reader, writer = await asyncio.open_connection(
                    "127.0.0.1", carrier.address[1], local_addr=(source, 0)
                )
                writer.write(options)
                reply = await reader.read(2048)  # b"": closed by the carrier
                assert reply.startswith(b"SIP/2.0 200 OK") is answered, (source, reply)
                writer.close()
    finally:
        await carrier.stop()


class Outcome:
    def __init__(self) -> None:
        self.failure: asyncio.Future[EndReason] = asyncio.get_running_loop().create_future()

    def answered(self) -> None:
        raise AssertionError("nobody should answer")

    def failed(self, reason: EndReason) -> None:
        self.failure.set_result(reason)

    def ended(self) -> None:
        raise AssertionError("it never connected")


class NoInboundCalls:
    def incoming(self, call: InboundPhoneCall) -> PhoneCallListener:
        raise AssertionError("no call was expected")
