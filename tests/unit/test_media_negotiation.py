"""SDP parsing and the SFU's offer/answer, on a Chromium-style offer (no sockets)."""

from __future__ import annotations

from switchboard.media.negotiation import (
    GlareError,
    LocalTransport,
    Negotiation,
    OutgoingSpec,
    payload_types_of,
)
from switchboard.media.sdp import Direction, parse
from switchboard.media.streams import MediaKind

CHROMIUM_OFFER = "\r\n".join(
    [
        "v=0",
        "o=- 4611731400430051336 2 IN IP4 127.0.0.1",
        "s=-",
        "t=0 0",
        "a=group:BUNDLE 0 1 2",
        "a=extmap-allow-mixed",
        "a=msid-semantic: WMS stream",
        "m=audio 9 UDP/TLS/RTP/SAVPF 111 63 0",
        "c=IN IP4 0.0.0.0",
        "a=rtcp:9 IN IP4 0.0.0.0",
        "a=ice-ufrag:abcd",
        "a=ice-pwd:abcdefghijklmnopqrstuvwx",
        "a=ice-options:trickle",
        "a=fingerprint:sha-256 AA:BB:CC:DD",
        "a=setup:actpass",
        "a=mid:0",
        "a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level",
        "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid",
        "a=sendrecv",
        "a=msid:stream audio-track",
        "a=rtcp-mux",
        "a=rtpmap:111 opus/48000/2",
        "a=rtcp-fb:111 transport-cc",
        "a=fmtp:111 minptime=10;useinbandfec=1",
        "a=rtpmap:63 red/48000/2",
        "a=rtpmap:0 PCMU/8000",
        "a=ssrc:1111 cname:c",
        "a=ssrc:1111 msid:stream audio-track",
        "m=video 9 UDP/TLS/RTP/SAVPF 96 97 102",
        "c=IN IP4 0.0.0.0",
        "a=ice-ufrag:abcd",
        "a=ice-pwd:abcdefghijklmnopqrstuvwx",
        "a=fingerprint:sha-256 AA:BB:CC:DD",
        "a=setup:actpass",
        "a=mid:1",
        "a=sendrecv",
        "a=rtcp-mux",
        "a=rtpmap:96 VP8/90000",
        "a=rtcp-fb:96 goog-remb",
        "a=rtcp-fb:96 transport-cc",
        "a=rtcp-fb:96 ccm fir",
        "a=rtcp-fb:96 nack",
        "a=rtcp-fb:96 nack pli",
        "a=rtpmap:97 rtx/90000",
        "a=fmtp:97 apt=96",
        "a=rtpmap:102 H264/90000",
        "a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f",
        "a=ssrc-group:FID 2222 3333",
        "a=ssrc:2222 cname:c",
        "a=ssrc:3333 cname:c",
        "m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
        "c=IN IP4 0.0.0.0",
        "a=mid:2",
        "a=sctp-port:5000",
        "",
    ]
)

TRANSPORT = LocalTransport("127.0.0.1", 40000, "node", "nodepasswordnodepassword", "11:22")


def everyone(kind: MediaKind, screen: bool) -> bool:
    return True


def nobody(kind: MediaKind, screen: bool) -> bool:
    return False


def test_chromium_offer_parses_transport_codecs_and_ssrcs() -> None:
    offer = parse(CHROMIUM_OFFER)
    audio, video, data = offer.media
    assert offer.bundle == ["0", "1", "2"]
    assert (audio.ice_ufrag, audio.fingerprint) == ("abcd", ("sha-256", "AA:BB:CC:DD"))
    assert audio.codec("opus") is not None and audio.rtcp_mux
    assert audio.extension_id("urn:ietf:params:rtp-hdrext:ssrc-audio-level") == 1
    assert video.primary_ssrc() == 2222  # 3333 is its RTX partner
    assert data.kind == "application"
    assert payload_types_of(offer) == {"opus": 111, "VP8": 96, "H264": 102}


