"""Webhook delivery end to end, in process: a node (SQLite and PostgreSQL) delivering to a
real HTTP receiver on a free port — both schemas, signatures, retries, dead letters, filters,
SSRF at delivery time, subscriptions from the config."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from switchboard.events.models import SubscriptionSpec
from switchboard.events.subscriptions import SqlSubscriptionStore
from tests.delivery_barrier import deliveries_settled
from tests.event_receiver import EventReceiver, signature_is_valid
from tests.integration.event_node import Harness, NodeFactory, running_nodes

pytestmark = pytest.mark.anyio


@pytest.fixture
async def start_node(database_url: str, tmp_path: Path) -> AsyncIterator[NodeFactory]:
    async with running_nodes(database_url, tmp_path) as start:
        yield start


@pytest.fixture
async def api(start_node: NodeFactory) -> Harness:
    return await start_node()


@pytest.fixture
async def receiver() -> AsyncIterator[EventReceiver]:
    running = await EventReceiver().start()
    yield running
    await running.stop()


async def test_event_grid_subscriber_receives_a_signed_event(
    api: Harness, receiver: EventReceiver
) -> None:
    response = await api.subscribe(
        receiver, includedEventTypes=[api.type()], secret="receiver-secret-1"
    )
    assert response.status_code == 201, response.text
    assert "secret" not in response.json()
    [handshake] = receiver.requests
    assert handshake.event_type_header == "SubscriptionValidation"
    assert signature_is_valid(handshake, "receiver-secret-1")
    assert api.node.events.wants(api.type().lower())  # producers may build it from now on

    [event] = await api.publish(api.type())
    await receiver.wait_until(lambda: receiver.accepted_ids == [event.id])
    [delivery] = receiver.notifications
    assert signature_is_valid(delivery, "receiver-secret-1")
    assert delivery.headers["content-type"] == "application/json; charset=utf-8"
    assert delivery.headers["aeg-subscription-name"] == api.name().upper()
    assert delivery.headers["aeg-delivery-count"] == "0"
    [body] = delivery.json
    assert body["id"] == event.id
    assert body["eventType"] == api.type()
    assert body["subject"] == "things/0"
    assert body["data"] == {"n": 0, "tag": api.tag}
    assert body["topic"] == api.node.events.topic
    assert body["topic"].startswith("/subscriptions/")
    assert (body["dataVersion"], body["metadataVersion"]) == ("1.0", "1")


async def test_cloud_events_subscriber_receives_a_signed_event(
    api: Harness, receiver: EventReceiver
) -> None:
    response = await api.subscribe(
        receiver,
        includedEventTypes=[api.type()],
        eventDeliverySchema="CloudEventSchemaV1_0",
        secret="receiver-secret-2",
    )
    assert response.status_code == 201, response.text
    [handshake] = receiver.requests
    assert handshake.method == "OPTIONS"
    assert handshake.headers["webhook-request-origin"] == "127.0.0.1"

    [event] = await api.publish(api.type())
    await receiver.wait_until(lambda: receiver.accepted_ids == [event.id])
    [delivery] = receiver.notifications
    assert signature_is_valid(delivery, "receiver-secret-2")
    assert delivery.headers["content-type"] == "application/cloudevents+json; charset=utf-8"
    body = delivery.json
    assert (body["id"], body["type"], body["specversion"]) == (event.id, api.type(), "1.0")
    assert body["source"] == api.node.events.topic
    assert body["data"] == {"n": 0, "tag": api.tag}


async def test_a_generated_secret_is_shown_once_and_signs_deliveries(
    api: Harness, receiver: EventReceiver
) -> None:
    created = await api.subscribe(receiver, includedEventTypes=[api.type()])
    secret = created.json()["secret"]
    fetched = await api.admin("GET", f"/admin/eventSubscriptions/{api.name()}")
    assert fetched.status_code == 200
    assert "secret" not in fetched.json()
    replaced = await api.subscribe(receiver, includedEventTypes=[api.type()])
    assert replaced.status_code == 200
    assert "secret" not in replaced.json()
    [event] = await api.publish(api.type())
    await receiver.wait_until(lambda: receiver.accepted_ids == [event.id])
    assert signature_is_valid(receiver.notifications[0], secret)


async def test_failing_receiver_gets_retries_then_the_event_once_with_the_same_id(
    api: Harness,
) -> None:
    receiver = await EventReceiver(failures_per_event=3).start()
    try:
        await api.subscribe(receiver, includedEventTypes=[api.type()], secret="retry-secret")
        [event] = await api.publish(api.type())
        await receiver.wait_until(lambda: receiver.accepted_ids == [event.id])
        attempts = receiver.notifications
        assert [r.events()[0]["id"] for r in attempts] == [event.id] * 4
        assert [r.headers["aeg-delivery-count"] for r in attempts] == ["0", "1", "2", "3"]
        assert all(signature_is_valid(r, "retry-secret") for r in attempts)
        await deliveries_settled(api.node.database, [api.name()])
        assert len(receiver.notifications) == 4  # nothing more once it was accepted
        assert await api.dead_letters() == []
    finally:
        await receiver.stop()


async def test_always_failing_receiver_dead_letters_and_replay_delivers(api: Harness) -> None:
    receiver = await EventReceiver(always_fail=True).start()
    try:
        await api.subscribe(receiver, includedEventTypes=[api.type()], maxDeliveryAttempts=3)
        first, second = await api.publish(api.type(), api.type())
        for _ in range(200):
            dead = await api.dead_letters()
            if len(dead) == 2:
                break
            await asyncio.sleep(0.05)
        assert sorted(d["event"]["id"] for d in dead) == sorted([first.id, second.id])
        letter = next(d for d in dead if d["event"]["id"] == first.id)
        assert letter["deadLetterReason"] == "MaxDeliveryAttemptsExceeded"
        assert letter["deliveryAttempts"] == 3
        assert letter["lastHttpStatusCode"] == 500
        assert letter["subscriptionName"] == api.name()
        assert receiver.attempts[first.id] == 3

        receiver.always_fail = False
        replay = await api.admin("POST", f"/admin/deadLetters/{letter['id']}:replay")
        assert replay.status_code == 204
        await receiver.wait_until(lambda: receiver.accepted_ids == [first.id])
        again = await api.admin("POST", f"/admin/deadLetters/{letter['id']}:replay")
        assert again.status_code == 404

        replay_all = await api.admin(
            "POST", f"/admin/deadLetters:replay?subscriptionName={api.name()}"
        )
        assert replay_all.json() == {"replayed": 1}
        await receiver.wait_until(lambda: receiver.accepted_ids == [first.id, second.id])
        assert await api.dead_letters() == []
    finally:
        await receiver.stop()


async def test_included_event_types_are_honoured(api: Harness, receiver: EventReceiver) -> None:
    wanted, other = api.type("Wanted"), api.type("Other")
    await api.subscribe(receiver, "filtered", includedEventTypes=[wanted])
    await api.subscribe(receiver, "both", includedEventTypes=[wanted, other])
    a, b = await api.publish(wanted, other)

    def paths(event_id: str) -> list[str]:
        return sorted(r.path for r in receiver.notifications if r.events()[0]["id"] == event_id)

    await receiver.wait_until(lambda: len(receiver.accepted_ids) == 3)
    await deliveries_settled(api.node.database, [api.name("filtered"), api.name("both")])
    assert paths(a.id) == ["/both", "/filtered"]
    assert paths(b.id) == ["/both"]


async def test_advanced_filters_choose_what_a_subscription_receives(
    api: Harness, receiver: EventReceiver
) -> None:
    only_one = {"operatorType": "NumberIn", "key": "data.n", "values": [1]}
    await api.subscribe(receiver, "one", advancedFilters=[only_one])
    await api.subscribe(receiver, "last", subjectEndsWith="/2")
    first, second, third = await api.publish(api.type(), api.type(), api.type())
    await receiver.wait_until(lambda: len(receiver.accepted_ids) == 2)
    await deliveries_settled(api.node.database, [api.name("one"), api.name("last")])
    received = sorted((r.path, r.events()[0]["id"]) for r in receiver.notifications)
    assert received == sorted([("/one", second.id), ("/last", third.id)])
    assert first.id not in receiver.accepted_ids


async def test_an_empty_type_filter_receives_every_event(
    api: Harness, receiver: EventReceiver
) -> None:
    await api.subscribe(receiver, includedEventTypes=[])
    events = await api.publish(api.type("One"), api.type("Two"))
    ids = {e.id for e in events}
    await receiver.wait_until(lambda: ids <= set(receiver.accepted_ids))


async def test_production_mode_refuses_loopback_at_delivery_time_too(
    start_node: NodeFactory, receiver: EventReceiver
) -> None:
    api = await start_node(mode="production")
    # As if DNS had pointed the name elsewhere when the subscription was made.
    spec = SubscriptionSpec(
        api.name(), receiver.url("/sub"), (api.type(),), max_delivery_attempts=1
    )
    await SqlSubscriptionStore(api.node.database).put(spec, new_secret="s" * 16, now_ms=0)
    await api.publish(api.type())
    for _ in range(200):
        dead = await api.dead_letters()
        if dead:
            break
        await asyncio.sleep(0.05)
    [letter] = dead
    assert "loopback" in letter["lastDeliveryOutcome"]
    assert letter["lastHttpStatusCode"] is None
    assert receiver.requests == []


async def test_production_mode_calls_allow_listed_endpoints(
    start_node: NodeFactory, receiver: EventReceiver
) -> None:
    api = await start_node(mode="production", events_allowed_endpoints="127.0.0.0/8")
    response = await api.subscribe(receiver, includedEventTypes=[api.type()])
    assert response.status_code == 201, response.text
    [event] = await api.publish(api.type())
    await receiver.wait_until(lambda: receiver.accepted_ids == [event.id])


async def test_config_file_subscriptions_are_applied_at_start_without_handshake(
    start_node: NodeFactory, receiver: EventReceiver
) -> None:
    tag = uuid.uuid4().hex[:8]
    configured = {  # as SWITCHBOARD_EVENTS_SUBSCRIPTIONS or [[events.subscriptions]] give it
        "name": f"t-{tag}-sub",
        "endpoint_url": receiver.url("/sub"),
        "included_event_types": [f"Test.{tag}.Happened"],
        "secret": "configured-secret",
    }
    api = await start_node(events_subscriptions=json.dumps([configured]))
    api.tag = tag
    assert receiver.requests == []  # no handshake for the operator's own config
    [event] = await api.publish(api.type())
    await receiver.wait_until(lambda: receiver.accepted_ids == [event.id])
    assert signature_is_valid(receiver.notifications[0], "configured-secret")
