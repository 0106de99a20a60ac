"""``SmppCarrier``: an SmsCarrier over one SMPP 3.4 transceiver bind, in asyncio.

A thin transport around ``EsmeSession`` (which holds every protocol rule); one ``SmppLink``
(link.py) per TCP connection; deliver_sm goes to ``InboundHandler`` (inbound.py).

    start() ─▶ _run: connect ─▶ bind ─▶ serve (read loop + timer loop) ─▶ link lost
                 ▲                                                          │
                 └──── sleep: reconnect_min·2ⁿ, capped at reconnect_max, ±50% jitter

    submit(msg) ─▶ encode_message ─▶ per segment, in order: wait for a window slot ─▶
                   submit_sm ─▶ await its resp ─▶ next segment ─▶ SubmitResult(ids)
    deliver_sm  ─▶ InboundHandler (receipt or message ─▶ the sink) ─▶ deliver_sm_resp

Segments of one message go one after the other, so a refused segment stops the rest;
concurrent ``submit`` calls share the window. ESME_RTHROTTLED / ESME_RMSGQFUL pause the
carrier (``is_up`` False) for ``throttle_pause_seconds`` so the sender parks in
``wait_up`` instead of hammering a busy SMSC.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time

from switchboard.core.clock import Clock
from switchboard.core.tasks import TaskScope
from switchboard.gateways.smpp.addressing import smpp_address
from switchboard.gateways.smpp.commands import DeliverSm, Status, SubmitSm, status_name
from switchboard.gateways.smpp.inbound import InboundHandler
from switchboard.gateways.smpp.link import SmppLink
from switchboard.gateways.smpp.session import (
    Bound,
    Closed,
    DeliverReceived,
    EsmeSession,
    SessionEvent,
    SessionState,
    SubmitResponse,
    reconnect_delay,
)
from switchboard.gateways.smpp.settings import SmppSettings
from switchboard.gateways.smpp.text import esm_class_of
from switchboard.sms.carrier import (
    CarrierRejectedError,
    CarrierSink,
    CarrierUnavailableError,
    OutboundSms,
    SubmitResult,
)
from switchboard.sms.encoding import EncodedMessage, encode_message

logger = logging.getLogger(__name__)

# Worth retrying later on the same or a new bind; every other error status is final.
_BUSY = frozenset({Status.RTHROTTLED, Status.RMSGQFUL})
_TRANSIENT = _BUSY | {Status.RSYSERR, Status.RINVBNDSTS}


class SmppCarrier:
    def __init__(
        self,
        name: str,
        settings: SmppSettings,
        *,
        clock: Clock,
        rng: random.Random | None = None,
    ) -> None:
        self.name = name
        self._settings = settings
        self._clock = clock
        self._rng = rng or random.Random()
        self._reference = self._rng.randrange(256)
        self._inbound_handler = InboundHandler(name, self._clock)
        self._sink: CarrierSink | None = None
        self._link: SmppLink | None = None
        self._up = asyncio.Event()
        self._paused_until = 0.0
        self._pause_timer: asyncio.TimerHandle | None = None
        self._stopping = asyncio.Event()
        # The link's run loop and one task per deliver_sm being handed to the sink.
        self._tasks = TaskScope(f"smpp:{name}")
        self._task: asyncio.Task[None] | None = None
        self._inbound: set[asyncio.Task[None]] = set()
        self._submitting = 0  # submit() calls under way (a message's segments go in turn)
        self._no_submits = asyncio.Event()
        self._no_submits.set()

    # ── SmsCarrier ──────────────────────────────────────────────────────────

    async def start(self, sink: CarrierSink) -> None:
        self._sink = sink
        await self._tasks.start()
        self._task = self._tasks.spawn(self._run(), name=f"smpp:{self.name}")

    async def stop(self) -> None:
        """Finish what is in flight, unbind, close; bounded by submit_timeout_seconds."""
        self._stopping.set()
        self._refresh_up()
        link, limit = self._link, self._settings.submit_timeout_seconds
        if link is not None and not link.closed:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(limit):
                    if self._inbound:
                        await asyncio.wait(set(self._inbound))
                    await self._no_submits.wait()  # whole messages: no half-sent segments
            self._dispatch(link, link.session.unbind(self._now()))
            await link.flush()
        if self._task is not None:
            await asyncio.wait({self._task}, timeout=limit)  # the link winds down by itself
        if self._pause_timer is not None:
            self._pause_timer.cancel()
        # Past the limit, whatever still runs is cancelled. A sink that is still busy: its
        # deliver_sm stays unanswered and the SMSC will redeliver it to the next bind.
        await self._tasks.stop()

    @property
    def is_up(self) -> bool:
        link = self._link
        return (
            link is not None
            and link.bound
            and not link.closed
            and not self._stopping.is_set()
            and self._now() >= self._paused_until
        )

    async def wait_up(self) -> None:
        await self._up.wait()

    async def submit(self, message: OutboundSms) -> SubmitResult:
        link = self._link
        if link is None or not self.is_up:
            raise CarrierUnavailableError(f"SMPP carrier {self.name} is not bound")
        try:
            encoded = encode_message(message.text, self._next_reference())
        except ValueError as exc:
            raise CarrierRejectedError(str(exc)) from exc
        self._submitting += 1
        self._no_submits.clear()
        try:
            return await self._submit_segments(link, message, encoded)
        finally:
            self._submitting -= 1
            if not self._submitting:
                self._no_submits.set()

    async def _submit_segments(
        self, link: SmppLink, message: OutboundSms, encoded: EncodedMessage
    ) -> SubmitResult:
        s = self._settings
        source, source_ton, source_npi = smpp_address(message.sender, s.source_ton, s.source_npi)
        dest, dest_ton, dest_npi = smpp_address(message.recipient, s.dest_ton, s.dest_npi)
        ids: list[str] = []
        for segment in encoded.segments:
            pdu = SubmitSm(
                0,
                source_addr=source,
                destination_addr=dest,
                short_message=segment,
                service_type=s.service_type,
                source_addr_ton=source_ton,
                source_addr_npi=source_npi,
                dest_addr_ton=dest_ton,
                dest_addr_npi=dest_npi,
                esm_class=esm_class_of(encoded),
                registered_delivery=1 if message.want_report else 0,
                data_coding=encoded.data_coding,
            )
            ids.append(await self._submit_segment(link, pdu, message.message_id))
        return SubmitResult(tuple(ids), len(encoded.segments))

    # ── submit ──────────────────────────────────────────────────────────────

    async def _submit_segment(self, link: SmppLink, pdu: SubmitSm, message_id: str) -> str:
        await link.window_slot()
        if link.session.state is not SessionState.BOUND:
            raise CarrierUnavailableError(f"SMPP link {self.name} dropped or unbinding")
        # No await between the check and the send: the slot cannot be taken by another.
        sequence = link.session.submit(pdu, self._now())
        future: asyncio.Future[SubmitResponse] = asyncio.get_running_loop().create_future()
        link.pending[sequence] = future
        await link.flush()
        response = await future
        if response.command_status == Status.ROK:
            return response.message_id
        status = status_name(response.command_status)
        detail = f"{self.name}: submit_sm of {message_id} answered {status}"
        if response.command_status in _BUSY:
            self._pause()
        if response.command_status in _TRANSIENT:
            raise CarrierUnavailableError(detail)
        raise CarrierRejectedError(detail)

    def _next_reference(self) -> int:
        self._reference = (self._reference + 1) % 256
        return self._reference

    def _pause(self) -> None:
        self._paused_until = self._now() + self._settings.throttle_pause_seconds
        self._refresh_up()
        if self._pause_timer is not None:
            self._pause_timer.cancel()
        self._pause_timer = asyncio.get_running_loop().call_later(
            self._settings.throttle_pause_seconds, self._refresh_up
        )

    def _refresh_up(self) -> None:
        if self.is_up:
            self._up.set()
        else:
            self._up.clear()

    # ── the connection ──────────────────────────────────────────────────────

    async def _run(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            bound = False
            try:
                bound = await self._connect_and_serve()
            except (OSError, TimeoutError) as exc:
                logger.warning("smpp %s: cannot connect: %s", self.name, exc)
            except Exception:  # a bug must not end reconnection for good
                logger.exception("smpp %s: link failed", self.name)
            if self._stopping.is_set():
                return
            failures = 0 if bound else failures + 1
            s = self._settings
            delay = reconnect_delay(
                failures, s.reconnect_min_seconds, s.reconnect_max_seconds, self._rng.random()
            )
            logger.info("smpp %s: reconnecting in %.2fs", self.name, delay)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._stopping.wait()

    async def _connect_and_serve(self) -> bool:
        s = self._settings
        async with asyncio.timeout(s.connect_timeout_seconds):
            reader, writer = await asyncio.open_connection(s.host, s.port)
        if self._stopping.is_set():  # stop() came while we were connecting
            writer.close()
            return False
        session = EsmeSession(
            system_id=s.system_id,
            password=s.password,
            system_type=s.system_type,
            window=s.window,
            enquire_link_seconds=s.enquire_link_seconds,
            response_timeout_seconds=s.submit_timeout_seconds,
        )
        link = self._link = SmppLink(session, writer)
        try:
            session.bind(self._now())
            await link.flush()
            async with asyncio.TaskGroup() as tasks:
                tasks.create_task(self._read(link, reader))
                tasks.create_task(self._tick(link))
        finally:
            self._link_ended(link, "connection closed")
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
        return link.bound

    async def _read(self, link: SmppLink, reader: asyncio.StreamReader) -> None:
        while not link.closed:
            try:
                data = await reader.read(65536)
            except OSError:
                data = b""
            if not data:
                self._link_ended(link, "connection closed by the SMSC")
                link.wake.set()
                return
            self._dispatch(link, link.session.receive(data, self._now()))
            await link.flush()

    async def _tick(self, link: SmppLink) -> None:
        while not link.closed:
            link.wake.clear()
            deadline = link.session.next_timer()
            delay = None if deadline is None else max(0.0, deadline - self._now())
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await link.wake.wait()
            self._dispatch(link, link.session.handle_timer(self._now()))
            await link.flush()

    def _dispatch(self, link: SmppLink, events: list[SessionEvent]) -> None:
        for event in events:
            match event:
                case Bound(system_id):
                    link.bound = True
                    logger.info("smpp %s: bound to %s", self.name, system_id or "the SMSC")
                case SubmitResponse(sequence, _, _):
                    future = link.pending.pop(sequence, None)
                    if future is not None and not future.done():
                        future.set_result(event)
                    link.wake_waiters(1)
                case DeliverReceived(pdu):
                    task = self._tasks.spawn(self._deliver(link, pdu), name="deliver_sm")
                    self._inbound.add(task)
                    task.add_done_callback(self._inbound.discard)
                case Closed(reason, detail, _, status):
                    extra = "" if status is None else f" ({status_name(status)})"
                    logger.warning("smpp %s: %s: %s%s", self.name, reason.value, detail, extra)
                    self._link_ended(link, f"link closed: {reason.value}")
        self._refresh_up()

    def _link_ended(self, link: SmppLink, why: str) -> None:
        """Fail what waits on this link (submits go back to the queue); idempotent."""
        link.session.connection_lost(why)
        for future in link.pending.values():
            if not future.done():
                future.set_exception(CarrierUnavailableError(f"SMPP {self.name}: {why}"))
        link.pending.clear()
        link.wake_waiters()
        link.wake.set()
        self._refresh_up()

    # ── deliver_sm ──────────────────────────────────────────────────────────

    async def _deliver(self, link: SmppLink, pdu: DeliverSm) -> None:
        assert self._sink is not None  # start() set it before any link existed
        try:
            status = await self._inbound_handler.consume(self._sink, pdu)
            link.session.respond_deliver(pdu.sequence_number, status, self._now())
            await link.flush()
        except Exception:  # unanswered, the SMSC redelivers it; the link itself goes on
            logger.exception("smpp %s: handling a deliver_sm failed", self.name)

    def _now(self) -> float:
        return time.monotonic()
