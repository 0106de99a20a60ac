"""Bus over Redis pub/sub, so every node sharing a namespace sees every message."""

from __future__ import annotations

import asyncio
import logging
import random
import re
from collections import deque
from typing import Any
from urllib.parse import urlsplit

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from switchboard.bus.queue import QueueSubscription
from switchboard.core.errors import BusUnavailableError
from switchboard.core.tasks import TaskScope

__all__ = ["RedisBus"]

logger = logging.getLogger(__name__)

_CONNECTION_ERRORS = (RedisError, OSError)
_BACKOFF_FIRST = 0.05
_BACKOFF_MAX = 5.0
_CONNECT_TIMEOUT = 5.0
_PING_TIMEOUT = 2.0


# redis-py 8.2 annotates aclose() but still not connect(), hence the one targeted ignore.
async def _connect(pubsub: PubSub) -> None:
    await pubsub.connect()  # type: ignore[no-untyped-call]  # unannotated upstream


def _unavailable(url: str, error: BaseException) -> BusUnavailableError:
    parts = urlsplit(url)
    where = f"{parts.hostname or 'localhost'}:{parts.port or 6379}"
    detail = str(error) or type(error).__name__
    return BusUnavailableError(
        f"cannot reach Redis at {where} ({detail}): start Redis there or fix redis_url "
        "(--redis-url, SWITCHBOARD_REDIS_URL)"
    )


async def _close(pubsub: PubSub) -> None:
    await pubsub.aclose()


