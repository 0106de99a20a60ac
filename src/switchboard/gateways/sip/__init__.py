"""PSTN voice over SIP trunks (an adapter: calling's VoiceCarrier), docs/sip.md.

message.py       SIP messages: parse (SipParseError only) and serialize, header parts (sans-I/O)
sdp.py           SDP offer/answer for PCMU/PCMA + telephone-event (sans-I/O)
digest.py        digest credentials for 401/407 challenges (sans-I/O)
g711.py          μ-law/A-law tables, 8 ⇄ 48 kHz
jitter.py        JitterBuffer (sans-I/O)
trunks.py        Trunk, Route, SipRouting ([[trunks]] / [[routes]], checked at load)
reasons.py       SIP status ⇄ ACS end reasons
framing.py       SipStreamFramer: SIP over TCP cut into messages (sans-I/O)
transactions.py  SipEndpoint (UDP socket, TCP listener) and client transactions (retransmits,
                 timeouts)
streams.py       SipStreamConnection: one TCP connection per peer, either way
dialog.py        Dialog: requests inside a call
media.py         RtpBridge: RTP G.711 / RFC 4733 ⇄ a LocalLeg, ticked every 20 ms
outbound.py      OutboundSipCall: INVITE, CANCEL, auth, failover, BYE
inbound.py       InboundSipCall: a trunk's INVITE to our number, answer / refuse
carrier.py       SipCarrier: dial, requests from the socket, trunk health (OPTIONS)
"""

from switchboard.gateways.sip.carrier import SipCarrier
from switchboard.gateways.sip.errors import SipParseError, TrunkConfigError
from switchboard.gateways.sip.trunks import SipRouting, routing_from_tables

__all__ = ["SipCarrier", "SipParseError", "SipRouting", "TrunkConfigError", "routing_from_tables"]
