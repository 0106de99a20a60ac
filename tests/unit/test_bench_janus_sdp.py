"""The Janus benchmark's SDP handling (bench/janus_leg.py): what it reads of Janus's offers
and answers, and the answer it writes back, on an SDP shaped as Janus 1.1 writes them."""

from __future__ import annotations

from bench.janus_leg import JanusLeg, parse_sdp

from switchboard.media.dtls import DtlsCertificate

JANUS_OFFER = "\r\n".join(
    [
        "v=0",
        "o=- 1733612345 1 IN IP4 127.0.0.2",
        "s=VideoRoom 1234",
        "t=0 0",
        "a=group:BUNDLE 0 1 2",
        "a=ice-options:trickle",
        "a=fingerprint:sha-256 AB:CD",
        "a=ice-lite",
        "m=audio 9 UDP/TLS/RTP/SAVPF 111",
        "c=IN IP4 127.0.0.2",
        "a=sendonly",
        "a=mid:0",
        "a=rtcp-mux",
        "a=ice-ufrag:Zx9a",
        "a=ice-pwd:janusjanusjanusjanus00",
        "a=setup:actpass",
        "a=rtpmap:111 opus/48000/2",
        "a=candidate:1 1 tcp 1518280447 127.0.0.2 9 typ host tcptype passive",
        "a=candidate:1 1 udp 2015363327 127.0.0.2 23456 typ host",
        "a=end-of-candidates",
        "m=video 9 UDP/TLS/RTP/SAVPF 96 97",
        "c=IN IP4 127.0.0.2",
        "a=sendonly",
        "a=mid:1",
        "a=rtpmap:96 VP8/90000",
        "a=rtcp-fb:96 nack pli",
        "a=rtpmap:97 rtx/90000",
        "m=audio 9 UDP/TLS/RTP/SAVPF 111",
        "a=mid:2",
        "a=rtpmap:111 opus/48000/2",
        "",
    ]
)


def test_janus_offer_gives_its_credentials_udp_candidate_and_media_sections() -> None:
    remote = parse_sdp(JANUS_OFFER)
    assert (remote.ufrag, remote.pwd) == ("Zx9a", "janusjanusjanusjanus00")
    assert remote.candidate == ("127.0.0.2", 23456)  # the TCP candidate is passed over
    assert [(s.kind, s.mid, s.payload_type, s.rtpmap) for s in remote.sections] == [
        ("audio", "0", 111, "opus/48000/2"),
        ("video", "1", 96, "VP8/90000"),
        ("audio", "2", 111, "opus/48000/2"),
    ]


def test_the_answer_mirrors_every_section_receive_only_as_the_dtls_server() -> None:
    leg = JanusLeg("127.0.0.1", DtlsCertificate())
    try:
        answer = leg.subscriber_answer(parse_sdp(JANUS_OFFER))
        mine = parse_sdp(answer)
    finally:
        leg.sock.close()
    assert "a=group:BUNDLE 0 1 2" in answer
    assert [(s.kind, s.mid, s.payload_type) for s in mine.sections] == [
        ("audio", "0", 111),
        ("video", "1", 96),
        ("audio", "2", 111),
    ]
    assert answer.count("a=recvonly") == 3 and answer.count("a=setup:passive") == 3
    assert (mine.ufrag, mine.pwd) == (leg.ufrag, leg.pwd)
    assert mine.candidate == leg.address
