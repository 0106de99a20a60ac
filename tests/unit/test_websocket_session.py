"""HeartbeatSession (http/websocket_session.py) on a fake socket: no server, time on a FakeClock.

The socket is a real starlette ``WebSocket`` over fake ASGI receive/send callables, so the
session sees exactly what an ASGI server gives it. Time only moves when a test advances the
FakeClock; each test then waits for what must follow (a ping, a close), never for a delay.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from starlette.websockets import WebSocket, WebSocketDisconnect

from switchboard.core.clock import FakeClock
from switchboard.core.errors import AuthenticationError, TokenRevokedError
from switchboard.core.principal import Principal, PrincipalKind
from switchboard.http.websocket import SEND_TEXTS
from switchboard.http.websocket_session import (
    HeartbeatSession,
    HeartbeatSettings,
    SessionAcceptor,
    SessionClosedError,
    SlowClientLimit,
)

pytestmark = pytest.mark.anyio

HEARTBEAT = 0.0625  # FakeClock seconds (exact in binary, so sums hit deadlines exactly);
# also the longest the watchdog sleeps for real between looks at the clock
PING = '{"type":"ping"}'
HELLO = '{"type":"hello"}'
TOO_SLOW = SlowClientLimit(3, 4010, "too slow")
T0 = 1_800_000_000.0
CHAT = frozenset({"chat"})


class FakeClient:
    """The client end: what it sends goes to the session; what the session sends lands here."""

    def __init__(self, *, query: bytes = b"", send_texts: bool = False) -> None:
        self.scope: dict[str, Any] = {
            "type": "websocket",
            "path": "/",
            "headers": [(b"authorization", b"Bearer good")],
            "query_string": query,
            "subprotocols": [],
            "extensions": {SEND_TEXTS: {}} if send_texts else {},
        }
        self.writes: list[list[str]] = []  # the frames of each write (SEND_TEXTS: several)
        self._inbound: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._inbound.put_nowait({"type": "websocket.connect"})
        self.frames: list[str] = []
        self.closed: tuple[int, str] | None = None
        self.reading = asyncio.Event()  # cleared: the client reads nothing (a slow client)
        self.reading.set()
        self.stuck = 0  # sends waiting for the client to read
        self._changed = asyncio.Condition()
        self.websocket = WebSocket(self.scope, self._receive, self._send)

    def say(self, text: str) -> None:
        self._inbound.put_nowait({"type": "websocket.receive", "text": text})

    def leave(self) -> None:
        self._inbound.put_nowait({"type": "websocket.disconnect", "code": 1001})

    async def wait_for(self, check: Callable[[], bool]) -> None:
        async with asyncio.timeout(5), self._changed:
            await self._changed.wait_for(check)

    def pings(self) -> int:
        return self.frames.count(PING)

    async def wait_for_pings(self, count: int) -> None:
        await self.wait_for(lambda: self.pings() == count)

    async def _receive(self) -> dict[str, Any]:
        return await self._inbound.get()

    async def _send(self, message: MutableMapping[str, Any]) -> None:
        if message["type"] in ("websocket.send", SEND_TEXTS):
            if not self.reading.is_set():
                await self._note(1)
                await self.reading.wait()
                self.stuck -= 1
            texts = message["texts"] if message["type"] == SEND_TEXTS else [message["text"]]
            self.writes.append(list(texts))
            self.frames.extend(texts)
        elif message["type"] == "websocket.close":
            self.closed = (message["code"], message.get("reason", ""))
        await self._note(0)

    async def _note(self, stuck: int) -> None:
        async with self._changed:
            self.stuck += stuck
            self._changed.notify_all()


@dataclass
class FakeTokens:
    principal: Principal
    revoked: Exception | None = None
    rechecks: asyncio.Queue[str] = field(default_factory=asyncio.Queue)

    async def authenticate_token(self, token: str) -> Principal:
        if token != "good":
            raise AuthenticationError("The access token is invalid.")
        return self.principal

    async def revalidate_token(self, token: str) -> Principal:
        self.rechecks.put_nowait(token)
        if self.revoked is not None:
            raise self.revoked
        return self.principal


def user(
    expires_at: float | None = None, scopes: frozenset[str] = frozenset({"chat"})
) -> Principal:
    return Principal(PrincipalKind.USER, "8:acs:r_bob", scopes, expires_at)


def acceptor(
    tokens: FakeTokens,
    clock: FakeClock,
    slow_client: SlowClientLimit | None = None,
    coalesce: bool = False,
) -> SessionAcceptor:
    settings = HeartbeatSettings(
        HEARTBEAT, ping_text=PING, slow_client=slow_client, coalesce=coalesce
    )
    return SessionAcceptor(tokens, clock=clock, settings=settings, scopes=("chat",), forbidden=4006)


@asynccontextmanager
async def running(
    session: HeartbeatSession,
    client: FakeClient,
    on_text: Callable[[str], None] = lambda _text: None,
) -> AsyncIterator[asyncio.Task[None]]:
    """Run the session in the background; yields its task (awaited, it gives the outcome).

    A first frame, once the client has it, shows the session runs (its heartbeat counts
    from the start of ``run``, so the clock must not move before)."""
    session.send(HELLO)
    task = asyncio.create_task(session.run(on_text))
    await client.wait_for(lambda: HELLO in client.frames)
    try:
        yield task
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def open_session(
    client: FakeClient, tokens: FakeTokens, clock: FakeClock, **kwargs: Any
) -> HeartbeatSession:
    session = await acceptor(tokens, clock, **kwargs).accept(client.websocket)
    assert session is not None
    return session


async def closed_with(outcome: Awaitable[None]) -> SessionClosedError:
    with pytest.raises(SessionClosedError) as closed:
        async with asyncio.timeout(5):
            await outcome
    return closed.value


async def test_a_client_that_sends_nothing_for_two_heartbeats_is_closed_with_4008() -> None:
    clock, client = FakeClock(T0), FakeClient()
    session = await open_session(client, FakeTokens(user()), clock)
    async with running(session, client) as outcome:
        clock.advance(HEARTBEAT)
        await client.wait_for_pings(1)
        assert not outcome.done()  # one silent heartbeat is allowed
        clock.advance(HEARTBEAT)
        closed = await closed_with(outcome)
    assert closed.code == 4008
    assert client.pings() == 1


async def test_a_client_that_answers_every_ping_stays_until_it_leaves() -> None:
    clock, client = FakeClock(T0), FakeClient()
    session = await open_session(client, FakeTokens(user()), clock)
    async with running(session, client) as outcome:
        for beat in range(1, 6):
            clock.advance(HEARTBEAT)
            await client.wait_for_pings(beat)
            client.say('{"type":"pong"}')
        client.leave()
        with pytest.raises(WebSocketDisconnect):
            async with asyncio.timeout(5):
                await outcome
    assert client.closed is None  # the client left: nothing for the server to close


async def test_the_token_expiry_closes_with_4001_at_that_time_and_not_before() -> None:
    clock, client = FakeClock(T0), FakeClient()
    expires_at = T0 + 2.5 * HEARTBEAT
    session = await open_session(client, FakeTokens(user(expires_at)), clock)
    heard: asyncio.Queue[str] = asyncio.Queue()
    async with running(session, client, heard.put_nowait) as outcome:
        for beat in (1, 2):
            clock.advance(HEARTBEAT)
            await client.wait_for_pings(beat)
            client.say("pong")
            assert await heard.get() == "pong"
        assert clock.now() < expires_at and not outcome.done()
        clock.advance(expires_at - clock.now())
        closed = await closed_with(outcome)
    assert (closed.code, closed.reason) == (4001, "The access token has expired.")
    assert client.pings() == 2


async def test_a_full_queue_is_kept_and_one_frame_more_closes_with_the_protocols_code() -> None:
    clock, client = FakeClock(T0), FakeClient()
    session = await open_session(client, FakeTokens(user()), clock, slow_client=TOO_SLOW)
    async with running(session, client) as outcome:
        client.reading.clear()
        session.send("in flight")
        await client.wait_for(lambda: client.stuck == 1)
        for n in range(TOO_SLOW.frames):
            session.send(f"queued {n}")
        assert not outcome.done()
        session.send("one too many")
        closed = await closed_with(outcome)
    assert (closed.code, closed.reason) == (4010, "too slow")
    assert client.frames == [HELLO]  # nothing after: the client never read, the queue went


async def test_a_queue_at_its_bound_is_still_delivered_in_full() -> None:
    clock, client = FakeClock(T0), FakeClient()
    session = await open_session(client, FakeTokens(user()), clock, slow_client=TOO_SLOW)
    async with running(session, client) as outcome:
        client.reading.clear()
        session.send("in flight")
        await client.wait_for(lambda: client.stuck == 1)
        queued = [f"queued {n}" for n in range(TOO_SLOW.frames)]
        for text in queued:
            session.send(text)
        session.close(4011, "sentinel")  # a close that only comes after the queue
        client.reading.set()
        closed = await closed_with(outcome)
    assert closed.code == 4011  # not 4010: the bound was reached, not passed
    assert client.frames == [HELLO, "in flight", *queued]


async def test_frames_held_back_during_catch_up_are_not_bounded() -> None:
    clock, client = FakeClock(T0), FakeClient()
    session = await open_session(client, FakeTokens(user()), clock, slow_client=TOO_SLOW)
    held = [f"held {n}" for n in range(2 * TOO_SLOW.frames)]
    session.send_held(held)
    session.close(4011, "sentinel")
    closed = await closed_with(session.run(lambda _text: None))
    assert closed.code == 4011
    assert client.frames == held


async def test_a_requested_close_comes_after_every_frame_queued_before_it() -> None:
    clock, client = FakeClock(T0), FakeClient()
    session = await open_session(client, FakeTokens(user()), clock)
    session.send("second")
    session.send_first("first")
    session.close(4011, "replaced")
    session.send("third")  # queued before the close was acted on: still sent
    closed = await closed_with(session.run(lambda _text: None))
    assert (closed.code, closed.reason) == (4011, "replaced")
    assert client.frames == ["first", "second", "third"]


@pytest.mark.parametrize(
    ("failure", "code"),
    [(TokenRevokedError("revoked"), 4003), (AuthenticationError("identity deleted"), 4001)],
)
async def test_a_recheck_that_fails_closes_with_its_code(failure: Exception, code: int) -> None:
    clock, client = FakeClock(T0), FakeClient()
    tokens = FakeTokens(user())
    session = await open_session(client, tokens, clock)
    async with running(session, client) as outcome:
        session.recheck()
        assert await tokens.rechecks.get() == "good"
        assert not outcome.done()  # the token is still good
        tokens.revoked = failure
        session.recheck()
        closed = await closed_with(outcome)
    assert closed.code == code
    assert await tokens.rechecks.get() == "good"


@pytest.mark.parametrize(
    ("principal", "token", "code"),
    [
        (user(), b"Bearer bad", 4001),
        (user(scopes=frozenset({"voip"})), b"Bearer good", 4006),
    ],
)
async def test_a_refused_token_is_closed_before_any_session(
    principal: Principal, token: bytes, code: int
) -> None:
    client = FakeClient()
    client.scope["headers"] = [(b"authorization", token)]
    session = await acceptor(FakeTokens(principal), FakeClock(T0)).accept(client.websocket)
    assert session is None
    assert client.closed is not None and client.closed[0] == code


async def test_no_task_of_the_session_outlives_its_close() -> None:
    clock, client = FakeClock(T0), FakeClient()
    before = asyncio.all_tasks()
    session = await open_session(client, FakeTokens(user()), clock)
    session.send("queued")
    outcome = asyncio.create_task(session.run(lambda _text: None))
    await client.wait_for(lambda: client.frames == ["queued"])
    clock.advance(2 * HEARTBEAT)
    closed = await closed_with(outcome)
    assert closed.code == 4008
    assert asyncio.all_tasks() <= before


async def test_a_binary_frame_closes_with_1003_not_an_abnormal_close() -> None:
    clock, client = FakeClock(T0), FakeClient()
    session = await open_session(client, FakeTokens(user()), clock)
    heard: list[str] = []
    async with running(session, client, heard.append) as outcome:
        client.say('{"type":"pong"}')
        client._inbound.put_nowait({"type": "websocket.receive", "bytes": b"\x00\x01"})
        closed = await closed_with(outcome)
    assert closed.code == 1003
    assert heard == ['{"type":"pong"}']  # text before it was handled


async def test_a_running_idle_session_has_no_task_of_its_own_and_writes_at_once() -> None:
    clock, client = FakeClock(T0), FakeClient()
    session = await open_session(client, FakeTokens(user()), clock)
    before = asyncio.all_tasks()
    async with running(session, client) as outcome:
        assert asyncio.all_tasks() == before | {outcome}  # only run's own, in its receive
        session.send("now")
        assert client.frames[-1] == "now"  # written in the call, no turn of the loop
        clock.advance(HEARTBEAT)
        await client.wait_for_pings(1)
        assert asyncio.all_tasks() == before | {outcome}


async def test_a_ping_due_while_a_write_waits_goes_next_ahead_of_the_queue() -> None:
    clock, client = FakeClock(T0), FakeClient()
    session = await open_session(client, FakeTokens(user()), clock, slow_client=TOO_SLOW)
    async with running(session, client) as outcome:
        client.reading.clear()
        session.send("in flight")
        await client.wait_for(lambda: client.stuck == 1)
        session.send("queued")
        clock.advance(HEARTBEAT)
        # The session's timer was armed for at most HEARTBEAT of real time before this sleep
        # began, so it fires first: the ping is due (and waits) when the client reads again.
        await asyncio.sleep(2 * HEARTBEAT)
        client.reading.set()
        await client.wait_for(lambda: "queued" in client.frames)
        assert client.frames == [HELLO, "in flight", PING, "queued"]
        assert not outcome.done()


async def test_coalesced_frames_of_one_turn_go_out_in_one_write_after_it_in_order() -> None:
    clock, client = FakeClock(T0), FakeClient(send_texts=True)
    session = await open_session(client, FakeTokens(user()), clock, coalesce=True)
    async with running(session, client) as outcome:
        for n in range(3):
            session.send(f"event {n}")
        assert client.frames == [HELLO]  # nothing written during the turn
        await client.wait_for(lambda: len(client.frames) == 4)
        session.send("event 3")
        await client.wait_for(lambda: len(client.frames) == 5)
        assert client.writes[-2:] == [["event 0", "event 1", "event 2"], ["event 3"]]
        session.send("event 4")
        session.close(4011, "sentinel")  # sends what the turn queued first, at once
        assert client.writes[-1] == ["event 4"]
        closed = await closed_with(outcome)
    assert closed.code == 4011
    assert client.frames == [HELLO, *(f"event {n}" for n in range(5))]


async def test_without_the_servers_extension_coalesced_frames_go_one_by_one() -> None:
    clock, client = FakeClock(T0), FakeClient()
    session = await open_session(client, FakeTokens(user()), clock, coalesce=True)
    async with running(session, client):
        for n in range(3):
            session.send(f"event {n}")
        await client.wait_for(lambda: len(client.frames) == 4)
    assert client.writes[-3:] == [["event 0"], ["event 1"], ["event 2"]]