def test_answer_receives_the_publishers_tracks_and_accepts_the_data_channel() -> None:
    negotiation = Negotiation(TRANSPORT, payload_types_of(parse(CHROMIUM_OFFER)))
    text = negotiation.answer(CHROMIUM_OFFER, everyone)
    answer = parse(text)
    audio, video, data = answer.media
    assert answer.ice_lite and answer.bundle == ["0", "1", "2"]
    assert (audio.direction, video.direction) == (Direction.RECVONLY, Direction.RECVONLY)
    assert not data.rejected and data.port == 40000
    assert (data.protocol, data.formats) == ("UDP/DTLS/SCTP", ["webrtc-datachannel"])
    assert "a=sctp-port:5000" in text and data.setup == "passive"
    assert audio.setup == "passive" and audio.candidates
    assert audio.extmaps == {1: "urn:ietf:params:rtp-hdrext:ssrc-audio-level"}  # no mid
    assert [c.name for c in video.codecs] == ["VP8"]
    assert "transport-cc" not in video.codecs[0].feedback
    assert [(t.kind, t.ssrc) for t in negotiation.published()] == [
        (MediaKind.AUDIO, 1111),
        (MediaKind.VIDEO, 2222),
    ]


def test_a_consumer_is_answered_inactive_and_publishes_nothing() -> None:
    negotiation = Negotiation(TRANSPORT, payload_types_of(parse(CHROMIUM_OFFER)))
    answer = parse(negotiation.answer(CHROMIUM_OFFER, nobody))
    assert {m.direction for m in answer.media[:2]} == {Direction.INACTIVE}
    assert negotiation.published() == []


def test_server_offer_adds_one_sendonly_line_per_stream_and_leaves_ended_ones_inactive() -> None:
    negotiation = Negotiation(TRANSPORT, payload_types_of(parse(CHROMIUM_OFFER)))
    negotiation.answer(CHROMIUM_OFFER, everyone)
    offer = negotiation.offer([OutgoingSpec(777, MediaKind.AUDIO, "p2")], everyone)
    assert offer is not None
    added = parse(offer).media[-1]
    assert (added.mid, added.direction, added.ssrcs) == ("s1", Direction.SENDONLY, [777])
    assert added.msid is not None and added.msid.startswith("p2 ")
    assert negotiation.streams() == [
        {"mid": "s1", "kind": "audio", "participantId": "p2", "screenShare": False}
    ]
    # While the offer is outstanding: no second offer, and a client offer is glare.
    assert negotiation.offer([], everyone) is None
    try:
        negotiation.answer(CHROMIUM_OFFER, everyone)
    except GlareError:
        pass
    else:
        raise AssertionError("a client offer during a server offer must be refused")
    negotiation.accept_answer(offer.replace("a=sendonly", "a=recvonly"))
    ended = negotiation.offer([], everyone)
    assert ended is not None
    assert parse(ended).media[-1].direction is Direction.INACTIVE


# Chromium offers telephone-event at Opus's clock rate and at 8 kHz (its RTCDTMFSender uses
# the one whose clock matches the audio codec it sends).
DTMF_OFFER = CHROMIUM_OFFER.replace(
    "m=audio 9 UDP/TLS/RTP/SAVPF 111 63 0", "m=audio 9 UDP/TLS/RTP/SAVPF 111 63 0 110 126"
).replace(
    "a=rtpmap:0 PCMU/8000",
    "a=rtpmap:0 PCMU/8000\r\na=rtpmap:110 telephone-event/48000\r\n"
    "a=rtpmap:126 telephone-event/8000",
)


def test_telephone_event_at_48_khz_is_answered_next_to_opus_when_offered() -> None:
    types = payload_types_of(parse(DTMF_OFFER))
    assert types["telephone-event"] == 110
    negotiation = Negotiation(TRANSPORT, types)
    audio = parse(negotiation.answer(DTMF_OFFER, everyone)).media[0]
    assert [(c.name, c.payload_type, c.clock_rate) for c in audio.codecs] == [
        ("opus", 111, 48_000),
        ("telephone-event", 110, 48_000),
    ]
    assert negotiation.published()[0].payload_type == 111  # the track is still Opus

    offer = negotiation.offer([OutgoingSpec(777, MediaKind.AUDIO, "p2")], everyone)
    assert offer is not None
    added = parse(offer).media[-1]
    assert [(c.name, c.payload_type) for c in added.codecs] == [
        ("opus", 111),
        ("telephone-event", 110),
    ]


def test_without_telephone_event_in_the_offer_none_is_answered_or_offered() -> None:
    types = payload_types_of(parse(CHROMIUM_OFFER))
    assert "telephone-event" not in types
    negotiation = Negotiation(TRANSPORT, types)
    audio = parse(negotiation.answer(CHROMIUM_OFFER, everyone)).media[0]
    assert [c.name for c in audio.codecs] == ["opus"]
    offer = negotiation.offer([OutgoingSpec(777, MediaKind.AUDIO, "p2")], everyone)
    assert offer is not None
    assert [c.name for c in parse(offer).media[-1].codecs] == ["opus"]
