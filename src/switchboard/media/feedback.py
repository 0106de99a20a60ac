"""RTCP the forwarder answers and sends on its own: retransmissions, SR translation, reports.

Sans-I/O helpers of forwarder.py (which decides when): each takes the state it needs and
writes to the participants' ``PacketSink``.

    subscriber NACK ─▶ retransmit: outgoing seq ─▶ source seq ─▶ PacketCache ─▶ resend,
        rewritten as the original was (seq, ts, SSRC, PT)
    publisher SR ─▶ translate_sender_report: the same NTP time, the RTP time in each
        subscriber stream's timeline (lip sync across audio and video)
    every second ─▶ receiver_report: one block per published track (RFC 3550 A.3), plus
        REMB: the lowest estimate of the subscribers that see its video

Key-frame requests (PLI) stay in forwarder.py: they are rate-limited per track there.
"""

from __future__ import annotations

from collections.abc import Iterable

from switchboard.media import rtcp
from switchboard.media.participant import Participant
from switchboard.media.rtp import HEADER
from switchboard.media.streams import MediaKind, StreamRewriter, Track

_unpack_header = HEADER.unpack_from


def retransmit(stream: StreamRewriter, lost: Iterable[int], now: float) -> tuple[int, int]:
    """Resend the packets a NACK for ``stream`` names (outgoing sequence numbers) that its
    source still caches; (retransmitted, missed)."""
    if stream.source is None or stream.source.cache is None:
        return 0, 0
    cache = stream.source.cache
    sent = missed = 0
    for out_seq in lost:
        seq = stream.source_seq(out_seq)
        packet = cache.get(seq, now) if seq is not None else None
        if packet is None:
            missed += 1
            continue
        _, second, _, ts, _ = _unpack_header(packet)
        out_ts = (ts + stream.ts_offset) & 0xFFFFFFFF
        marker_pt = (second & 0x80) | stream.payload_type
        stream.sink.send_rtp(packet, len(packet), marker_pt, out_seq, out_ts, stream.ssrc)
        sent += 1
    return sent, missed


def translate_sender_report(track: Track, report: rtcp.SenderReport, now: float) -> None:
    """Remember ``track``'s SR (for our reports' LSR/DLSR) and pass it on to every stream
    forwarding it, in that stream's SSRC and timestamp space."""
    track.sr_ntp_middle = (report.ntp_timestamp >> 16) & 0xFFFFFFFF
    track.sr_arrival = now
    for stream in track.routes:
        if not stream.waiting:
            rtp_ts = (report.rtp_timestamp + stream.ts_offset) & 0xFFFFFFFF
            translated = rtcp.SenderReport(
                stream.ssrc,
                report.ntp_timestamp,
                rtp_ts,
                report.packet_count,
                report.octet_count,
            )
            stream.sink.send_rtcp(bytes(translated))


def receiver_report(
    publisher: Participant, participants: Iterable[Participant], now: float
) -> bytes | None:
    """The compound RTCP (RR, and REMB when a subscriber of its video sent one) for a
    publisher; None when it publishes nothing."""
    if not publisher.tracks:
        return None
    blocks = [report_block(track, now) for track in publisher.tracks]
    packets: list[rtcp.RtcpPacket] = [rtcp.ReceiverReport(publisher.rtcp_ssrc, blocks)]
    video = [t for t in publisher.tracks if t.kind is MediaKind.VIDEO]
    estimates = [
        p.remb
        for p in participants
        if p.remb is not None and any(s.source in video for s in p.video_slots)
    ]
    if video and estimates:
        ssrcs = [t.ssrc for t in video]
        packets.append(rtcp.Remb(publisher.rtcp_ssrc, min(estimates), ssrcs))
    return rtcp.compound(packets)


def report_block(track: Track, now: float) -> rtcp.ReportBlock:
    """RFC 3550 A.3: loss since the last report and in all, jitter, last SR and its age."""
    expected = track.expected()
    expected_interval = expected - track.expected_prior
    received_interval = track.received - track.received_prior
    track.expected_prior, track.received_prior = expected, track.received
    lost_interval = expected_interval - received_interval
    fraction = (
        (lost_interval << 8) // expected_interval if expected_interval and lost_interval > 0 else 0
    )
    lost = max(-0x800000, min(0x7FFFFF, expected - track.received))
    dlsr = int((now - track.sr_arrival) * 65536) if track.sr_ntp_middle else 0
    return rtcp.ReportBlock(
        ssrc=track.ssrc,
        fraction_lost=min(fraction, 255),
        packets_lost=lost,
        highest_sequence=track.extended_max_seq & 0xFFFFFFFF,
        jitter=int(track.jitter),
        lsr=track.sr_ntp_middle,
        dlsr=dlsr,
    )
