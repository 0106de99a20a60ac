"""The ESME session state machine: no sockets, time passed in by hand."""

from __future__ import annotations

import struct

import pytest

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
    Status,
    SubmitSm,
    SubmitSmResp,
    Unbind,
    UnbindResp,
    decode,
    encode,
)
from switchboard.gateways.smpp.session import (
    Bound,
    Closed,
    CloseReason,
    DeliverReceived,
    EsmeSession,
    SessionState,
    SessionStateError,
    SubmitResponse,
    reconnect_delay,
)

MESSAGE = SubmitSm(0, "18005550100", "14255550123", b"hi")


def sent(session: EsmeSession) -> list[Pdu]:
    return [decode(f) for f in PduFramer().feed(session.data_to_send())]


def state_of(session: EsmeSession) -> SessionState:
    return session.state  # read through a call: mypy keeps narrowing a bare attribute


def bound_session(**options: float) -> EsmeSession:
    session = EsmeSession(
        system_id="esme",
        password="secret",
        window=int(options.pop("window", 3)),
        enquire_link_seconds=options.pop("enquire", 30.0),
        response_timeout_seconds=options.pop("timeout", 10.0),
    )
    session.bind(0.0)
    (bind,) = sent(session)
    assert session.receive(encode(BindTransceiverResp(bind.sequence_number, 0, "SMSC")), 0.0) == [
        Bound("SMSC")
    ]
    return session


def test_bind_sends_credentials_and_bound_follows_the_resp() -> None:
    session = EsmeSession(system_id="esme", password="secret", system_type="SB")
    session.bind(0.0)
    assert sent(session) == [BindTransceiver(1, "esme", "secret", "SB")]
    assert session.state is SessionState.BINDING
    assert session.receive(encode(BindTransceiverResp(1, 0, "SMSC")), 0.1) == [Bound("SMSC")]
    assert state_of(session) is SessionState.BOUND


def test_refused_bind_closes_with_the_status() -> None:
    session = EsmeSession(system_id="esme", password="wrong")
    session.bind(0.0)
    session.data_to_send()
    (event,) = session.receive(encode(BindTransceiverResp(1, Status.RINVPASWD)), 0.0)
    assert event == Closed(CloseReason.BIND_REJECTED, "bind refused", (), Status.RINVPASWD)
    assert session.state is SessionState.CLOSED


def test_submit_before_the_bind_completes_is_refused() -> None:
    session = EsmeSession(system_id="esme", password="secret")
    session.bind(0.0)
    with pytest.raises(SessionStateError):
        session.submit(MESSAGE, 0.0)


def test_window_caps_unanswered_submits_and_a_resp_frees_a_slot() -> None:
    session = bound_session(window=2)
    first = session.submit(MESSAGE, 1.0)
    second = session.submit(MESSAGE, 1.0)
    assert session.window_free == 0
    with pytest.raises(SessionStateError):
        session.submit(MESSAGE, 1.0)
    events = session.receive(encode(SubmitSmResp(second, 0, "m2")), 1.1)
    assert events == [SubmitResponse(second, 0, "m2")]
    assert session.window_free == 1
    assert [p.sequence_number for p in sent(session)] == [first, second]


def test_resps_are_matched_by_sequence_in_any_order() -> None:
    session = bound_session()
    a, b = session.submit(MESSAGE, 0.0), session.submit(MESSAGE, 0.0)
    data = encode(SubmitSmResp(b, 0, "B")) + encode(SubmitSmResp(a, Status.RINVDSTADR))
    assert session.receive(data, 0.0) == [
        SubmitResponse(b, 0, "B"),
        SubmitResponse(a, Status.RINVDSTADR, ""),
    ]


def test_resps_to_nothing_we_sent_are_ignored() -> None:
    session = bound_session()
    assert session.receive(encode(SubmitSmResp(999, 0, "x")), 0.0) == []
    assert session.receive(encode(UnbindResp(999)), 0.0) == []
    assert session.state is SessionState.BOUND


def test_generic_nack_answers_a_submit_with_its_status() -> None:
    session = bound_session()
    seq = session.submit(MESSAGE, 0.0)
    events = session.receive(encode(GenericNack(seq, Status.RTHROTTLED)), 0.0)
    assert events == [SubmitResponse(seq, Status.RTHROTTLED, "")]


def test_sequence_numbers_wrap_before_the_reserved_range() -> None:
    session = bound_session(window=5)
    session._next_sequence = MAX_SEQUENCE
    assert [session.submit(MESSAGE, 0.0) for _ in range(2)] == [MAX_SEQUENCE, 1]


def test_deliver_sm_is_answered_only_when_the_caller_says() -> None:
    session = bound_session()
    session.data_to_send()
    deliver = DeliverSm(7, "14255550123", "18005550100", b"hello")
    assert session.receive(encode(deliver), 0.0) == [DeliverReceived(deliver)]
    assert session.data_to_send() == b""
    session.respond_deliver(7, Status.RSYSERR, 0.0)
    assert sent(session) == [DeliverSmResp(7, Status.RSYSERR)]
    session.respond_deliver(7, Status.ROK, 0.0)  # answered once only
    assert session.data_to_send() == b""


