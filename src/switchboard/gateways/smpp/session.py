"""The ESME side of one SMPP 3.4 connection, as a sans-I/O state machine.

No sockets and no clock of its own: the caller feeds received bytes and the time
(``receive(data, now)``, ``handle_timer(now)``), sends what ``data_to_send()`` returns and
wakes it at ``next_timer()``.

    CONNECTED ─bind()─▶ BINDING ─bind_transceiver_resp OK─▶ BOUND ─unbind()─▶ UNBINDING
        │                  │ error / timeout                  │                   │
        └──────────────────┴──────────────▶ CLOSED ◀──────────┴───────────────────┘
                                  (peer unbind, a request that timed out,
                                   a broken byte stream, our unbind answered)

While BOUND:
* ``submit`` sends submit_sm with the next sequence number, at most ``window`` of them
  unanswered; ``SubmitResponse`` reports each resp (or generic_nack).
* a deliver_sm becomes ``DeliverReceived``; it is answered only when the caller calls
  ``respond_deliver`` (after the sink committed it), never by the session itself.
* enquire_link goes out after ``enquire_link_seconds`` without sending anything; an
  enquire_link from the SMSC is answered at once.
* any request unanswered after ``response_timeout_seconds`` closes the session: either the
  SMSC is stuck or the link is dead, and a fresh bind is the cure for both.

``Closed`` lists the submits left unanswered: the caller must treat them as not sent (the
SMSC may or may not have them; SMPP 3.4 has no way to ask).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import Enum

from switchboard.gateways.smpp.pdu import (
    MAX_SEQUENCE,
    BindTransceiver,
    BindTransceiverResp,
    DeliverSm,
    DeliverSmResp,
    EnquireLink,
    EnquireLinkResp,
    GenericNack,
    Pdu,
    PduFramer,
    SmppParseError,
    Status,
    SubmitSm,
    SubmitSmResp,
    Unbind,
    UnbindResp,
    UnknownPdu,
    decode,
    encode,
    is_response,
)


class SessionState(Enum):
    CONNECTED = "connected"
    BINDING = "binding"
    BOUND = "bound"
    UNBINDING = "unbinding"
    CLOSED = "closed"


class CloseReason(Enum):
    BIND_REJECTED = "bind rejected"
    UNBOUND = "unbound"  # we asked, the SMSC answered (or did not in time)
    PEER_UNBOUND = "the SMSC unbound"
    TIMEOUT = "no response in time"
    PROTOCOL_ERROR = "broken byte stream"
    CONNECTION_LOST = "connection lost"


class SessionStateError(RuntimeError):
    """A call that the session's state does not allow (a bug of the caller, or a race the
    caller turns into "link unavailable")."""


@dataclass(frozen=True, slots=True)
class Bound:
    system_id: str  # the SMSC's


@dataclass(frozen=True, slots=True)
class SubmitResponse:
    sequence_number: int
    command_status: int
    message_id: str


@dataclass(frozen=True, slots=True)
class DeliverReceived:
    pdu: DeliverSm


@dataclass(frozen=True, slots=True)
class Closed:
    reason: CloseReason
    detail: str
    abandoned: tuple[int, ...]  # sequence numbers of submit_sm left without a resp
    command_status: int | None = None


SessionEvent = Bound | SubmitResponse | DeliverReceived | Closed


def reconnect_delay(failures: int, minimum: float, maximum: float, jitter: float) -> float:
    """Seconds to wait before the next connect: ``minimum·2^failures`` capped at ``maximum``,
    then scaled into [50%, 100%] by ``jitter`` (0–1) so that many ESMEs cut off by one
    outage do not all knock at the same instant."""
    delay: float = min(maximum, minimum * 2.0 ** min(failures, 32))
    return delay * (0.5 + jitter / 2)


@dataclass(frozen=True, slots=True)
class _Request:
    pdu: BindTransceiver | SubmitSm | EnquireLink | Unbind
    deadline: float


class EsmeSession:
    def __init__(
        self,
        *,
        system_id: str,
        password: str,
        system_type: str = "",
        window: int = 10,
        enquire_link_seconds: float = 30.0,
        response_timeout_seconds: float = 30.0,
    ) -> None:
        if window < 1:
            raise ValueError("window must be at least 1")
        self._bind_pdu = BindTransceiver(0, system_id, password, system_type)
        self._window = window
        self._enquire_after = enquire_link_seconds
        self._timeout = response_timeout_seconds
        self.state = SessionState.CONNECTED
        self._framer = PduFramer()
        self._out = bytearray()
        self._next_sequence = 1
        self._requests: dict[int, _Request] = {}
        self._unanswered_delivers: set[int] = set()
        self._last_sent = 0.0

    # ── what the caller asks ────────────────────────────────────────────────

    def bind(self, now: float) -> None:
        if self.state is not SessionState.CONNECTED:
            raise SessionStateError(f"bind while {self.state.value}")
        self.state = SessionState.BINDING
        self._request(replace(self._bind_pdu, sequence_number=self._sequence()), now)

    def submit(self, pdu: SubmitSm, now: float) -> int:
        """Send ``pdu`` (its sequence_number is replaced); returns the sequence number."""
        if self.state is not SessionState.BOUND:
            raise SessionStateError(f"submit while {self.state.value}")
        if self.window_free <= 0:
            raise SessionStateError("window full")
        sequence = self._sequence()
        self._request(replace(pdu, sequence_number=sequence), now)
        return sequence

    def respond_deliver(self, sequence_number: int, status: int, now: float) -> None:
        """Answer a deliver_sm; a no-op once the session closed (the SMSC will redeliver)."""
        if sequence_number in self._unanswered_delivers and self.state is not SessionState.CLOSED:
            self._unanswered_delivers.discard(sequence_number)
            self._send(DeliverSmResp(sequence_number, status), now)

    def unbind(self, now: float) -> list[SessionEvent]:
        if self.state is SessionState.BOUND:
            self.state = SessionState.UNBINDING
            self._request(Unbind(self._sequence()), now)
            return []
        if self.state is SessionState.CLOSED:
            return []
        return [self._close(CloseReason.UNBOUND, "unbound before the bind completed")]

    @property
    def closed(self) -> bool:
        return self.state is SessionState.CLOSED

    def connection_lost(self, detail: str) -> Closed | None:
        """The transport ended (EOF, reset): close at once; None if already closed."""
        if self.state is SessionState.CLOSED:
            return None
        return self._close(CloseReason.CONNECTION_LOST, detail)

    @property
    def window_free(self) -> int:
        in_flight = sum(isinstance(r.pdu, SubmitSm) for r in self._requests.values())
        return self._window - in_flight

    def data_to_send(self) -> bytes:
        data = bytes(self._out)
        self._out.clear()
        return data

    def next_timer(self) -> float | None:
        if self.state is SessionState.CLOSED:
            return None
        deadlines = [r.deadline for r in self._requests.values()]
        if self.state is SessionState.BOUND and not self._enquiring():
            deadlines.append(self._last_sent + self._enquire_after)
        return min(deadlines, default=None)

    def handle_timer(self, now: float) -> list[SessionEvent]:
        if self.state is SessionState.CLOSED:
            return []
        late = [r for r in self._requests.values() if r.deadline <= now]
        if late:
            if self.state is SessionState.UNBINDING:
                return [self._close(CloseReason.UNBOUND, "no unbind_resp in time")]
            name = type(late[0].pdu).__name__
            return [self._close(CloseReason.TIMEOUT, f"no response to {name} in time")]
        due = self._last_sent + self._enquire_after <= now
        if self.state is SessionState.BOUND and due and not self._enquiring():
            self._request(EnquireLink(self._sequence()), now)
        return []

    # ── what the SMSC sends ─────────────────────────────────────────────────

    def receive(self, data: bytes, now: float) -> list[SessionEvent]:
        if self.state is SessionState.CLOSED:
            return []
        try:
            frames = self._framer.feed(data)
        except SmppParseError as exc:
            return [self._close(CloseReason.PROTOCOL_ERROR, str(exc))]
        events: list[SessionEvent] = []
        for frame in frames:
            events += self._frame(frame, now)
            if self.closed:
                break
        return events

    def _frame(self, frame: bytes, now: float) -> list[SessionEvent]:
        try:
            pdu = decode(frame)
        except SmppParseError as exc:
            command_id, sequence = exc.command_id, exc.sequence_number
            if command_id is not None and sequence is not None and not is_response(command_id):
                self._send(GenericNack(sequence, exc.status), now)
            # A malformed resp is dropped: its request times out and the link is renewed.
            return []
        return self._pdu(pdu, now)

    def _pdu(self, pdu: Pdu, now: float) -> list[SessionEvent]:
        match pdu:
            case BindTransceiverResp(seq, status, system_id, _):
                if self._answered(seq, BindTransceiver) is None:
                    return []
                if status != Status.ROK:
                    return [self._close(CloseReason.BIND_REJECTED, "bind refused", status)]
                self.state = SessionState.BOUND
                return [Bound(system_id)]
            case SubmitSmResp(seq, status, message_id):
                if self._answered(seq, SubmitSm) is None:
                    return []
                return [SubmitResponse(seq, status, message_id)]
            case GenericNack(seq, status):
                return self._nacked(seq, status)
            case EnquireLinkResp(seq, _):
                self._answered(seq, EnquireLink)
                return []
            case EnquireLink(seq):
                self._send(EnquireLinkResp(seq), now)
                return []
            case DeliverSm():
                if self.state is not SessionState.BOUND:
                    self._send(DeliverSmResp(pdu.sequence_number, Status.RINVBNDSTS), now)
                    return []
                self._unanswered_delivers.add(pdu.sequence_number)
                return [DeliverReceived(pdu)]
            case Unbind(seq):
                self._send(UnbindResp(seq), now)
                return [self._close(CloseReason.PEER_UNBOUND, "unbind from the SMSC")]
            case UnbindResp(seq, _):
                if self._answered(seq, Unbind) is None:
                    return []
                return [self._close(CloseReason.UNBOUND, "unbind answered")]
            case UnknownPdu(command_id, _, seq, _):
                if not is_response(command_id):  # a command we do not handle
                    self._send(GenericNack(seq, Status.RINVCMDID), now)
                return []
            case BindTransceiver() | SubmitSm():  # requests an SMSC never sends to an ESME
                self._send(GenericNack(pdu.sequence_number, Status.RINVCMDID), now)
                return []
        return []  # DeliverSmResp: we never send deliver_sm

    def _nacked(self, seq: int, status: int) -> list[SessionEvent]:
        request = self._requests.pop(seq, None)
        if request is None:
            return []
        match request.pdu:
            case SubmitSm():
                return [SubmitResponse(seq, status, "")]
            case BindTransceiver():
                return [self._close(CloseReason.BIND_REJECTED, "bind nacked", status)]
            case Unbind():
                return [self._close(CloseReason.UNBOUND, "unbind nacked", status)]
        return []  # an SMSC that nacks enquire_link still answered: the link is alive

    # ── internals ───────────────────────────────────────────────────────────

    def _sequence(self) -> int:
        sequence = self._next_sequence
        self._next_sequence = 1 if sequence >= MAX_SEQUENCE else sequence + 1
        return sequence

    def _request(self, pdu: BindTransceiver | SubmitSm | EnquireLink | Unbind, now: float) -> None:
        self._requests[pdu.sequence_number] = _Request(pdu, now + self._timeout)
        self._send(pdu, now)

    def _send(self, pdu: Pdu, now: float) -> None:
        self._out += encode(pdu)
        self._last_sent = now

    def _answered(self, seq: int, kind: type) -> _Request | None:
        """Pop the request a resp answers, if it is ours and of the right kind."""
        request = self._requests.get(seq)
        if request is None or not isinstance(request.pdu, kind):
            return None
        return self._requests.pop(seq)

    def _enquiring(self) -> bool:
        return any(isinstance(r.pdu, EnquireLink) for r in self._requests.values())

    def _close(self, reason: CloseReason, detail: str, status: int | None = None) -> Closed:
        abandoned = tuple(s for s, r in self._requests.items() if isinstance(r.pdu, SubmitSm))
        self.state = SessionState.CLOSED
        self._requests.clear()
        self._unanswered_delivers.clear()
        return Closed(reason, detail, abandoned, status)
