"""SRTP for the forwarder: libsrtp (through pylibsrtp's cffi binding) working in place.

``pylibsrtp.Session.protect(bytes) -> bytes`` copies the packet in and out and allocates an
``int *`` per call; at tens of thousands of packets a second that is most of the cost. An
``SrtpContext`` keeps one C buffer per direction: the transport receives straight into an
inbound context's buffer and decrypts there; for each subscriber the plaintext is copied into
that subscriber's outbound buffer, its header rewritten, encrypted there and sent from there.

    recv_into(inbound.buffer) ─unprotect_in_place─▶ plaintext ─▶ forwarder
    forwarder ─▶ outbound.buffer[:n] = plaintext, header rewrite ─protect_in_place─▶ sendto

Keys are ``master key + master salt`` as DTLS-SRTP exports them (RFC 5764 §4.2); the local
and the remote side each have theirs. Outbound contexts allow repeated sequence numbers: NACK
answers resend a packet under the number it was first sent with.
"""

from __future__ import annotations

import importlib
from typing import Any

import pylibsrtp

# The cffi module is not re-exported by pylibsrtp (and has no type information).
_binding: Any = importlib.import_module("pylibsrtp._binding")
ffi, lib = _binding.ffi, _binding.lib
MAX_PACKET = 1500
AES128_CM_SHA1_80 = pylibsrtp.Policy.SRTP_PROFILE_AES128_CM_SHA1_80
AEAD_AES_128_GCM = pylibsrtp.Policy.SRTP_PROFILE_AEAD_AES_128_GCM
KEY_LENGTHS = {AES128_CM_SHA1_80: 30, AEAD_AES_128_GCM: 28}  # master key + salt


class SrtpError(Exception):
    """A packet failed authentication or replay checks (it is dropped, never forwarded)."""


class SrtpContext:
    """One direction of SRTP/SRTCP for one participant, with its own packet buffer."""

    __slots__ = ("_session", "buffer", "cdata", "size", "srtp")

    def __init__(self, key: bytes, *, outbound: bool, profile: int = AES128_CM_SHA1_80) -> None:
        ssrc_type = (
            pylibsrtp.Policy.SSRC_ANY_OUTBOUND if outbound else pylibsrtp.Policy.SSRC_ANY_INBOUND
        )
        policy = pylibsrtp.Policy(key=key, ssrc_type=ssrc_type, srtp_profile=profile)
        policy.allow_repeat_tx = outbound
        self._session = pylibsrtp.Session(policy)
        self.srtp: Any = self._session._srtp[0]  # the srtp_t the Session owns and frees
        self.cdata: Any = ffi.new("unsigned char[]", MAX_PACKET + 256)
        self.buffer = memoryview(ffi.buffer(self.cdata))
        self.size: Any = ffi.new("int *")

    def unprotect_in_place(self, length: int) -> int:
        """Decrypt the SRTP packet in ``buffer[:length]``; the plaintext length, or -1."""
        self.size[0] = length
        if lib.srtp_unprotect(self.srtp, self.cdata, self.size):
            return -1
        return int(self.size[0])

    def protect_in_place(self, length: int) -> int:
        """Encrypt the RTP packet in ``buffer[:length]``; the SRTP length, or -1."""
        self.size[0] = length
        if lib.srtp_protect(self.srtp, self.cdata, self.size):
            return -1
        return int(self.size[0])

    def protect(self, packet: bytes) -> bytes:
        """Slow path (tests, load generators): encrypt a copy of an RTP packet."""
        return self._session.protect(packet)

    def unprotect(self, packet: bytes) -> bytes:
        try:
            return self._session.unprotect(packet)
        except pylibsrtp.Error as error:
            raise SrtpError(str(error)) from None

    def protect_rtcp(self, packet: bytes) -> bytes:
        return self._session.protect_rtcp(packet)

    def unprotect_rtcp(self, packet: bytes) -> bytes:
        try:
            return self._session.unprotect_rtcp(packet)
        except pylibsrtp.Error as error:
            raise SrtpError(str(error)) from None
