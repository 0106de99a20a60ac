"""The Bus contract, proved against every backend; Redis-only behaviours at the end."""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import anyio
import pytest
from redis.asyncio import Redis

from switchboard.bus.base import Bus, Subscription
from switchboard.bus.memory import MemoryBus
from switchboard.bus.queue import SubscriptionClosed
from switchboard.bus.redis import RedisBus
from switchboard.core.errors import BusUnavailableError

pytestmark = pytest.mark.anyio

REDIS_URL = os.environ.get("SWITCHBOARD_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
WAIT = 5.0  # upper bound for anything that should happen "promptly"

NodeFactory = Callable[[str], Awaitable[RedisBus]]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def bus(request: pytest.FixtureRequest) -> AsyncIterator[Bus]:
    # A missing Redis must fail here, loudly: start() connects and raises.
    backend: Bus = MemoryBus() if request.param == "memory" else RedisBus(REDIS_URL, _namespace())
    await backend.start()
    try:
        yield backend
    finally:
        await backend.stop()


@pytest.fixture
async def redis_admin() -> AsyncIterator[Redis]:
    client = Redis.from_url(REDIS_URL)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
async def start_node() -> AsyncIterator[NodeFactory]:
    """Start RedisBus "nodes" on a given namespace; all are stopped after the test."""
    nodes: list[RedisBus] = []

    async def start(namespace: str) -> RedisBus:
        node = RedisBus(REDIS_URL, namespace=namespace)
        await node.start()
        nodes.append(node)
        return node

    try:
        yield start
    finally:
        for node in nodes:
            await node.stop()


def _namespace() -> str:
    return f"test-{uuid.uuid4().hex}"


async def receive(subscription: Subscription) -> bytes:
    with anyio.fail_after(WAIT):
        return await subscription.get()


async def eventually(probe: Callable[[], Awaitable[int]], *, equals: int) -> None:
    """Poll Redis (which cannot notify us) until probe() returns the expected value."""
    with anyio.fail_after(WAIT):
        while True:
            if await probe() == equals:
                return
            await anyio.sleep(0.01)


async def receive_n(subscription: Subscription, count: int) -> list[bytes]:
    return [await receive(subscription) for _ in range(count)]


# --- every backend -------------------------------------------------------------------------------


async def test_subscriber_receives_messages_in_publish_order(bus: Bus) -> None:
    subscription = await bus.subscribe("orders")
    sent = [f"m{i}".encode() for i in range(200)]
    for message in sent:
        await bus.publish("orders", message)
    assert await receive_n(subscription, len(sent)) == sent


async def test_message_reaches_every_subscriber_of_the_topic(bus: Bus) -> None:
    subscriptions = [await bus.subscribe("room") for _ in range(3)]
    await bus.publish("room", b"hello")
    for subscription in subscriptions:
        assert await receive(subscription) == b"hello"


async def test_other_topics_are_not_delivered(bus: Bus) -> None:
    subscription = await bus.subscribe("mine")
    await bus.publish("theirs", b"not for you")
    await bus.publish("mine", b"marker")
    # The marker comes first: the earlier message on the other topic never arrived.
    assert await receive(subscription) == b"marker"


async def test_topics_are_matched_exactly_not_as_patterns(bus: Bus) -> None:
    subscription = await bus.subscribe("news.*")
    await bus.publish("news.sports", b"pattern match")
    await bus.publish("news", b"prefix match")
    await bus.publish("news.*", b"exact match")
    assert await receive(subscription) == b"exact match"


async def test_message_published_right_after_subscribe_returns_is_delivered(bus: Bus) -> None:
    for i in range(20):
        subscription = await bus.subscribe(f"fresh-{i}")
        await bus.publish(f"fresh-{i}", b"first")
        assert await receive(subscription) == b"first"


async def test_payload_bytes_arrive_unchanged(bus: Bus) -> None:
    subscription = await bus.subscribe("binary")
    payloads = [b"", b"\x00\xff\xfe", "ünïcode".encode(), bytes(range(256)) * 64]
    for payload in payloads:
        await bus.publish("binary", payload)
    assert await receive_n(subscription, len(payloads)) == payloads


async def test_closed_subscription_receives_nothing_more(bus: Bus) -> None:
    closed = await bus.subscribe("topic")
    witness = await bus.subscribe("topic")
    await bus.publish("topic", b"before")
    assert await receive(closed) == b"before"
    await closed.close()
    await bus.publish("topic", b"after")
    assert await receive(witness) == b"before"
    assert await receive(witness) == b"after"
    assert [message async for message in closed] == []
    with pytest.raises(SubscriptionClosed):
        await closed.get()


async def test_closing_one_subscription_leaves_the_others_subscribed(bus: Bus) -> None:
    first = await bus.subscribe("shared")
    second = await bus.subscribe("shared")
    await first.close()
    await bus.publish("shared", b"still here")
    assert await receive(second) == b"still here"


async def test_subscribing_again_after_the_last_close_receives_again(bus: Bus) -> None:
    for round_ in range(5):
        subscription = await bus.subscribe("again")
        await bus.publish("again", f"round {round_}".encode())
        assert await receive(subscription) == f"round {round_}".encode()
        await subscription.close()


async def test_close_is_idempotent(bus: Bus) -> None:
    subscription = await bus.subscribe("twice")
    await subscription.close()
    await subscription.close()
    assert subscription.topic == "twice"


async def test_iteration_ends_when_the_subscription_closes(bus: Bus) -> None:
    subscription = await bus.subscribe("stream")
    received: list[bytes] = []

    async def consume() -> None:
        async for message in subscription:
            received.append(message)
            if len(received) == 2:
                await subscription.close()

    with anyio.fail_after(WAIT):
        async with anyio.create_task_group() as tg:
            tg.start_soon(consume)
            for message in (b"one", b"two", b"three"):
                await bus.publish("stream", message)
    assert received == [b"one", b"two"]


async def test_iteration_ends_when_bus_stops(bus: Bus) -> None:
    subscription = await bus.subscribe("stream")
    received: list[bytes] = []
    got_first = anyio.Event()

    async def consume() -> None:
        async for message in subscription:
            received.append(message)
            got_first.set()

    with anyio.fail_after(WAIT):
        async with anyio.create_task_group() as tg:
            tg.start_soon(consume)
            await bus.publish("stream", b"one")
            await got_first.wait()
            await bus.stop()
    assert received == [b"one"]


async def test_publish_without_subscribers_is_harmless(bus: Bus) -> None:
    await bus.publish("nobody-listens", b"into the void")
    subscription = await bus.subscribe("nobody-listens")
    await bus.publish("nobody-listens", b"now someone does")
    assert await receive(subscription) == b"now someone does"


async def test_ping_reports_a_started_bus(bus: Bus) -> None:
    assert await bus.ping() is True
    await bus.stop()
    assert await bus.ping() is False


async def test_stopped_bus_refuses_new_subscriptions(bus: Bus) -> None:
    await bus.stop()
    with pytest.raises(RuntimeError):
        await bus.subscribe("late")


# --- Redis only ----------------------------------------------------------------------------------


@pytest.mark.redis
async def test_nodes_on_the_same_namespace_see_each_others_messages(
    start_node: NodeFactory,
) -> None:
    namespace = _namespace()
    alpha, beta = await start_node(namespace), await start_node(namespace)
    at_alpha, at_beta = await alpha.subscribe("cluster"), await beta.subscribe("cluster")
    await alpha.publish("cluster", b"from alpha")
    await beta.publish("cluster", b"from beta")
    for subscription in (at_alpha, at_beta):
        assert await receive_n(subscription, 2) == [b"from alpha", b"from beta"]


@pytest.mark.redis
async def test_nodes_on_other_namespaces_are_isolated(start_node: NodeFactory) -> None:
    mine, other = await start_node(_namespace()), await start_node(_namespace())
    subscription = await mine.subscribe("topic")
    await other.publish("topic", b"other namespace")
    await mine.publish("topic", b"marker")
    assert await receive(subscription) == b"marker"


@pytest.mark.redis
async def test_one_redis_subscription_serves_all_local_subscribers_of_a_topic(
    start_node: NodeFactory, redis_admin: Redis
) -> None:
    namespace = _namespace()
    node = await start_node(namespace)
    channel = f"{namespace}:shared"

    async def redis_subscribers() -> int:
        [(_, count)] = await redis_admin.pubsub_numsub(channel)
        return int(count)

    first, second = await node.subscribe("shared"), await node.subscribe("shared")
    assert await redis_subscribers() == 1  # confirmed before subscribe() returned
    await first.close()
    assert await redis_subscribers() == 1
    await second.close()
    await eventually(redis_subscribers, equals=0)  # close() does not wait for the UNSUBSCRIBE


@pytest.mark.redis
async def test_bus_reconnects_and_delivers_after_its_connection_is_killed(
    start_node: NodeFactory, redis_admin: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    namespace = _namespace()
    node = await start_node(namespace)
    subscription = await node.subscribe("survivor")
    await node.publish("survivor", b"before")
    assert await receive(subscription) == b"before"

    # Kill only this bus's subscriber connection (it is named after the namespace), so
    # parallel test runs on the same Redis are left alone.
    clients = await redis_admin.client_list(_type="pubsub")
    ours = [c["id"] for c in clients if c["name"] == f"switchboard-bus:{namespace}"]
    assert ours, clients
    with caplog.at_level(logging.WARNING, logger="switchboard.bus.redis"):
        for client_id in ours:
            await redis_admin.client_kill_filter(_id=client_id)
        # Messages during the gap are lost by design, so publish until one gets through.
        with anyio.fail_after(WAIT * 2):
            while True:
                await node.publish("survivor", b"after")
                with anyio.move_on_after(0.1):
                    assert await subscription.get() == b"after"
                    break
    assert any("lost its pub/sub connection" in r.getMessage() for r in caplog.records)

    # The reconnected bus still subscribes new topics and confirms them before returning.
    fresh = await node.subscribe("fresh")
    await node.publish("fresh", b"new topic")
    assert await receive(fresh) == b"new topic"
    assert await node.ping() is True


@pytest.mark.redis
async def test_start_fails_when_redis_is_unreachable() -> None:
    node = RedisBus("redis://127.0.0.1:1/0", namespace=_namespace())
    assert await node.ping() is False
    with pytest.raises(BusUnavailableError, match="cannot reach Redis"):
        await node.start()
    assert await node.ping() is False
