"""Fakes for Call Automation's ports: a call plane, a callback sink, caller ids, a URL guard."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from switchboard.automation.control import AutomationControl
from switchboard.automation.incoming import IncomingCallContexts, IncomingCalls
from switchboard.automation.models import InvalidCallbackUriError, Participant
from switchboard.automation.ports import CallbackData, CallPlaneListener, MediaStreamSink
from switchboard.automation.service import CallAutomationService
from switchboard.automation.store_memory import MemoryCallConnectionStore
from switchboard.automation.targets import TargetRules
from switchboard.bus.base import Bus
from switchboard.core.clock import FakeClock
from switchboard.core.events import IntegrationEvent
from switchboard.core.identifiers import CommunicationIdentifier, identifier_from_raw_id
from switchboard.media.audio.tones import DtmfTone
from switchboard.media.endpoint.models import Play, PlaySource, Recognize

ALICE = identifier_from_raw_id("8:acs:res_alice")


@dataclass
class FakeMedia:
    """What the service asked of the app's media endpoint, in order."""

    asked: list[tuple[str, object]] = field(default_factory=list)
    stream: MediaStreamSink | None = None

    def play(self, play: Play) -> None:
        self.asked.append(("play", play))

    def recognize(self, recognize: Recognize) -> None:
        self.asked.append(("recognize", recognize))

    def cancel_all(self) -> None:
        self.asked.append(("cancel_all", None))

    def start_continuous_dtmf(self, target: str) -> None:
        self.asked.append(("start_dtmf", target))

    def stop_continuous_dtmf(self, target: str) -> None:
        self.asked.append(("stop_dtmf", target))

    def send_dtmf(self, operation_id: str, tones: Sequence[DtmfTone], target: str) -> None:
        self.asked.append(("send_dtmf", (operation_id, tuple(tones), target)))

    def hold(self, target: str, music: PlaySource | None) -> None:
        self.asked.append(("hold", (target, music)))

    def unhold(self, target: str) -> None:
        self.asked.append(("unhold", target))

    def attach_stream(self, sink: MediaStreamSink | None) -> None:
        self.stream = sink


@dataclass
class FakePlane:
    listeners: dict[str, CallPlaneListener] = field(default_factory=dict)
    invites: list[tuple[str, str, str, float]] = field(default_factory=list)
    members: dict[str, list[Participant]] = field(default_factory=dict)
    calls: list[tuple[str, str]] = field(default_factory=list)
    media: dict[str, FakeMedia] = field(default_factory=dict)

    async def create(self, server_call_id: str, listener: CallPlaneListener) -> FakeMedia:
        self.listeners[server_call_id] = listener
        self.members[server_call_id] = []
        return self.media.setdefault(server_call_id, FakeMedia())

    async def connect(self, server_call_id: str, listener: CallPlaneListener) -> FakeMedia:
        self.listeners[server_call_id] = listener
        self.members.setdefault(server_call_id, [Participant(ALICE)])
        return self.media.setdefault(server_call_id, FakeMedia())

    async def answer(self, pending_id: str, listener: CallPlaneListener) -> FakeMedia:
        self.calls.append(("answer", pending_id))
        self.listeners[pending_id] = listener
        self.members[pending_id] = []
        return self.media.setdefault(pending_id, FakeMedia())

    async def reject(self, pending_id: str, reason: str) -> None:
        self.calls.append(("reject", f"{pending_id}:{reason}"))

    async def redirect(self, pending_id: str, target: CommunicationIdentifier) -> None:
        self.calls.append(("redirect", f"{pending_id}:{target.raw_id}"))

    async def invite(
        self,
        server_call_id: str,
        target: CommunicationIdentifier,
        *,
        invitation_id: str,
        timeout_seconds: float,
        caller: CommunicationIdentifier | None,
        caller_display_name: str,
        caller_id_number: str | None = None,
    ) -> None:
        self.invites.append((server_call_id, target.raw_id, invitation_id, timeout_seconds))

    async def cancel_invite(self, server_call_id: str, invitation_id: str) -> None:
        self.calls.append(("cancel", invitation_id))

    async def remove(self, server_call_id: str, raw_id: str) -> None:
        self.calls.append(("remove", raw_id))

    async def mute(self, server_call_id: str, raw_id: str) -> None:
        self.calls.append(("mute", raw_id))

    async def hold(self, server_call_id: str, raw_id: str, held: bool) -> None:
        self.calls.append(("hold" if held else "unhold", raw_id))

    async def move(
        self, server_call_id: str, from_server_call_id: str, raw_id: str, *, invitation_id: str
    ) -> None:
        self.calls.append(("move", f"{from_server_call_id}>{server_call_id}:{raw_id}"))
        self.invites.append((server_call_id, raw_id, invitation_id, 0.0))

    async def participants(self, server_call_id: str) -> Sequence[Participant]:
        return self.members[server_call_id]

    async def leave(self, server_call_id: str) -> None:
        self.calls.append(("leave", server_call_id))

    async def terminate(self, server_call_id: str) -> None:
        self.calls.append(("terminate", server_call_id))


@dataclass
class FakeCallbacks:
    sent: list[tuple[str, str, CallbackData]] = field(default_factory=list)

    async def enqueue(
        self, call_connection_id: str, url: str, events: Sequence[CallbackData]
    ) -> None:
        self.sent.extend((call_connection_id, url, e) for e in events)

    def types(self) -> list[str]:
        return [e.type for _, _, e in self.sent]


class FakeCallerIds:
    async def may_call_from(self, phone_number: str) -> bool:
        return phone_number == "+18005550100"


class HttpsOnly:
    async def check_callback_uri(self, url: str) -> None:
        if not url.startswith("https://"):
            raise InvalidCallbackUriError("The field CallbackUri is invalid.")


@dataclass
class FakePublisher:
    published: list[IntegrationEvent] = field(default_factory=list)

    async def publish(self, event: IntegrationEvent) -> None:
        self.published.append(event)


SECRET = b"0123456789abcdef0123456789abcdef"


@dataclass
class AutomationNode:
    """One node's automation parts over fakes (the bus and the store may be shared)."""

    control: AutomationControl
    plane: FakePlane
    callbacks: FakeCallbacks
    publisher: FakePublisher

    @property
    def service(self) -> CallAutomationService:
        return self.control.service

    @classmethod
    async def start(
        cls,
        name: str,
        bus: Bus,
        store: MemoryCallConnectionStore,
        clock: FakeClock,
        new_id: Callable[[], str],
        *,
        timeout_seconds: float = 0.5,
    ) -> AutomationNode:
        plane, callbacks, publisher = FakePlane(), FakeCallbacks(), FakePublisher()
        service = CallAutomationService(
            plane,
            callbacks,
            FakeCallerIds(),
            HttpsOnly(),
            store,
            clock,
            node_id=name,
            new_id=new_id,
        )
        await service.start()
        incoming = IncomingCalls(
            IncomingCallContexts(SECRET, clock),
            publisher,
            plane,
            TargetRules(FakeCallerIds()),
            clock,
        )
        control = AutomationControl(service, incoming, bus, timeout_seconds=timeout_seconds)
        await control.start()
        return cls(control, plane, callbacks, publisher)

    async def stop(self) -> None:
        await self.control.stop()
        await self.service.stop()
