"""What an operator sees of a running node: ``/metrics`` for every domain, and JSON log lines.

One server (JSON logs, access log on, a slow SMS rate so messages wait in the queue), driven
through each domain with the official SDKs and our calling client; each test reads
``/metrics`` over HTTPS before and after and checks that its series moved. The module name
puts it with the real-time media tests (tests/scheduling.py): it places calls with media.
"""

from __future__ import annotations

import asyncio
import json
import re
import ssl
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import httpx
import pytest
from azure.communication.chat import ChatParticipant
from azure.communication.identity import CommunicationIdentityClient
from azure.communication.networktraversal import CommunicationRelayClient
from azure.communication.phonenumbers import PhoneNumberCapabilityType, PhoneNumbersClient
from azure.communication.phonenumbers import PhoneNumberType as NumberType
from azure.communication.sms import SmsClient
from prometheus_client.parser import text_string_to_metric_families

from switchboard.client import ChatEvents
from switchboard.client.calling import CallAgent, CallClient, CallState
from tests.integration.admin_http import signed_request
from tests.integration.calling_clients import (
    all_hear_each_other,
    loopback_candidates,
    start_without_turn,
)
from tests.integration.chat_clients import ChatUsers, sync_sdk_trusting
from tests.integration.server import RunningServer
from tests.integration.sms_helpers import buy_number, handset

__all__ = ["loopback_candidates"]

pytestmark = pytest.mark.anyio

DASHBOARD = Path(__file__).parents[2] / "deploy" / "grafana-dashboard.json"
Series = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_without_turn(
        tmp_path_factory.mktemp("observability"),
        "--log-format",
        "json",
        env={
            "SWITCHBOARD_ACCESS_LOG": "true",
            # one message a minute per number after the first: the rest wait in the queue
            "SWITCHBOARD_SMS_RATE_PER_NUMBER_PER_MINUTE": "1",
            "SWITCHBOARD_SMS_RATE_BURST": "1",
        },
    )
    yield running
    assert running.stop() == 0, "\n".join(running.output)


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