def test_deliver_sm_before_bind_is_refused() -> None:
    session = EsmeSession(system_id="esme", password="secret")
    session.bind(0.0)
    session.data_to_send()
    assert session.receive(encode(DeliverSm(3, "1", "2")), 0.0) == []
    assert sent(session) == [DeliverSmResp(3, Status.RINVBNDSTS)]


def test_enquire_link_from_the_smsc_is_answered_at_once() -> None:
    session = bound_session()
    session.receive(encode(EnquireLink(55)), 0.0)
    assert sent(session) == [EnquireLinkResp(55)]


def test_enquire_link_goes_out_after_the_idle_interval_once() -> None:
    session = bound_session(enquire=30.0, timeout=10.0)
    session.data_to_send()
    assert session.next_timer() == 30.0
    assert session.handle_timer(29.9) == []
    assert session.data_to_send() == b""
    session.handle_timer(30.0)
    (enquire,) = sent(session)
    assert isinstance(enquire, EnquireLink)
    assert session.next_timer() == 40.0  # now only its response deadline
    session.handle_timer(35.0)
    assert session.data_to_send() == b""
    session.receive(encode(EnquireLinkResp(enquire.sequence_number)), 36.0)
    assert session.next_timer() == 60.0
    assert session.state is SessionState.BOUND


def test_traffic_we_send_postpones_the_enquire_link() -> None:
    session = bound_session(enquire=30.0)
    session.submit(MESSAGE, 20.0)
    session.receive(encode(SubmitSmResp(2, 0, "m")), 20.5)
    assert session.next_timer() == 50.0


def test_unanswered_enquire_link_closes_and_abandons_submits() -> None:
    session = bound_session(enquire=30.0, timeout=10.0)
    session.handle_timer(30.0)
    seq = session.submit(MESSAGE, 31.0)
    (event,) = session.handle_timer(40.0)
    assert isinstance(event, Closed)
    assert (event.reason, event.abandoned) == (CloseReason.TIMEOUT, (seq,))
    assert session.next_timer() is None


def test_unanswered_submit_closes_the_session() -> None:
    session = bound_session(timeout=10.0)
    seq = session.submit(MESSAGE, 5.0)
    assert session.next_timer() == 15.0
    (event,) = session.handle_timer(15.0)
    assert isinstance(event, Closed) and event.abandoned == (seq,)


def test_unbind_from_the_smsc_is_answered_and_closes() -> None:
    session = bound_session()
    session.data_to_send()
    (event,) = session.receive(encode(Unbind(9)), 0.0)
    assert isinstance(event, Closed) and event.reason is CloseReason.PEER_UNBOUND
    assert sent(session) == [UnbindResp(9)]


def test_our_unbind_closes_when_answered() -> None:
    session = bound_session()
    session.data_to_send()
    assert session.unbind(1.0) == []
    (unbind,) = sent(session)
    assert isinstance(unbind, Unbind)
    assert session.state is SessionState.UNBINDING
    (event,) = session.receive(encode(UnbindResp(unbind.sequence_number)), 1.1)
    assert isinstance(event, Closed) and event.reason is CloseReason.UNBOUND


def test_unknown_command_is_nacked() -> None:
    session = bound_session()
    session.data_to_send()
    session.receive(struct.pack(">IIII", 16, 0x00000103, 0, 12), 0.0)  # data_sm
    assert sent(session) == [GenericNack(12, Status.RINVCMDID)]


def test_malformed_request_is_nacked_with_its_sequence() -> None:
    session = bound_session()
    session.data_to_send()
    body = b"\x00\x01\x01123"  # a deliver_sm cut short
    session.receive(struct.pack(">IIII", 16 + len(body), 0x05, 0, 21) + body, 0.0)
    assert sent(session) == [GenericNack(21, Status.RINVCMDLEN)]
    assert session.state is SessionState.BOUND


def test_broken_framing_closes_the_session() -> None:
    session = bound_session()
    (event,) = session.receive(struct.pack(">I", 3) + b"garbage-garbage", 0.0)
    assert isinstance(event, Closed) and event.reason is CloseReason.PROTOCOL_ERROR


def test_lost_connection_abandons_submits_and_drops_late_answers() -> None:
    session = bound_session()
    session.receive(encode(DeliverSm(4, "1", "2")), 0.0)
    seq = session.submit(MESSAGE, 0.0)
    session.data_to_send()
    event = session.connection_lost("EOF")
    assert event is not None and event.abandoned == (seq,)
    assert session.connection_lost("EOF") is None
    session.respond_deliver(4, Status.ROK, 0.0)
    assert session.data_to_send() == b""
    assert session.receive(encode(SubmitSmResp(seq, 0, "late")), 0.0) == []


def test_reconnect_delay_doubles_up_to_the_cap_and_jitter_only_shortens_it() -> None:
    delays = [reconnect_delay(n, 1.0, 60.0, 1.0) for n in range(8)]
    assert delays == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0]
    assert reconnect_delay(3, 1.0, 60.0, 0.0) == 4.0
    assert reconnect_delay(10_000, 1.0, 60.0, 0.5) == 45.0
