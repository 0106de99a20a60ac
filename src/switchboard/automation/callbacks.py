"""AutomationCallbacks: Call Automation's mid-call events, queued durably and POSTed in order.

    await AutomationCallbacks.start(config, server, queue, secrets, clock=, resource_id=, issuer=)
        ├─ CallbackSigner (RSA key from the resource secrets; iss, aud = resource id)
        ├─ CallbackUrls (EndpointGuard: mode + automation_allowed_endpoints) ─▶ guarded client
        └─ CallbackDispatcher (TaskScope) ─▶ CallbackSender, CallbackRetryPolicy, the queue
    ─▶ .enqueue(call_connection_id, url, [CallbackEvent…])   durable when it returns
       .check_url(url)                                       400 InvalidEndpoint at request time
       .signer                                               for openid_routes
       .stop()

The caller's state change and its callbacks can also commit together: ``SqlCallbackQueue.add
(conn, batch)`` inside the caller's transaction, then ``wake()`` after the commit.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence

from prometheus_client import CollectorRegistry

from switchboard.automation.callbacks_dispatcher import CallbackDispatcher, CallbackMetrics
from switchboard.automation.callbacks_events import CallbackEvent, render_batch
from switchboard.automation.callbacks_sender import (
    CallbackRetryPolicy,
    CallbackSender,
    CallbackUrls,
)
from switchboard.automation.callbacks_signing import CallbackSigner, KeySecrets
from switchboard.automation.callbacks_store import CallbackBatch, CallbackQueue
from switchboard.core.clock import Clock
from switchboard.core.sections import AutomationConfig, ServerConfig
from switchboard.events.endpoints import EndpointGuard, EndpointPolicy, Resolver, system_resolver
from switchboard.events.retry import RetryPolicy
from switchboard.events.transport import delivery_client

log = logging.getLogger(__name__)


def lease_seconds(timeout_seconds: float) -> float:
    """A claim outlasts one POST's deadline plus the database round trips around it."""
    return timeout_seconds + max(5.0, timeout_seconds)


class AutomationCallbacks:
    """The started callback machinery (build it with ``await AutomationCallbacks.start(...)``)."""

    def __init__(
        self,
        *,
        queue: CallbackQueue,
        urls: CallbackUrls,
        signer: CallbackSigner,
        dispatcher: CallbackDispatcher,
        clock: Clock,
        stack: contextlib.AsyncExitStack,
    ) -> None:
        self.queue = queue
        self.urls = urls
        self.signer = signer
        self._dispatcher = dispatcher
        self._clock = clock
        self._stack = stack

    @classmethod
    async def start(
        cls,
        config: AutomationConfig,
        server: ServerConfig,
        queue: CallbackQueue,
        secrets: KeySecrets,
        *,
        clock: Clock,
        resource_id: str,
        issuer: str,
        registry: CollectorRegistry | None = None,
        resolver: Resolver = system_resolver,
    ) -> AutomationCallbacks:
        """``issuer``: the JWT ``iss`` and the base of the OpenID metadata's URLs
        (``config.callback_issuer`` if set, else the node's endpoint: app.py decides)."""
        stack = contextlib.AsyncExitStack()
        try:
            signer = await CallbackSigner.load(
                secrets, issuer=issuer, audience=resource_id, clock=clock
            )
            policy = EndpointPolicy.for_mode(server.mode, config.allowed_endpoints)
            guard = EndpointGuard(policy, resolver)
            urls = CallbackUrls(guard, https_only=not server.development)
            timeout = config.callback_timeout_seconds
            client = delivery_client(
                guard, timeout=timeout, connections=config.callback_concurrency
            )
            stack.push_async_callback(client.aclose)
            dispatcher = CallbackDispatcher(
                queue,
                CallbackSender(client, signer, urls, timeout_seconds=timeout),
                policy=CallbackRetryPolicy(
                    RetryPolicy(config.callback_retry_scale),
                    window_ms=int(config.callback_retry_seconds * 1000),
                ),
                clock=clock,
                concurrency=config.callback_concurrency,
                poll_seconds=config.callback_poll_seconds,
                lease_seconds=lease_seconds(timeout),
                metrics=CallbackMetrics(registry),
            )
            await dispatcher.start()
            stack.push_async_callback(dispatcher.stop, server.shutdown_timeout_seconds)
            return cls(
                queue=queue,
                urls=urls,
                signer=signer,
                dispatcher=dispatcher,
                clock=clock,
                stack=stack,
            )
        except BaseException:
            await stack.aclose()
            raise

    async def enqueue(
        self, call_connection_id: str, url: str, events: Sequence[CallbackEvent]
    ) -> int:
        """Queue one POST of ``events`` to ``url``; committed when this returns (answer the
        HTTP request after it). The batch's sequence number in its call's stream."""
        batch = self.batch(call_connection_id, url, events)
        seq = await self.queue.enqueue(batch)
        self.wake()
        return seq

    def batch(
        self, call_connection_id: str, url: str, events: Sequence[CallbackEvent]
    ) -> CallbackBatch:
        """The rendered batch, for callers that write it in their own transaction."""
        now = self._clock.now()
        return CallbackBatch(
            call_connection_id=call_connection_id,
            url=url,
            body=render_batch(events, time=now),
            event_count=len(events),
            enqueued_ms=int(now * 1000),
        )

    def wake(self) -> None:
        """Look at the queue now (after a caller committed batches itself)."""
        self._dispatcher.wake()

    async def check_url(self, url: str, target: str = "callbackUri") -> None:
        """For routes: EndpointRefusedError (400 InvalidEndpoint) if we would not POST there."""
        await self.urls.check(url, target)

    async def stop(self) -> None:
        """POSTs in flight get the shutdown grace, then the client closes."""
        await self._stack.aclose()
