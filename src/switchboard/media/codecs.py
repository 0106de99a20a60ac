"""Key-frame detection from RTP payloads, without decoding: VP8 (RFC 7741) and H.264 (RFC 6184).

The forwarder only needs to know "can a decoder start here?" when it switches a subscriber to
another publisher (or resumes a paused stream): packets are dropped until this says yes.

VP8 payload descriptor, then the VP8 payload header of the first partition:

     X R N S R PID      I L T K RSV     M PictureID (7/15 bits)  TL0PICIDX   TID Y KEYIDX
    ┌─┬─┬─┬─┬─┬───┐   ┌─┬─┬─┬─┬────┐   ┌────────────────────┐   ┌────────┐  ┌──────────┐
    │ │ │ │S│ │PID│   │I│L│T│K│    │   │ 1 or 2 bytes if I  │   │ if L   │  │ if T or K│
    └─┴─┴─┴─┴─┴───┘   └─┴─┴─┴─┴────┘   └────────────────────┘   └────────┘  └──────────┘
    then the frame tag: bit 0 (P) = 0 for a key frame, only at S=1 and PID=0.

H.264: a key frame starts with an IDR slice (NAL type 5), usually preceded by SPS (7) and PPS
(8); we accept any packet carrying an SPS or IDR, alone, in a STAP-A (24) or as the first
fragment of a FU-A (28).
"""

from __future__ import annotations

from enum import Enum


class VideoCodec(Enum):
    VP8 = "VP8"
    H264 = "H264"


def is_vp8_keyframe(buf: bytes | bytearray | memoryview, start: int, end: int) -> bool:
    """True if the VP8 payload in ``buf[start:end]`` starts a key frame."""
    if end - start < 1:
        return False
    first = buf[start]
    if not first & 0x10 or first & 0x07:  # not the start of partition 0
        return False
    at = start + 1
    if first & 0x80:  # X: extended control bits
        if at >= end:
            return False
        ext = buf[at]
        at += 1
        if ext & 0x80:  # I: picture id, 15 bits if M
            if at >= end:
                return False
            at += 2 if buf[at] & 0x80 else 1
        if ext & 0x40:  # L: TL0PICIDX
            at += 1
        if ext & 0x30:  # T or K: TID/Y/KEYIDX
            at += 1
    return at < end and not buf[at] & 0x01


def is_h264_keyframe(buf: bytes | bytearray | memoryview, start: int, end: int) -> bool:
    """True if the H.264 payload in ``buf[start:end]`` carries an SPS or the start of an IDR."""
    if end - start < 1:
        return False
    nal = buf[start] & 0x1F
    if nal in (5, 7):
        return True
    if nal == 24:  # STAP-A: 16-bit size, then a NAL unit, repeated
        at = start + 1
        while at + 2 < end:
            size = buf[at] << 8 | buf[at + 1]
            if buf[at + 2] & 0x1F in (5, 7):
                return True
            at += 2 + size
        return False
    if nal == 28 and end - start >= 2:  # FU-A: start bit and the fragmented NAL's type
        header = buf[start + 1]
        return bool(header & 0x80) and header & 0x1F in (5, 7)
    return False


def is_keyframe(
    codec: VideoCodec, buf: bytes | bytearray | memoryview, start: int, end: int
) -> bool:
    if codec is VideoCodec.VP8:
        return is_vp8_keyframe(buf, start, end)
    return is_h264_keyframe(buf, start, end)
