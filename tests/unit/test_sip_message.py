"""The SIP message parser/serializer (gateways/sip/message.py), SDP offer/answer and digest."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from switchboard.gateways.sip import sdp
from switchboard.gateways.sip.digest import authorization, parse_challenge
from switchboard.gateways.sip.errors import SipParseError
from switchboard.gateways.sip.framing import SipStreamFramer
from switchboard.gateways.sip.message import (
    SipRequest,
    SipResponse,
    branch_of,
    cseq,
    host_port_of,
    parse_message,
    tag_of,
    uri_of,
    user_of,
)

INVITE = (
    b"INVITE sip:+14255550100@127.0.0.1:5060 SIP/2.0\r\n"
    b"v: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-1;rport\r\n"
    b'From: "Alice" <sip:+14255550123@127.0.0.1:5070>;tag=abc\r\n'
    b"t: <sip:+14255550100@127.0.0.1>\r\n"
    b"i: call-1@127.0.0.1\r\n"
    b"CSeq: 1 INVITE\r\n"
    b"Subject: a folded\r\n  header\r\n"
    b"Content-Type: application/sdp\r\n"
    b"l: 4\r\n"
    b"\r\n"
    b"v=0\r\nextra bytes beyond Content-Length"
)
WHOLE_INVITE = INVITE.split(b"extra")[0][:-1]  # its body exactly Content-Length (4) long
OPTIONS = (
    b"OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1;branch=z9hG4bK-2\r\n"
    b"From: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: opt-1\r\nCSeq: 7 OPTIONS\r\n"
    b"Content-Length: 0\r\n\r\n"
)


def test_a_request_with_compact_and_folded_headers_parses() -> None:
    message = parse_message(INVITE)
    assert isinstance(message, SipRequest)
    assert message.method == "INVITE"
    assert message.header("Call-ID") == "call-1@127.0.0.1"
    assert message.header("subject") == "a folded header"
    assert message.body == b"v=0\r"  # Content-Length decides, the rest is ignored
    assert cseq(message.headers) == (1, "INVITE")
    assert branch_of(message.header("Via")) == "z9hG4bK-1"
    assert tag_of(message.header("From")) == "abc"
    assert tag_of(message.header("To")) is None
    assert user_of(uri_of(message.header("From") or "")) == "+14255550123"
    assert host_port_of("sip:bob@[::1]:5080;transport=udp") == ("::1", 5080)


def test_serialize_then_parse_gives_the_same_message() -> None:
    request = parse_message(INVITE)
    assert isinstance(request, SipRequest)
    again = parse_message(request.to_bytes())
    assert isinstance(again, SipRequest)
    assert again.headers.without("Content-Length") == request.headers.without("Content-Length")
    assert (again.method, again.uri, again.body) == ("INVITE", request.uri, request.body)
    response = SipResponse(486, "Busy Here", request.headers.without("Subject"), b"")
    parsed = parse_message(response.to_bytes())
    assert isinstance(parsed, SipResponse)
    assert (parsed.status, parsed.reason) == (486, "Busy Here")
    assert parsed.header("Content-Length") == "0"


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"INVITE sip:x SIP/2.0\r\n\r\n",  # no Via, From, To, Call-ID, CSeq
        b"SIP/2.0 99 Low\r\n\r\n",
        b"SIP/2.0 2OO OK\r\n\r\n",
        b"INVITE sip:x SIP/3.0\r\nVia: a\r\n\r\n",
        INVITE.replace(b"CSeq: 1 INVITE", b"CSeq: one INVITE"),
        INVITE.replace(b"l: 4", b"l: 400"),
        b"OPTIONS sip:x SIP/2.0\r\nBad header\r\n\r\n",
    ],
)
def test_malformed_messages_raise_the_parse_error(data: bytes) -> None:
    with pytest.raises(SipParseError):
        parse_message(data)


@given(st.binary(max_size=600))
def test_arbitrary_bytes_raise_only_the_parse_error(data: bytes) -> None:
    with contextlib.suppress(SipParseError):
        parse_message(data)


@given(
    st.lists(
        st.sampled_from(
            [
                b"INVITE sip:a@b SIP/2.0",
                b"SIP/2.0 200 OK",
                b"Via: SIP/2.0/UDP h;branch=z",
                b"CSeq: 1 INVITE",
                b"Call-ID: x",
                b"From: <sip:a@b>;tag=1",
                b"To: <sip:c@d>",
                b"l: 3",
                b"Content-Length: 99999999999",
                b" folded",
                b"",
                b"\r\n",
                b":",
                b"\xff",
            ]
        ),
        max_size=12,
    ),
    st.binary(max_size=20),
)
def test_near_sip_bytes_raise_only_the_parse_error(lines: list[bytes], body: bytes) -> None:
    data = b"\r\n".join(lines) + b"\r\n\r\n" + body
    try:
        message = parse_message(data)
    except SipParseError:
        return
    again = parse_message(message.to_bytes())
    assert again.headers.without("Content-Length") == message.headers.without("Content-Length")
    assert (type(again), again.body) == (type(message), message.body)


@given(st.binary(max_size=400))
def test_arbitrary_sdp_raises_only_the_parse_error(data: bytes) -> None:
    with contextlib.suppress(SipParseError):
        sdp.parse_sdp(data).srtp_key()


@given(st.text(max_size=80))
def test_any_crypto_line_gives_a_30_byte_key_or_none(key_params: str) -> None:
    body = (
        "v=0\r\nc=IN IP4 10.0.0.1\r\nm=audio 4000 RTP/SAVP 0\r\n"
        f"a=crypto:1 AES_CM_128_HMAC_SHA1_80 {key_params}\r\n"
    ).encode()
    with contextlib.suppress(SipParseError):
        found = sdp.parse_sdp(body).srtp_key()
        assert found is None or len(found[1]) == sdp.SRTP_KEY_LENGTH


def test_an_srtp_offer_is_answered_with_our_key_under_its_tag_and_plain_offers_are_not() -> None:
    ours, theirs = bytes(range(30)), bytes(range(30, 60))
    offer = sdp.parse_sdp(sdp.offer("127.0.0.1", 4000, ("PCMU",), srtp_key=theirs))
    assert offer.srtp_key() == ("1", theirs)
    agreed = sdp.answer_to(offer, "127.0.0.2", 5000, ("PCMU",), srtp_key=ours)
    assert agreed is not None
    media, answer = agreed
    assert media.remote_key == theirs
    assert b"RTP/SAVP" in answer and sdp.parse_sdp(answer).srtp_key() == ("1", ours)
    assert sdp.negotiated(sdp.parse_sdp(answer), ("PCMU",), srtp=True) is not None
    plain = sdp.parse_sdp(sdp.offer("127.0.0.1", 4000, ("PCMU",)))
    assert sdp.answer_to(plain, "127.0.0.2", 5000, ("PCMU",), srtp_key=ours) is None
    assert sdp.negotiated(plain, ("PCMU",), srtp=True) is None


def test_offer_answer_agrees_on_the_offerers_first_shared_codec() -> None:
    offer = sdp.parse_sdp(sdp.offer("127.0.0.1", 4000, ("PCMA", "PCMU")))
    assert offer.formats == (8, 0, 101)
    assert offer.event_pt() == 101
    agreed = sdp.answer_to(offer, "127.0.0.2", 5000, ("PCMU", "PCMA"))
    assert agreed is not None
    media, answer = agreed
    assert (media.codec, media.payload_type, media.port) == ("PCMA", 8, 4000)
    parsed = sdp.parse_sdp(answer)
    assert (parsed.address, parsed.port, parsed.formats) == ("127.0.0.2", 5000, (8, 101))
    assert sdp.negotiated(parsed, ("PCMU", "PCMA")) == sdp.Media("127.0.0.2", 5000, "PCMA", 8, 101)


def test_an_offer_without_a_shared_codec_has_no_answer() -> None:
    body = b"v=0\r\nc=IN IP4 10.0.0.1\r\nm=audio 4000 RTP/AVP 18\r\na=rtpmap:18 G729/8000\r\n"
    assert sdp.answer_to(sdp.parse_sdp(body), "127.0.0.1", 1, ("PCMU",)) is None


def test_a_re_offer_keeps_the_session_and_raises_its_version_and_says_its_direction() -> None:
    session, version = sdp.new_origin()
    first = sdp.offer("127.0.0.1", 4000, ("PCMU",), origin=(session, version))
    held = sdp.offer(
        "127.0.0.1", 4000, ("PCMU",), origin=(session, version + 1), direction="sendonly"
    )
    assert f"o=switchboard {session} {version} IN IP4".encode() in first
    assert f"o=switchboard {session} {version + 1} IN IP4".encode() in held
    assert (sdp.parse_sdp(first).direction, sdp.parse_sdp(held).direction) == (
        "sendrecv",
        "sendonly",
    )


@pytest.mark.parametrize(
    ("theirs", "held", "ours"),
    [
        ("sendrecv", False, "sendrecv"),
        ("sendonly", False, "recvonly"),
        ("inactive", False, "inactive"),
        ("recvonly", False, "sendonly"),
        ("sendrecv", True, "sendonly"),
        ("sendonly", True, "inactive"),
    ],
)
def test_an_answer_mirrors_the_offers_direction_and_our_hold(
    theirs: str, held: bool, ours: str
) -> None:
    assert sdp.answering_direction(theirs, held=held) == ours


def test_digest_response_matches_rfc_2617s_worked_example() -> None:
    challenge = parse_challenge(
        'Digest realm="testrealm@host.com", qop="auth,auth-int", '
        'nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"'
    )
    value = authorization(
        challenge, "Mufasa", "Circle Of Life", "GET", "/dir/index.html", cnonce="0a4f113b"
    )
    assert 'response="6629fae49393a05397450978507c4ef1"' in value
    assert "qop=auth" in value and "nc=00000001" in value
    assert 'opaque="5ccc069c403ebaf9f0171e9517f40e41"' in value


def test_a_challenge_we_cannot_answer_is_a_parse_error() -> None:
    with pytest.raises(SipParseError):
        parse_challenge('Basic realm="x"')
    with pytest.raises(SipParseError):
        parse_challenge('Digest realm="x", nonce="y", algorithm=SHA-512-256')


def test_a_stream_is_cut_into_messages_at_their_content_length() -> None:
    framer = SipStreamFramer()
    two = b"\r\n\r\n" + WHOLE_INVITE + OPTIONS
    assert framer.feed(two[:50]) == []
    messages = framer.feed(two[50:])
    assert [type(parse_message(m)) for m in messages] == [SipRequest, SipRequest]
    assert parse_message(messages[1]).header("Call-ID") == "opt-1"


@given(st.lists(st.integers(min_value=1, max_value=200), max_size=20))
def test_however_a_stream_is_cut_the_same_messages_come_out(cuts: list[int]) -> None:
    stream = WHOLE_INVITE + OPTIONS + b"\r\n" + OPTIONS
    framer = SipStreamFramer()
    out: list[bytes] = []
    position = 0
    for cut in cuts:
        out += framer.feed(stream[position : position + cut])
        position += cut
    out += framer.feed(stream[position:])
    assert out == [WHOLE_INVITE, OPTIONS, OPTIONS]


@given(st.lists(st.binary(max_size=300), max_size=8))
def test_arbitrary_stream_bytes_raise_only_the_parse_error(chunks: list[bytes]) -> None:
    framer = SipStreamFramer()
    with contextlib.suppress(SipParseError):
        for chunk in chunks:
            for message in framer.feed(chunk):
                with contextlib.suppress(SipParseError):
                    parse_message(message)


@given(st.text(max_size=300))
def test_an_arbitrary_challenge_raises_only_the_parse_error(value: str) -> None:
    with contextlib.suppress(SipParseError):
        parse_challenge(value)
    with contextlib.suppress(SipParseError):
        parse_challenge("Digest " + value)
