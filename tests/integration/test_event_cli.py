"""``switchboard events ...`` as a user runs it, against the data directory of a node.

The node runs in this process (on the SQLite file of ``tmp_path``) with a real receiver; the
commands run as separate processes on the same database, as they would beside a server.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from switchboard.app import Node as Switchboard
from switchboard.app import build_node
from switchboard.core.config import load_settings, node_config
from switchboard.core.events import IntegrationEvent
from tests.delivery_barrier import deliveries_settled
from tests.event_receiver import EventReceiver, signature_is_valid

pytestmark = pytest.mark.anyio


async def switchboard(*args: str, check: bool = True) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "switchboard",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    code = process.returncode
    assert code is not None
    if check:
        assert code == 0, err.decode()
    return code, out.decode(), err.decode()


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[Switchboard]:
    settings = load_settings(
        {
            "data_dir": tmp_path,
            "port": 8443,
            "events_retry_scale": 0.001,
            "events_poll_seconds": 0.1,
        },
        environ={},
    )
    running = await build_node(node_config(settings))
    yield running
    await running.stop()


@pytest.fixture
async def receiver() -> AsyncIterator[EventReceiver]:
    running = await EventReceiver().start()
    yield running
    await running.stop()


async def publish(node: Switchboard, *types: str) -> list[IntegrationEvent]:
    events = [IntegrationEvent(t, "s", {"i": i}, time.time()) for i, t in enumerate(types)]
    async with node.database.write() as conn:
        await node.events.outbox.add(conn, events)
    await node.events.outbox.notify()
    return events


async def test_subscribe_list_and_delete_from_the_shell(
    tmp_path: Path, receiver: EventReceiver
) -> None:
    data = ["--data-dir", str(tmp_path)]
    _, out, _ = await switchboard(
        "events", "subscribe", "my-bot", "--url", receiver.url(), "--type", "A.B", *data
    )
    assert "Subscription created: my-bot" in out
    secret = out.split("Secret: ", 1)[1].split()[0]
    assert receiver.requests[0].event_type_header == "SubscriptionValidation"
    assert signature_is_valid(receiver.requests[0], secret)

    _, listed, _ = await switchboard("events", "list", *data)
    assert "my-bot" in listed and "types=A.B" in listed and secret not in listed
    _, shown, _ = await switchboard("events", "list", "--show-secrets", *data)
    assert f"secret={secret}" in shown

    await switchboard("events", "delete", "my-bot", *data)
    _, after, _ = await switchboard("events", "list", *data)
    assert after == ""
    code, _, err = await switchboard("events", "delete", "my-bot", *data, check=False)
    assert code == 1 and "was not found" in err


async def test_subscribe_with_filters_from_the_shell(tmp_path: Path) -> None:
    data = ["--data-dir", str(tmp_path)]
    to_alice = '{"operatorType": "StringIn", "key": "data.to.rawId", "values": ["8:acs:a"]}'
    await switchboard(
        *["events", "subscribe", "calls", "--url", "http://127.0.0.1:9/e", *data],
        "--skip-validation",
        "--subject-begins-with",
        "/caller/",
        "--advanced-filter",
        to_alice,
    )
    _, listed, _ = await switchboard("events", "list", *data)
    assert '"subjectBeginsWith": "/caller/"' in listed
    assert '"key": "data.to.rawId"' in listed


async def test_subscribe_refuses_an_endpoint_that_fails_the_handshake(tmp_path: Path) -> None:
    silent = await EventReceiver(answer_validation=False).start()
    try:
        args = ["events", "subscribe", "my-bot", "--url", silent.url(), "--data-dir", str(tmp_path)]
        code, _, err = await switchboard(*args, check=False)
        assert code == 1 and "validation" in err
        _, out, _ = await switchboard(*args, "--skip-validation")
        assert "Subscription created" in out
    finally:
        await silent.stop()


async def test_dead_letters_are_listed_and_replayed_from_the_shell(
    node: Switchboard, tmp_path: Path
) -> None:
    receiver = await EventReceiver(always_fail=True).start()
    try:
        data = ["--data-dir", str(tmp_path)]
        await switchboard(
            "events", "subscribe", "flaky", "--url", receiver.url(), "--max-attempts", "1", *data
        )
        first, second = await publish(node, "T.One", "T.Two")
        await receiver.wait_until(lambda: len(receiver.attempts) == 2)
        await deliveries_settled(node.database, ["flaky"])  # both are dead letters now
        _, listed, _ = await switchboard("events", "dead-letters", *data)
        lines = listed.splitlines()
        assert len(lines) == 2
        assert all("MaxDeliveryAttemptsExceeded" in line and "HTTP 500" in line for line in lines)
        first_id = next(line.split()[0] for line in lines if first.id in line)

        receiver.always_fail = False
        _, out, _ = await switchboard("events", "dead-letters", "--replay", first_id, *data)
        assert out.strip() == f"Replayed {first_id}."
        await receiver.wait_until(lambda: receiver.accepted_ids == [first.id])
        _, out, _ = await switchboard("events", "dead-letters", "--replay-all", *data)
        assert out.strip() == "Replayed 1 dead letters."
        await receiver.wait_until(lambda: receiver.accepted_ids == [first.id, second.id])
        _, listed, _ = await switchboard("events", "dead-letters", *data)
        assert listed == ""
    finally:
        await receiver.stop()


async def test_tail_prints_events_as_they_happen(node: Switchboard, tmp_path: Path) -> None:
    wanted = f"Test.{uuid.uuid4().hex[:8]}.Tail"
    tail = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "switchboard",
        *("events", "tail", "--type", wanted, "--count", "2", "--data-dir", str(tmp_path)),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert tail.stdout is not None and tail.stderr is not None
    try:
        async with asyncio.timeout(30):
            while b"tailing events" not in await tail.stderr.readline():
                pass  # skip start-up logging until it is reading
            first, _, second = await publish(node, wanted, "Other.Type", wanted)
            lines = [await tail.stdout.readline(), await tail.stdout.readline()]
            assert await tail.wait() == 0
    finally:
        if tail.returncode is None:
            tail.kill()
            await tail.wait()
    printed = [json.loads(line) for line in lines]
    assert [e["id"] for e in printed] == [first.id, second.id]
    assert printed[0]["eventType"] == wanted
    assert printed[0]["topic"] == node.events.topic


async def test_tail_since_reaches_back_in_cloud_events_shape(
    node: Switchboard, tmp_path: Path
) -> None:
    [event] = await publish(node, "Test.Earlier")
    _, out, _ = await switchboard(
        "events",
        "tail",
        "--since",
        "60",
        "--schema",
        "cloudevents",
        "--count",
        "1",
        "--type",
        "Test.Earlier",
        "--data-dir",
        str(tmp_path),
    )
    printed = json.loads(out)
    assert (printed["id"], printed["specversion"]) == (event.id, "1.0")
