"""A real HTTP webhook receiver for the events tests, serving in the test's event loop.

It answers both validation handshakes, can fail the first N attempts of each event (or all of
them), and records every request. Signatures are checked with the receiver recipe of
docs/events.md, written out here independently of ``switchboard.events.signing``.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import socket
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def event_type_header(self) -> str:
        return self.headers.get("aeg-event-type", "")

    def events(self) -> list[dict[str, Any]]:
        """The events in a notification: an Event Grid array or one CloudEvent."""
        payload = self.json
        return payload if isinstance(payload, list) else [payload]


def signature_is_valid(received: Received, secret: str, *, tolerance: float = 300) -> bool:
    """docs/events.md, "Verifying a delivery": HMAC-SHA256(secret, timestamp + "." + body)."""
    stamp = received.headers.get("x-switchboard-timestamp", "")
    given = received.headers.get("x-switchboard-signature", "")
    if not stamp.isdigit() or abs(time.time() - int(stamp)) > tolerance:
        return False
    expected = hmac.new(secret.encode(), stamp.encode() + b"." + received.body, hashlib.sha256)
    return hmac.compare_digest(given, "sha256=" + expected.hexdigest())


@dataclass
class EventReceiver:
    answer_validation: bool = True
    allowed_origin: str | None = "*"  # CloudEvents handshake answer; None: no header
    failures_per_event: int = 0  # answer 500 to the first N attempts of each event
    failure_status: int = 500
    always_fail: bool = False
    delay_seconds: float = 0.0  # think this long before answering a notification
    requests: list[Received] = field(default_factory=list)
    attempts: Counter[str] = field(default_factory=Counter)  # event id -> attempts seen
    _accepted: list[str] = field(default_factory=list)
    _runner: web.AppRunner | None = None
    port: int = 0
    # Every URL of this receiver starts with it: deliveries meant for an earlier receiver
    # that had the same port (retries of another test's events, on either test worker) are
    # answered 410 and not counted.
    token: str = field(default_factory=lambda: uuid.uuid4().hex)

    def url(self, path: str = "/events") -> str:
        return f"http://127.0.0.1:{self.port}/{self.token}{path}"

    @property
    def notifications(self) -> list[Received]:
        return [r for r in self.requests if r.method == "POST" and _is_notification(r)]

    @property
    def accepted_ids(self) -> list[str]:
        """Event ids of the notifications this receiver answered 2xx, in arrival order."""
        return list(self._accepted)

    async def start(self) -> EventReceiver:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        self.port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def wait_until(self, condition: Callable[[], bool], within: float = 30.0) -> None:
        # 30 s: only a failing test waits it out; 10 s was missed by retried deliveries on a
        # machine busy with two test workers and their servers.
        deadline = time.monotonic() + within
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; received {len(self.requests)} requests")
            await asyncio.sleep(0.02)

    async def _handle(self, request: web.Request) -> web.Response:
        prefix = f"/{self.token}"
        if not request.path.startswith(prefix):
            return web.Response(status=410, text="not this receiver")
        received = Received(
            request.method,
            request.path.removeprefix(prefix),
            {k.lower(): v for k, v in request.headers.items()},
            await request.read(),
        )
        self.requests.append(received)
        if request.method == "OPTIONS":
            headers = {}
            if self.allowed_origin is not None:
                headers["WebHook-Allowed-Origin"] = self.allowed_origin
            return web.Response(status=200, headers=headers)
        if received.event_type_header == "SubscriptionValidation":
            if not self.answer_validation:
                return web.json_response({})
            code = received.json[0]["data"]["validationCode"]
            return web.json_response({"validationResponse": code})
        ids = [event["id"] for event in received.events()]
        if self.delay_seconds:
            await asyncio.sleep(self.delay_seconds)
        for event_id in ids:
            self.attempts[event_id] += 1
        if self.always_fail or any(self.attempts[i] <= self.failures_per_event for i in ids):
            return web.Response(status=self.failure_status, text="not now")
        self._accepted.extend(ids)
        return web.Response(status=200)


def _is_notification(received: Received) -> bool:
    return received.event_type_header == "Notification"