class RedisBus:
    """Publishes to Redis channels ``{namespace}:{topic}`` and fans them out to local subscribers.

    One PubSub connection per bus carries every topic: the first local subscriber of a topic
    SUBSCRIBEs it, the last one to close UNSUBSCRIBEs it. A single reader task owns all reads
    and, when the connection drops, reconnects with backoff and resubscribes the live topics.
    """

    def __init__(self, url: str, namespace: str = "switchboard") -> None:
        self.url = url
        self.namespace = namespace
        self._started = False
        self._client: Redis | None = None
        self._sub_client: Redis | None = None
        self._pubsub: PubSub | None = None  # None while (re)connecting
        self._tasks = TaskScope("RedisBus")
        self._reader: asyncio.Task[None] | None = None
        self._subs: dict[str, set[QueueSubscription]] = {}  # keyed by Redis channel
        # Per channel, one group of waiters per SUBSCRIBE not yet confirmed, in send order.
        self._pending: dict[str, deque[list[asyncio.Event]]] = {}
        # Serialises pub/sub commands with the topic-table change they stand for, so Redis sees
        # SUBSCRIBE/UNSUBSCRIBE in the order the table changed, and never mid-reconnect.
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        if self._started:
            return
        self._client = Redis.from_url(self.url, socket_connect_timeout=_CONNECT_TIMEOUT)
        # The subscriber gets its own client without redis-py's retries: those would reconnect
        # behind our back, and the reader must see the failure to resubscribe and log it.
        name = re.sub(r"\s", "_", f"switchboard-bus:{self.namespace}")
        self._sub_client = Redis.from_url(
            self.url,
            retry=Retry(NoBackoff(), 0, supported_errors=()),
            socket_connect_timeout=_CONNECT_TIMEOUT,
            socket_keepalive=True,
            client_name=name,
        )
        self._started = True
        try:
            pubsub = await self._open()  # fail fast on a bad URL or an unreachable server
        except BaseException as exc:
            await self.stop()
            if isinstance(exc, _CONNECTION_ERRORS):
                raise _unavailable(self.url, exc) from exc
            raise
        await self._tasks.start()
        self._reader = self._tasks.spawn(self._read(pubsub), name=f"RedisBus reader {name}")

    async def stop(self) -> None:
        if not self._started:
            return
        self._started = False
        self._reader = None
        await self._tasks.stop()
        for subscriptions in self._subs.values():
            for subscription in subscriptions:
                subscription.end()
        self._subs.clear()
        for waiter in (w for groups in self._pending.values() for group in groups for w in group):
            waiter.set()  # a subscribe() in flight returns its (already ended) subscription
        self._pending.clear()
        async with self._lock:
            if self._pubsub is not None:
                await _close(self._pubsub)
                self._pubsub = None
        for client in (self._sub_client, self._client):
            if client is not None:
                await client.aclose()
        self._client = self._sub_client = None

    async def publish(self, topic: str, message: bytes) -> None:
        if self._client is None:
            raise RuntimeError("RedisBus is not started")
        await self._client.publish(self._channel(topic), message)

    async def subscribe(self, topic: str) -> QueueSubscription:
        channel = self._channel(topic)
        subscription = QueueSubscription(topic, self._release)
        try:
            async with self._lock:
                if not self._started:
                    raise RuntimeError("RedisBus is not started")
                subscriptions = self._subs.setdefault(channel, set())
                first = not subscriptions
                subscriptions.add(subscription)
                waiter = self._waiter(channel, new_command=first)
                if first and self._pubsub is not None:
                    try:
                        await self._pubsub.subscribe(channel)
                    except _CONNECTION_ERRORS as exc:
                        # The reader hits the same broken connection and resubscribes the
                        # channel (it is in the table already) once it has reconnected.
                        logger.debug("SUBSCRIBE %s failed: %s; reconnect will do it", channel, exc)
            if waiter is not None:
                await waiter.wait()
        except BaseException:
            await subscription.close()
            raise
        return subscription

    async def ping(self) -> bool:
        reader = self._reader
        if self._client is None or self._pubsub is None or reader is None or reader.done():
            return False
        try:
            async with asyncio.timeout(_PING_TIMEOUT):
                return bool(await self._client.ping())
        except (*_CONNECTION_ERRORS, TimeoutError):
            return False

    def _channel(self, topic: str) -> str:
        return f"{self.namespace}:{topic}"

    def _waiter(self, channel: str, *, new_command: bool) -> asyncio.Event | None:
        """The event a subscriber waits on until Redis confirms ``channel`` is subscribed."""
        groups = self._pending.get(channel)
        waiter = asyncio.Event()
        if not new_command and groups:
            groups[-1].append(waiter)  # the latest SUBSCRIBE is still unconfirmed: wait for it
        elif not new_command and self._pubsub is not None:
            return None  # already confirmed on the live connection
        else:
            # A new SUBSCRIBE, or while disconnected the reconnect's SUBSCRIBE will answer it.
            self._pending.setdefault(channel, deque()).append([waiter])
        return waiter

    async def _release(self, subscription: QueueSubscription) -> None:
        channel = self._channel(subscription.topic)
        subscriptions = self._subs.get(channel)
        if subscriptions is None or subscription not in subscriptions:
            return
        # Table first, synchronously, so even a cancelled close stops delivery at once.
        subscriptions.discard(subscription)
        if subscriptions:
            return
        del self._subs[channel]
        async with self._lock:
            # A subscriber that arrived while we waited for the lock keeps the channel.
            if channel in self._subs or self._pubsub is None:
                return
            try:
                await self._pubsub.unsubscribe(channel)
            except _CONNECTION_ERRORS as exc:
                # The reconnect subscribes only channels still in the table, so this is done.
                logger.debug("UNSUBSCRIBE %s failed: %s", channel, exc)

    async def _open(self) -> PubSub:
        """Connect a new PubSub, subscribe every live channel and make it the current one."""
        assert self._sub_client is not None
        pubsub = self._sub_client.pubsub()
        async with self._lock:
            try:
                await _connect(pubsub)
                channels = list(self._subs)
                if channels:
                    await pubsub.subscribe(*channels)
            except BaseException:
                await _close(pubsub)
                raise
            # SUBSCRIBEs sent on the old connection will never be answered; the single SUBSCRIBE
            # per live channel sent just now answers all of their waiters at once.
            old, self._pending = self._pending, {}
            for channel, groups in old.items():
                waiters = [waiter for group in groups for waiter in group]
                if channel in self._subs:
                    self._pending[channel] = deque([waiters])
                else:
                    for waiter in waiters:
                        waiter.set()
            for channel in channels:
                self._pending.setdefault(channel, deque([[]]))
            self._pubsub = pubsub
        return pubsub

    async def _read(self, pubsub: PubSub) -> None:
        """Fan out messages until cancelled; on connection loss, reconnect and resubscribe."""
        loop = asyncio.get_running_loop()
        delay = _BACKOFF_FIRST
        try:
            while True:
                connected_at = loop.time()
                try:
                    await self._pump(pubsub)
                except _CONNECTION_ERRORS as exc:
                    logger.warning("Redis bus lost its pub/sub connection: %s; reconnecting", exc)
                async with self._lock:  # not while a subscribe() is sending on it
                    self._pubsub = None
                    await _close(pubsub)
                if loop.time() - connected_at > _BACKOFF_MAX:
                    delay = _BACKOFF_FIRST  # it was a stable connection, not a flapping one
                while True:
                    # Jitter so that many nodes do not all reconnect in the same instant.
                    await asyncio.sleep(delay * random.uniform(0.5, 1.0))
                    delay = min(delay * 2, _BACKOFF_MAX)
                    try:
                        pubsub = await self._open()
                        break
                    except _CONNECTION_ERRORS as exc:
                        logger.warning("Redis bus cannot reconnect yet: %s", exc)
                logger.info("Redis bus reconnected; resubscribed %d topics", len(self._subs))
        except Exception:
            # Logged here, with what it means; the reader then ends and ping() says so.
            logger.exception("Redis bus reader crashed; no more messages will be delivered")

    async def _pump(self, pubsub: PubSub) -> None:
        while True:
            message: dict[str, Any] | None = await pubsub.get_message(timeout=None)
            if message is None:
                continue
            kind = message["type"]
            if kind == "message":
                for subscription in tuple(self._subs.get(message["channel"].decode(), ())):
                    subscription.put(message["data"])
            elif kind == "subscribe":
                channel = message["channel"].decode()
                groups = self._pending.get(channel)
                if groups:
                    for waiter in groups.popleft():
                        waiter.set()
                    if not groups:
                        del self._pending[channel]