async def scrape(server: RunningServer) -> Series:
    context = ssl.create_default_context(cafile=server.ca_path)
    async with httpx.AsyncClient(base_url=server.endpoint, verify=context) as http:
        response = await http.get("/metrics")
    assert response.status_code == 200
    series: Series = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            series[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return series


def value(series: Series, name: str, **labels: str) -> float:
    return series.get((name, tuple(sorted(labels.items()))), 0.0)


async def until(
    server: RunningServer, check: Callable[[Series], bool], within: float = 15.0
) -> Series:
    """Scrape until ``check`` holds (what a client did may take a moment to be counted)."""
    async with asyncio.timeout(within):
        while True:
            series = await scrape(server)
            if check(series):
                return series
            await asyncio.sleep(0.05)  # another process: polled over HTTP


def json_lines(server: RunningServer) -> list[dict[str, object]]:
    return [json.loads(line) for line in server.output if line.startswith("{")]


# ── chat ────────────────────────────────────────────────────────────────────────────────


async def test_chat_sends_and_realtime_connections_are_counted(server: RunningServer) -> None:
    before = await scrape(server)
    users = ChatUsers(server)
    alice, alice_token = users.new()
    with sync_sdk_trusting(server.ca_path):
        thread = users.client(alice_token).create_chat_thread(
            "metrics", thread_participants=[ChatParticipant(identifier=alice)]
        )
        assert thread.chat_thread is not None
        thread_id = thread.chat_thread.id
        thread_client = users.client(alice_token).get_chat_thread_client(thread_id)
        thread_client.send_message("one")
        # From the start: the thread's events arrive, then the connection is live.
        async with ChatEvents(
            server.endpoint, alice_token, cursor="0", ssl=server.ca_path
        ) as events:
            async with asyncio.timeout(10):
                async for _ in events:
                    break
            live = await until(
                server, lambda s: value(s, "switchboard_chat_realtime_connections") > 0
            )
            thread_client.send_message("two")
    after = await until(server, lambda s: value(s, "switchboard_chat_realtime_connections") == 0)
    sent = "switchboard_chat_messages_sent_total"
    assert value(after, sent) - value(before, sent) == 2
    assert value(live, "switchboard_chat_realtime_connections") == 1

    # Its access-log line names the thread, under the request's id.
    [line] = [
        entry
        for entry in json_lines(server)
        if entry.get("path") == f"/chat/threads/{thread_id}/messages"
        and entry.get("method") == "POST"
        and entry.get("status") == 201
    ][:1]
    assert line["logger"] == "switchboard.access"
    assert line["thread_id"] == thread_id
    assert re.fullmatch(r"[0-9a-f]{32}", str(line["request_id"]))


# ── SMS ─────────────────────────────────────────────────────────────────────────────────


async def test_sms_queue_depth_and_oldest_age_per_carrier(
    server: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", server.ca_path)
    numbers = PhoneNumbersClient.from_connection_string(server.connection_string)
    sender = buy_number(
        numbers, sms=PhoneNumberCapabilityType.INBOUND_OUTBOUND, kind=NumberType.TOLL_FREE
    )
    before = await scrape(server)
    depth = "switchboard_sms_queue_depth"
    assert (depth, (("carrier", "simulator"),)) in before  # shown while empty too
    sms = SmsClient.from_connection_string(server.connection_string)
    for text in ("first", "second", "third"):
        sms.send(from_=sender, to=handset(), message=text)
    # The first goes at once (burst 1); the next two wait a minute for the number's rate.
    after = await until(
        server,
        lambda s: (
            value(s, depth, carrier="simulator") == value(before, depth, carrier="simulator") + 2
        ),
    )
    age = value(after, "switchboard_sms_queue_oldest_age_seconds", carrier="simulator")
    assert 0 < age < 60


# ── calls and media ─────────────────────────────────────────────────────────────────────


@pytest.fixture
async def agents(server: RunningServer) -> AsyncIterator[list[CallAgent]]:
    identity = CommunicationIdentityClient.from_connection_string(
        server.connection_string, connection_verify=server.ca_path
    )
    made: list[CallAgent] = []
    for tone in (440.0, 660.0):
        _, token = identity.create_user_and_token(scopes=["voip"])
        client = CallClient(server.endpoint, ssl=server.ca_path, tone_hz=tone)
        made.append(await client.create_call_agent(token.token))
    try:
        yield made
    finally:
        await asyncio.gather(*(a.dispose() for a in made), return_exceptions=True)


async def test_a_two_party_call_is_counted_from_setup_to_its_end_reason(
    server: RunningServer, agents: list[CallAgent]
) -> None:
    alice, bob = agents
    before = await until(server, lambda s: value(s, "switchboard_calling_devices") >= 2)
    async with asyncio.timeout(20):
        outgoing = await alice.start_call(bob.user_id or "")
        incoming = await bob.next_incoming_call()
        await incoming.accept(audio=False)
        await outgoing.wait_for_state(CallState.CONNECTED)
        during = await scrape(server)
        await outgoing.hang_up()
        await incoming.wait_for_state(CallState.DISCONNECTED)
    ended = "switchboard_calls_ended_total"
    after = await until(
        server,
        lambda s: (
            value(s, ended, kind="two_party", code="0", subcode="0")
            > value(before, ended, kind="two_party", code="0", subcode="0")
        ),
    )
    assert value(during, "switchboard_calls_active", kind="two_party") == 1
    assert value(after, "switchboard_calls_active", kind="two_party") == 0
    started = "switchboard_calls_started_total"
    assert value(after, started, kind="two_party") - value(before, started, kind="two_party") == 1
    setups = "switchboard_call_setup_seconds_count"
    assert value(after, setups) - value(before, setups) == 1
    assert value(after, "switchboard_call_setup_seconds_sum") > value(
        before, "switchboard_call_setup_seconds_sum"
    )


async def test_a_group_call_moves_the_sfu_packet_byte_and_call_series(
    server: RunningServer, agents: list[CallAgent]
) -> None:
    before = await scrape(server)
    group_id = str(uuid.uuid4())
    async with asyncio.timeout(30):
        calls = [await agent.join(group_id=group_id) for agent in agents]
        for call in calls:
            await call.wait_for_state(CallState.CONNECTED)
        await all_hear_each_other(calls, agents, [440.0, 660.0])
        during = await scrape(server)
        for call in calls:
            await call.hang_up()
    after = await until(server, lambda s: value(s, "switchboard_media_calls") == 0)
    assert value(during, "switchboard_media_calls") == 1
    assert value(during, "switchboard_media_participants") == 2
    assert value(during, "switchboard_calls_active", kind="group") == 1
    for name in ("switchboard_media_packets_total", "switchboard_media_bytes_total"):
        for direction in ("in", "out"):
            assert value(during, name, direction=direction) > value(
                before, name, direction=direction
            )
    # Ended calls' counts stay in the totals (counters never go back).
    assert value(after, "switchboard_media_bytes_total", direction="in") >= value(
        during, "switchboard_media_bytes_total", direction="in"
    )
    expected = "switchboard_media_packets_expected_total"
    assert value(after, expected) > value(before, expected)
    assert value(after, "switchboard_media_packets_lost_total") <= value(after, expected)
    assert ("switchboard_media_receive_drops_total", ()) in after  # the kernel's, at our sockets


# ── TURN, database, event loop ──────────────────────────────────────────────────────────


async def test_turn_credentials_database_pool_and_loop_lag_are_reported(
    server: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = await scrape(server)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", server.ca_path)
    relay = CommunicationRelayClient.from_connection_string(server.connection_string)
    relay.get_relay_configuration()
    issued = "switchboard_turn_credentials_issued_total"
    after = await until(
        server,
        lambda s: (
            s.get(("switchboard_event_loop_lag_seconds_count", ()), 0)
            > value(before, "switchboard_event_loop_lag_seconds_count")
        ),
    )
    assert value(after, issued) - value(before, issued) == 1
    assert value(after, "switchboard_turn_available") == 0  # nothing listens on its port
    pool = value(after, "switchboard_db_pool_connections", state="in_use") + value(
        after, "switchboard_db_pool_connections", state="idle"
    )
    assert 0 < pool <= value(after, "switchboard_db_pool_capacity")
    assert value(after, "switchboard_db_pool_waiting") == 0


# ── logs ────────────────────────────────────────────────────────────────────────────────


async def test_every_log_line_is_json_under_our_names_with_the_ids_it_knows(
    server: RunningServer,
) -> None:
    context = ssl.create_default_context(cafile=server.ca_path)
    async with httpx.AsyncClient(base_url=server.endpoint, verify=context) as http:
        health = await http.get("/health")
    call_id = str(uuid.uuid4())
    missing = await signed_request(
        server, "GET", f"/calling/callConnections/{call_id}?api-version=2025-05-15"
    )
    assert missing.status_code == 404
    request_id = health.headers["x-ms-request-id"]
    # The access line is written after the response went out and read from the server's
    # stdout by a thread: wait for the last request's line before judging them all.
    for _ in range(100):
        lines = json_lines(server)
        if any(e.get("call_id") == call_id for e in lines):
            break
        await asyncio.sleep(0.1)
    assert lines
    for entry in lines:
        assert {"time", "level", "logger", "message"} <= entry.keys()
        assert str(entry["logger"]).startswith("switchboard"), entry  # uvicorn's too
    [access] = [e for e in lines if e.get("request_id") == request_id]
    assert (access["path"], access["status"], access["logger"]) == (
        "/health",
        200,
        "switchboard.access",
    )
    [about_call] = [e for e in lines if e.get("call_id") == call_id]
    assert about_call["status"] == 404
    plain = [line for line in server.output if not line.startswith("{")]
    assert all(line.startswith(("Connection string:", "CA certificate:")) for line in plain)


# ── the dashboard ───────────────────────────────────────────────────────────────────────


async def test_every_dashboard_expression_names_a_series_the_server_exports(
    server: RunningServer,
) -> None:
    context = ssl.create_default_context(cafile=server.ca_path)
    async with httpx.AsyncClient(base_url=server.endpoint, verify=context) as http:
        text = (await http.get("/metrics")).text
    exported = set(re.findall(r"^(?:# (?:HELP|TYPE) )?(switchboard_\w+)", text, re.MULTILINE))
    dashboard = json.loads(DASHBOARD.read_text())
    expressions = [
        target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])
    ]
    assert len(expressions) >= 20
    named = {name for expr in expressions for name in re.findall(r"switchboard_\w+", expr)}
    assert named - exported == set()
    # Every domain's series is on the dashboard.
    for prefix in ("http", "chat", "sms", "event", "calls", "call_setup", "media", "turn", "db"):
        assert any(name.startswith(f"switchboard_{prefix}") for name in named), prefix
