"""The events admin API in process (SQLite and PostgreSQL): validation handshakes, listing,
paging, deletion, input checks, SSRF at subscription time, a bad config entry."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from switchboard.core.config import ConfigError
from tests.event_receiver import EventReceiver
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


@pytest.mark.parametrize("schema", ["EventGridSchema", "CloudEventSchemaV1_0"])
async def test_an_endpoint_failing_the_handshake_is_not_subscribed(
    api: Harness, schema: str
) -> None:
    receiver = await EventReceiver(answer_validation=False, allowed_origin=None).start()
    try:
        response = await api.subscribe(receiver, eventDeliverySchema=schema)
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "EndpointValidationFailed"
        missing = await api.admin("GET", f"/admin/eventSubscriptions/{api.name()}")
        assert missing.status_code == 404
        skipped = await api.subscribe(
            receiver, eventDeliverySchema=schema, query="?skipValidation=true"
        )
        assert skipped.status_code == 201, skipped.text
    finally:
        await receiver.stop()


async def test_an_unreachable_endpoint_is_not_subscribed(api: Harness) -> None:
    receiver = await EventReceiver().start()
    await receiver.stop()  # nothing listens on its port now
    response = await api.subscribe(receiver)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "EndpointValidationFailed"


async def test_admin_api_gets_lists_in_pages_and_deletes(
    api: Harness, receiver: EventReceiver
) -> None:
    for suffix in ("b", "a", "c"):
        response = await api.subscribe(receiver, suffix, maxDeliveryAttempts=5)
        assert response.status_code == 201, response.text
    one = (await api.admin("GET", f"/admin/eventSubscriptions/{api.name('a')}")).json()
    assert one["endpointUrl"] == receiver.url("/a")
    assert (one["includedEventTypes"], one["eventDeliverySchema"]) == ([], "EventGridSchema")
    assert (one["maxDeliveryAttempts"], one["eventTimeToLiveInMinutes"]) == (5, 1440)

    names: list[str] = []
    target: str | None = "/admin/eventSubscriptions?maxPageSize=1"
    while target:
        page = (await api.admin("GET", target)).json()
        names += [s["name"] for s in page["value"] if api.tag in s["name"]]
        target = page.get("nextLink")
    assert names == [api.name("a"), api.name("b"), api.name("c")]

    assert (
        await api.admin("DELETE", f"/admin/eventSubscriptions/{api.name('a')}")
    ).status_code == 204
    assert (await api.admin("GET", f"/admin/eventSubscriptions/{api.name('a')}")).status_code == 404
    gone = await api.admin("DELETE", f"/admin/eventSubscriptions/{api.name('a')}")
    assert gone.json()["error"]["code"] == "EventSubscriptionNotFound"


async def test_admin_api_needs_the_access_key(api: Harness) -> None:
    response = await api.http.get("/admin/eventSubscriptions")
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("body", "target"),
    [
        ({"endpointUrl": "ftp://x/y"}, "endpointUrl"),
        ({"endpointUrl": "http://x/y", "eventDeliverySchema": "Custom"}, "eventDeliverySchema"),
        ({"endpointUrl": "http://x/y", "maxDeliveryAttempts": 31}, "maxDeliveryAttempts"),
        ({"endpointUrl": "http://x/y", "eventTimeToLiveInMinutes": 0}, "eventTimeToLiveInMinutes"),
        ({"endpointUrl": "http://x/y", "secret": "short"}, "secret"),
        ({"endpointUrl": "http://x/y", "subjectEndsWith": "x" * 1025}, "subjectEndsWith"),
        (
            {
                "endpointUrl": "http://x/y",
                "advancedFilters": [
                    {"operatorType": "IsNotNull", "key": "subject"},
                    {"operatorType": "StringIn", "key": "to.rawId", "values": ["8:acs:a"]},
                ],
            },
            "advancedFilters[1]",
        ),
    ],
)
async def test_invalid_subscriptions_are_refused(
    api: Harness, body: dict[str, Any], target: str
) -> None:
    response = await api.admin("PUT", f"/admin/eventSubscriptions/{api.name()}", body)
    assert response.status_code == 400
    assert response.json()["error"]["target"] == target


async def test_production_mode_refuses_a_loopback_endpoint(
    start_node: NodeFactory, receiver: EventReceiver
) -> None:
    api = await start_node(mode="production")
    response = await api.subscribe(receiver)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "InvalidEndpoint"
    assert "loopback" in error["message"]
    skipped = await api.subscribe(receiver, query="?skipValidation=true")
    assert skipped.status_code == 400
    assert receiver.requests == []


async def test_an_invalid_config_file_subscription_stops_the_start(
    start_node: NodeFactory,
) -> None:
    configured = [{"name": "x", "endpoint_url": "http://127.0.0.1:9/e"}]  # name too short
    with pytest.raises(ConfigError, match=r"events\.subscriptions 'x'"):
        await start_node(events_subscriptions=json.dumps(configured))


async def test_filters_are_accepted_shown_and_asked_from_memory(
    api: Harness, receiver: EventReceiver
) -> None:
    call = api.type("IncomingCall")
    to_alice = {"operatorType": "StringIn", "key": "data.to.rawId", "values": ["8:acs:alice"]}
    response = await api.subscribe(
        receiver,
        includedEventTypes=[call],
        subjectBeginsWith="/caller/",
        advancedFilters=[to_alice],
    )
    assert response.status_code == 201, response.text
    shown = (await api.admin("GET", f"/admin/eventSubscriptions/{api.name()}")).json()
    assert shown["advancedFilters"] == [to_alice]
    assert (shown["subjectBeginsWith"], shown["subjectEndsWith"]) == ("/caller/", "")
    assert shown["isSubjectCaseSensitive"] is False

    events = api.node.events  # what calling asks before it raises IncomingCall for a callee
    subject = "/caller/4:+15550100/recipient/8:acs:alice"
    assert events.would_deliver(call, subject, {"to": {"rawId": "8:ACS:Alice"}})
    assert not events.would_deliver(call, subject, {"to": {"rawId": "8:acs:bob"}})
    assert not events.would_deliver(call, "/other", {"to": {"rawId": "8:acs:alice"}})


async def test_an_invalid_filter_is_named_in_the_answer(api: Harness) -> None:
    bad = {"operatorType": "NumberLessThan", "key": "data.n", "values": [1, 2]}
    response = await api.admin(
        "PUT",
        f"/admin/eventSubscriptions/{api.name()}",
        {"endpointUrl": "http://x/y", "advancedFilters": [bad]},
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["message"] == (
        "advancedFilters[0] (NumberLessThan on 'data.n') takes 'value': one number."
    )


async def test_an_invalid_config_file_filter_stops_the_start_naming_it(
    start_node: NodeFactory,
) -> None:
    bad = {"operator_type": "StringIn", "key": "data.to.rawId", "values": "8:acs:a"}
    configured = [
        {"name": "calls", "endpoint_url": "http://127.0.0.1:9/e", "advanced_filters": [bad]}
    ]
    with pytest.raises(ConfigError, match=r"'calls': advancedFilters\[0\] \(StringIn on"):
        await start_node(events_subscriptions=json.dumps(configured))


async def test_config_file_filters_are_applied_and_shown(start_node: NodeFactory) -> None:
    tag = uuid.uuid4().hex[:8]
    to_alice = {"operator_type": "StringIn", "key": "data.to.rawId", "values": ["8:acs:alice"]}
    configured = {
        "name": f"t-{tag}-sub",
        "endpoint_url": "http://127.0.0.1:9/e",
        "subject_ends_with": "/recipient/8:acs:alice",
        "advanced_filters": [to_alice],
    }
    api = await start_node(events_subscriptions=json.dumps([configured]))
    api.tag = tag
    shown = (await api.admin("GET", f"/admin/eventSubscriptions/{api.name()}")).json()
    assert shown["subjectEndsWith"] == "/recipient/8:acs:alice"
    assert shown["advancedFilters"] == [
        {"operatorType": "StringIn", "key": "data.to.rawId", "values": ["8:acs:alice"]}
    ]
