"""``CallClient`` → ``CallAgent``: a registered device that places and receives calls.

    agent = await CallClient("https://host:8443", ssl="ca.pem").create_call_agent(token)
    call = await agent.start_call(bob_id)               # Call: Connecting → Ringing → Connected
    incoming = await agent.next_incoming_call()         # on bob's agent: Ringing
    await incoming.accept(audio=True)                   # media: aiortc, a tone out, a probe in
    await call.hang_up(); await agent.dispose()

One reader task (owned by the agent) runs the connection loop:

    token ─▶ connect wss://…/calling/signaling (subprotocol switchboard.calling.v1)
       ▲       ─▶ register {deviceId, lastSeq} ─▶ frames ─▶ SignalingSession ─▶ calls
       │ dropped / server silent / any other close: backoff, reconnect, resume the same
       │ device (calls go on; those the server forgot while away end 496/7)
       └─ 4001: new token (if callable) · 4003/4006/4009/4011: stop, calls end here
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl as ssl_module
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from switchboard.calling.models import CallState, EndReason
from switchboard.calling.signaling import frames, protocol, requests
from switchboard.calling.signaling.protocol import CLOSE_UNAUTHORIZED, PROTOCOL
from switchboard.client.backoff import Backoff
from switchboard.client.calling.call import Call, CallDirection, RemoteParticipant
from switchboard.client.calling.session import (
    Ack,
    Event,
    Registered,
    SignalingClosed,
    SignalingSession,
    signaling_url,
)
from switchboard.client.push import PushRegistrations, PushTarget
from switchboard.client.tokens import TokenSource, token_of

log = logging.getLogger(__name__)

# Close codes that end the agent for good (docs/calling-protocol.md "Close codes"); every
# other one (a drop, a proxy's 1014, the server restarting) reconnects: the app still wants
# the agent, so no outage may end it (4001 reconnects with a fresh token if it can have one).
_FATAL = {4003, 4006, 4009, 4011}
SIGNALING_LOST = EndReason(496, 7, "The signaling connection ended for good.")
FORGOTTEN = EndReason(
    496, 7, "Call ended as client lost network connection and could not reconnect in time."
)


class CallClient:
    def __init__(
        self,
        endpoint: str,
        *,
        ssl: ssl_module.SSLContext | str | None = None,
        tone_hz: float = 440.0,
        display_name: str | None = None,
    ) -> None:
        signaling_url(endpoint)  # fail fast on a malformed endpoint
        self._endpoint = endpoint
        self._ssl = ssl_module.create_default_context(cafile=ssl) if isinstance(ssl, str) else ssl
        self._tone_hz = tone_hz
        self._display_name = display_name

    async def create_call_agent(
        self,
        token: TokenSource,
        *,
        backoff: Backoff | None = None,
        tone_hz: float | None = None,
        display_name: str | None = None,
    ) -> CallAgent:
        """Register a device for the token's user (it needs the ``voip`` scope). Its calls
        show ``display_name`` (this one, else the client's) to the other participants."""
        agent = CallAgent(
            self._endpoint,
            token,
            ssl=self._ssl,
            backoff=backoff,
            tone_hz=tone_hz or self._tone_hz,
            display_name=display_name or self._display_name,
        )
        await agent.start()
        return agent


class CallAgent:
    def __init__(
        self,
        endpoint: str,
        token: TokenSource,
        *,
        ssl: ssl_module.SSLContext | None,
        backoff: Backoff | None,
        tone_hz: float,
        display_name: str | None = None,
    ) -> None:
        self._url = signaling_url(endpoint)
        self._push = PushRegistrations(endpoint, token, ssl=ssl)
        self.display_name = display_name
        self._token_source = token
        self._ssl = ssl
        self._backoff = backoff or Backoff()
        self.tone_hz = tone_hz
        self.session = SignalingSession()
        self.ice_servers: list[protocol.IceServer] = []
        self.calls: dict[str, Call] = {}
        self.connections = 0  # sockets opened so far
        self.registrations = 0  # times the server accepted the device (1 + reconnections)
        self.registered = asyncio.Event()
        self._incoming: asyncio.Queue[Call] = asyncio.Queue()
        self._acks: dict[
            str, tuple[asyncio.Future[frames.Ack], Callable[[frames.Ack], None] | None]
        ] = {}
        self._connection: ClientConnection | None = None
        self._runner: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._disposing = False

    @property
    def device_id(self) -> str | None:
        return self.session.device_id

    @property
    def user_id(self) -> str | None:
        return self.session.user_id

    # ---- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        self._runner = asyncio.create_task(self._run(), name="CallAgent reader")
        registered = asyncio.create_task(self.registered.wait())
        await asyncio.wait({self._runner, registered}, return_when="FIRST_COMPLETED")
        if not self.registered.is_set():
            registered.cancel()
            self._runner.result()  # raises why it ended
            raise SignalingClosed(1000, "the agent stopped before registering")

    async def dispose(self) -> None:
        """Hang up, unregister the device, and stop."""
        live = [c for c in self.calls.values() if c.state is not CallState.DISCONNECTED]
        await asyncio.gather(*(self._hang_up(call) for call in live))
        # From here on nothing answers a request: a media step that would still send one
        # (an answer to a renegotiation offer that crossed the hang-up) fails at once
        # instead of waiting for an ack that can no longer come.
        self._disposing = True
        if self._connection is not None:
            with contextlib.suppress(Exception):
                await self._connection.send(self.session.unregister())
        if self._runner is not None:
            self._runner.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._runner
        # Nothing will answer a request any more: a media step waiting for an ack (say, the
        # answer to a renegotiation that crossed our hang-up) must fail now, so the call's
        # media closes cleanly instead of being cancelled mid-close.
        closed = SignalingClosed(1000, "the call agent was disposed")
        for future, _ in self._acks.values():
            if not future.done():
                future.set_exception(closed)
        self._acks.clear()
        self._end_calls(SIGNALING_LOST)
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                async with asyncio.timeout(2):
                    await task
        for task in list(self._tasks):
            task.cancel()

    @staticmethod
    async def _hang_up(call: Call) -> None:
        with contextlib.suppress(Exception):
            async with asyncio.timeout(2):  # a server that stopped answering
                await call.hang_up()

    async def wait_registered(self, times: int = 1) -> None:
        """Until the device has registered ``times`` times (2: after one reconnection)."""
        while self.registrations < times:
            self.registered.clear()
            await self.registered.wait()

    @property
    def closed(self) -> BaseException | None:
        """Why the agent stopped for good (SignalingClosed), or None while it runs."""
        if self._runner is None or not self._runner.done() or self._runner.cancelled():
            return None
        return self._runner.exception()

    async def wait_closed(self) -> BaseException | None:
        if self._runner is not None:
            with contextlib.suppress(BaseException):
                await asyncio.shield(self._runner)
        return self.closed

    # ---- calls ---------------------------------------------------------------------------

    async def start_call(
        self,
        target: str,
        *,
        audio: bool = True,
        video: bool = False,
        alternate_caller_id: str | None = None,
    ) -> Call:
        """Call a user (``8:acs:…``) or a phone number (``+1…``, E.164; ACS's
        ``alternateCallerId`` is then the number the phone sees: one of yours)."""
        phone = target.startswith("+")
        call = Call(self, CallDirection.OUTGOING, state=CallState.CONNECTING, conference=phone)
        await call.start(target, audio=audio, video=video, alternate_caller_id=alternate_caller_id)
        return call

    async def join(
        self,
        *,
        group_id: str | None = None,
        room_id: str | None = None,
        audio: bool = True,
        video: bool = False,
    ) -> Call:
        """Join a group call (any GUID) or a Room's call; media goes through the SFU."""
        if (group_id is None) == (room_id is None):
            raise ValueError("join takes exactly one of group_id or room_id")
        call = Call(self, CallDirection.OUTGOING, state=CallState.CONNECTING)
        await call.join(group_id=group_id, room_id=room_id, audio=audio, video=video)
        return call

    async def next_incoming_call(self) -> Call:
        """The next call ringing on this device (bound the wait with ``asyncio.timeout``)."""
        return await self._incoming.get()

    # ---- push notifications (docs/push.md) -------------------------------------------------

    async def register_push_notification(self, target: PushTarget) -> None:
        """Have this device pushed when its socket is gone (ACS's registerPushNotification)."""
        device_id = self.device_id
        assert device_id is not None  # registered before start() returned
        await self._push.register(device_id, target)

    async def unregister_push_notification(self) -> None:
        device_id = self.device_id
        assert device_id is not None
        await self._push.unregister(device_id)

    async def handle_push_notification(self, payload: Mapping[str, Any]) -> None:
        """A push this app received: an incoming call rings here (``next_incoming_call``)
        if it still rings; a cancel ends a call still ringing here."""
        call_id = str(payload.get("callId", ""))
        if payload.get("type") == "incomingCall":
            if call_id in self.calls:
                return  # this device knows it already
            await self.request(
                requests.PushReceived(call_id=call_id, owner=str(payload.get("owner", "")))
            )
        elif payload.get("type") == "callCancelled":
            call = self.calls.get(call_id)
            if call is not None and call.state is CallState.RINGING:
                call.ended(EndReason(487, 0, "The call was cancelled (push)."))

    # ---- AgentPort -----------------------------------------------------------------------

    async def request(
        self, frame: requests.Request, on_ack: Callable[[frames.Ack], None] | None = None
    ) -> frames.Ack:
        """Send a request and wait for its ack; a nack raises RequestFailed. ``on_ack``
        runs in the reader as the ack arrives, before any later frame is handled."""
        if self._disposing:
            raise SignalingClosed(1000, "the call agent was disposed")
        request_id = self.session.request(frame)
        future: asyncio.Future[frames.Ack] = asyncio.get_running_loop().create_future()
        self._acks[request_id] = (future, on_ack)
        await self._flush()
        return await future

    def spawn(self, work: Awaitable[None], name: str) -> None:
        task = asyncio.ensure_future(work)
        task.set_name(name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def track(self, call: Call) -> None:
        if call.id is not None:
            self.calls[call.id] = call

    def untrack(self, call: Call) -> None:
        """An ended call leaves ``calls`` (as ACS's ``CallAgent.calls``)."""
        if call.id is not None and self.calls.get(call.id) is call:
            del self.calls[call.id]

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("calling task %s failed", task.get_name(), exc_info=task.exception())

    # ---- the reader ----------------------------------------------------------------------

    async def _run(self) -> None:
        token = await self._token()
        try:
            while True:
                try:
                    connection = await connect(
                        self._url,
                        subprotocols=[PROTOCOL],  # type: ignore[list-item]  # a plain str is fine
                        additional_headers={"Authorization": f"Bearer {token}"},
                        ssl=self._ssl if self._url.startswith("wss:") else None,
                        ping_interval=None,  # the protocol has its own heartbeat
                        close_timeout=1.0,
                    )
                except InvalidStatus as exc:
                    status = exc.response.status_code
                    refreshable = not isinstance(self._token_source, str)
                    if status == 401 and refreshable and self.registrations:
                        token = await self._fresh_token()  # expired while away
                    elif 400 <= status < 500 and status not in (408, 429):
                        if not self.registrations or status == 403:
                            refused = "the server refused the handshake"
                            raise SignalingClosed(status, refused) from exc
                        # Registered before: a proxy's answer during an outage, not a verdict.
                        log.warning("calling: the handshake got %s; retrying", status)
                    await asyncio.sleep(self._backoff.next_delay())
                    continue
                except ssl_module.SSLCertVerificationError:
                    raise
                except (OSError, TimeoutError, InvalidHandshake) as exc:
                    log.info("calling: cannot connect (%r); retrying", exc)
                    await asyncio.sleep(self._backoff.next_delay())
                    continue
                code, reason = await self._serve(connection)
                if code == CLOSE_UNAUTHORIZED and not isinstance(self._token_source, str):
                    token = await self._fresh_token()
                elif code in _FATAL or code == CLOSE_UNAUTHORIZED:
                    raise SignalingClosed(code, reason)
                log.info("calling: connection ended (%s %s); reconnecting", code, reason)
                await asyncio.sleep(self._backoff.next_delay())
        except SignalingClosed as closed:
            self._end_calls(EndReason(closed.code, 0, closed.reason))
            raise

    async def _serve(self, connection: ClientConnection) -> tuple[int, str]:
        session = self.session
        loop = asyncio.get_running_loop()
        self.connections += 1
        session.connection_made(loop.time())
        self._connection = connection
        try:
            await self._flush()
            while True:
                try:
                    async with asyncio.timeout_at(session.next_timer()):
                        text = await connection.recv()
                except TimeoutError:
                    log.info("calling: the server went silent; reconnecting")
                    return 1006, "server silent"
                for event in session.receive(text, loop.time()):
                    self._on_event(event)
                await self._flush()
        except ConnectionClosed as exc:
            received = exc.rcvd
            return (received.code, received.reason) if received else (1006, "dropped")
        finally:
            self._connection = None
            self.registered.clear()
            session.connection_lost()
            with contextlib.suppress(Exception):
                await connection.close()

    async def _flush(self) -> None:
        connection = self._connection
        if connection is None:
            return  # they go out after the next register
        for text in self.session.data_to_send():
            with contextlib.suppress(ConnectionClosed):
                await connection.send(text)

    def _on_event(self, event: Event) -> None:
        if isinstance(event, Registered):
            self.ice_servers = event.ice_servers
            self._backoff.reset()
            if self.registrations:
                # The server forgot the device while it was away (past the reconnect grace):
                # the calls it no longer lists are over.
                for call_id, call in list(self.calls.items()):
                    if call_id not in event.calls:
                        call.ended(FORGOTTEN)
            self.registrations += 1
            self.registered.set()
        elif isinstance(event, Ack):
            future, on_ack = self._acks.pop(event.id, (None, None))
            if future is None or future.done():
                return
            if event.ok and event.result is not None:
                if on_ack is not None:
                    on_ack(event.result)
                future.set_result(event.result)
            else:
                future.set_exception(event.error or RuntimeError("request failed"))
        else:
            self._on_call_frame(event)

    def _on_call_frame(self, frame: frames.CallFrames) -> None:
        call = self.calls.get(frame.call_id)
        if call is None and isinstance(frame, frames.IncomingCall):
            call = Call(
                self,
                CallDirection.INCOMING,
                call_id=frame.call_id,
                state=CallState.RINGING,
                caller=RemoteParticipant.from_info(frame.caller),
                offer=frame.offer,
                remote_video=frame.media.video,
                conference=bool(frame.conference),
            )
            call.participant_id = frame.participant_id
            self.calls[frame.call_id] = call
            self._incoming.put_nowait(call)
            return
        if call is None:
            return  # a call this device no longer tracks
        call.on_frame(frame)

    def _end_calls(self, reason: EndReason) -> None:
        for call in list(self.calls.values()):
            call.ended(reason)

    async def _fresh_token(self) -> str:
        """A new token once registered: the app still wants the agent, so a token source that
        fails (its server down in the same outage) is asked again after a backoff, as long as
        it takes."""
        while True:
            try:
                return await self._token()
            except Exception as exc:  # the app's callable: any failure is retried
                log.warning("calling: the token source failed (%r); retrying", exc)
                await asyncio.sleep(self._backoff.next_delay())

    async def _token(self) -> str:
        return await token_of(self._token_source)
