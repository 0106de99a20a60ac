"""The composition root's voice part: phone calls through the simulator carrier's phones.

PendingCalls (calling/pstn: calls to our numbers; offered through automation's
    IncomingCallOffers, bound once the automation component runs)
─▶ VoiceSimulator (gateways/voicesim: virtual phones; its InboundCallHandler is the
    PendingCalls; espeak-ng for what the phones say; ticked by the node's EndpointTicker)
─▶ PhoneDialer (calling/pstn: server calls dial numbers through the simulator)
─▶ OfferedCalls (calling/twoparty: 1:1 calls to a user an IncomingCall subscription asks
    for, offered through the same IncomingCallOffers, which asks the events component)

─▶ SipTrunking (app/siprouting.py: the SIP gateway over the stored routing table): a number
    some route takes goes to the trunks, any other to the simulator (CarrierByRoute)
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from starlette.routing import BaseRoute

from switchboard.app.siprouting import SipTrunking
from switchboard.automation.adapters import OwnedNumbers
from switchboard.automation.incoming_sink import IncomingCallOffers, WouldDeliver
from switchboard.bus.base import Bus
from switchboard.calling.pstn.dialing import PhoneDialer
from switchboard.calling.pstn.pending import PendingCalls
from switchboard.calling.pstn.ports import PhoneCall, PhoneCallListener, VoiceCarrier
from switchboard.calling.server.calls import ServerCalls
from switchboard.calling.service import CallingService
from switchboard.calling.twoparty.offered import OfferedCalls
from switchboard.core.sections import SipConfig
from switchboard.gateways.voicesim.network import VoiceSimulator
from switchboard.gateways.voicesim.routes import voice_simulator_routes
from switchboard.http.auth import Authenticator
from switchboard.media.audio.speech import PocketsphinxRecognizer
from switchboard.media.audio.tts import EspeakTextToSpeech
from switchboard.media.endpoint.ticker import EndpointTicker
from switchboard.media.local_leg import LocalLeg
from switchboard.media.node import MediaNode
from switchboard.siprouting.service import SipRoutingService


class NumbersTakingCalls:
    """calling's PhoneNumbers over numbers: purchased, with inbound calling."""

    def __init__(self, numbers: OwnedNumbers) -> None:
        self._numbers = numbers

    async def takes_calls(self, phone_number: str) -> bool:
        owned = await self._numbers.owned_number(phone_number)
        return owned is not None and owned.calling.allows_inbound


class CarrierByRoute:
    """One VoiceCarrier over two: a number a SIP route takes goes to the trunks, any other
    to the simulator's phones."""

    def __init__(self, sip: SipTrunking, simulator: VoiceSimulator) -> None:
        self._sip = sip
        self._simulator = simulator

    def dial(self, caller_id: str, number: str, listener: PhoneCallListener) -> PhoneCall:
        if self._sip.routes(number):
            return self._sip.dial(caller_id, number, listener)
        return self._simulator.dial(caller_id, number, listener)


@dataclass(frozen=True, slots=True)
class Voice:
    dialer: PhoneDialer
    pending: PendingCalls
    simulator: VoiceSimulator
    offers: IncomingCallOffers
    user_calls: OfferedCalls
    sip: SipTrunking | None = None

    def routes(self, authenticator: Authenticator) -> list[BaseRoute]:
        return voice_simulator_routes(self.simulator, authenticator)


async def start_voice(
    stack: contextlib.AsyncExitStack,
    *,
    calling: CallingService,
    server_calls: ServerCalls[LocalLeg],
    media: MediaNode,
    numbers: OwnedNumbers,
    ticker: EndpointTicker,
    would_deliver: WouldDeliver | None = None,
    sip: SipConfig | None = None,
    sip_routing: SipRoutingService | None = None,
    bus: Bus | None = None,
) -> Voice:
    offers = IncomingCallOffers(would_deliver)
    pending = PendingCalls(
        calling.server_calls, server_calls, media, NumbersTakingCalls(numbers), offers
    )
    await pending.start()
    stack.push_async_callback(pending.stop)
    # Its own recogniser: phones transcribe only when asked, one utterance at a time.
    simulator = VoiceSimulator(pending, EspeakTextToSpeech(), recognizer=PocketsphinxRecognizer())
    ticker.add(simulator)
    stack.callback(ticker.remove, simulator)
    carrier: VoiceCarrier = simulator
    trunks: SipTrunking | None = None
    if sip is not None and sip_routing is not None and bus is not None:
        trunks = SipTrunking(sip_routing, bus, pending, ticker, sip)
        await trunks.start()
        stack.push_async_callback(trunks.stop)
        carrier = CarrierByRoute(trunks, simulator)
    dialer = PhoneDialer(calling.server_calls, media, carrier)
    await dialer.start()
    stack.push_async_callback(dialer.stop)
    user_calls = OfferedCalls(calling.two_party, calling.server_calls, server_calls, offers)
    await user_calls.start()
    stack.push_async_callback(user_calls.stop)
    return Voice(dialer, pending, simulator, offers, user_calls, trunks)
