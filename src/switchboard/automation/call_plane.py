"""ServerCallPlane: Call Automation's CallPlane over calling's server calls and media's endpoint.

    create/connect ─▶ ServerCalls (a conference with the app's LocalLeg) ─▶ MediaEndpoint on
        that leg (ticked by the node's EndpointTicker) ─▶ CallMedia for the service
    calling's events ─▶ automation's (participants as identifiers; reasons as code/subCode)
    media requests name participants by raw id ─▶ the SFU's participant ids, and back

    phone targets ─▶ calling's PhoneDialer (the voice carrier dials; the phone's leg joins)
    answer/reject/redirect a ringing phone call ─▶ calling's PendingCalls; a ringing 1:1 call
        offered for its callee ─▶ calling's OfferedCalls (the pending ids are theirs)

The raw id ↔ participant id map of each call follows its ParticipantsChanged events (a
participant the map does not know yet is asked of the call directly).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import msgspec

from switchboard.automation import ports
from switchboard.automation.models import Participant
from switchboard.calling.errors import CallNotFoundError
from switchboard.calling.models import EndReason as CallingReason
from switchboard.calling.pstn.dialing import PhoneDialer
from switchboard.calling.pstn.pending import PendingCalls
from switchboard.calling.server import models as calls
from switchboard.calling.server.calls import ServerCalls
from switchboard.calling.twoparty.offered import OfferedCalls
from switchboard.core.errors import NotSupportedError
from switchboard.core.identifiers import CommunicationIdentifier, IdentifierKind
from switchboard.media.audio.speech import SpeechRecognizer
from switchboard.media.audio.tones import DtmfTone
from switchboard.media.endpoint.encoded import EncodedAudio
from switchboard.media.endpoint.endpoint import MediaEndpoint
from switchboard.media.endpoint.models import (
    ContinuousDtmfStopped,
    ContinuousDtmfToneReceived,
    MediaEvent,
    Play,
    PlaySource,
    Recognize,
)
from switchboard.media.endpoint.renderer import SourceRenderer
from switchboard.media.endpoint.ticker import EndpointTicker
from switchboard.media.local_leg import LocalLeg

NO_INBOUND = "Incoming calls need a voice carrier, which this server does not have."
NO_CARRIER = "Calls to phone numbers need a voice carrier, which this server does not have."


@dataclass
class CallIds:
    """One call's raw id ↔ SFU participant id map."""

    by_raw: dict[str, str] = field(default_factory=dict)

    def learn(self, participants: Sequence[calls.ServerCallParticipant]) -> None:
        for participant in participants:
            self.by_raw[participant.identifier.raw_id] = participant.participant_id

    def participant(self, raw_id: str) -> str:
        return self.by_raw.get(raw_id, raw_id)

    def raw(self, participant_id: str) -> str:
        for raw_id, known in self.by_raw.items():
            if known == participant_id:
                return raw_id
        return participant_id


class EndpointMedia:
    """CallMedia for the service: the endpoint, with raw ids mapped to participant ids."""

    def __init__(self, endpoint: MediaEndpoint, ids: CallIds, leg: LocalLeg | None = None) -> None:
        self.endpoint = endpoint
        self._ids = ids
        self._leg = leg

    def play(self, play: Play) -> None:
        audience = play.audience
        if audience is not None:
            audience = frozenset(self._ids.participant(raw) for raw in audience)
        self.endpoint.play(
            Play(play.operation_id, play.sources, audience, play.loop, play.interrupt)
        )

    def recognize(self, recognize: Recognize) -> None:
        target = self._ids.participant(recognize.target)
        self.endpoint.recognize(msgspec.structs.replace(recognize, target=target))

    def cancel_all(self) -> None:
        self.endpoint.cancel_all()

    def start_continuous_dtmf(self, target: str) -> None:
        self.endpoint.start_continuous_dtmf(self._ids.participant(target))

    def stop_continuous_dtmf(self, target: str) -> None:
        self.endpoint.stop_continuous_dtmf(self._ids.participant(target))

    def send_dtmf(self, operation_id: str, tones: Sequence[DtmfTone], target: str) -> None:
        self.endpoint.send_dtmf(operation_id, tones, self._ids.participant(target))

    def hold(self, target: str, music: PlaySource | None) -> None:
        self.endpoint.hold(self._ids.participant(target), music)

    def unhold(self, target: str) -> None:
        self.endpoint.unhold(self._ids.participant(target))

    def attach_stream(self, sink: ports.MediaStreamSink | None) -> None:
        self.endpoint.set_stream(sink)
        if self._leg is None:
            return
        if sink is None:
            self._leg.tap(None)
            return
        ids = self._ids

        def heard(participant_id: str, pcm: bytes) -> None:
            sink.heard(ids.raw(participant_id), pcm)

        self._leg.tap(heard)


class ServerCallPlane:
    def __init__(
        self,
        calls_: ServerCalls[LocalLeg],
        renderer: SourceRenderer,
        recognizer: SpeechRecognizer,
        ticker: EndpointTicker,
        hold_music: bytes,
        *,
        dialer: PhoneDialer | None = None,
        pending: PendingCalls | None = None,
        encoded: EncodedAudio | None = None,
        user_calls: OfferedCalls | None = None,
    ) -> None:
        self._calls = calls_
        self._dialer = dialer
        self._pending = pending
        self._user_calls = user_calls
        self._renderer = renderer
        self._recognizer = recognizer
        self._ticker = ticker
        self._hold_music = hold_music
        self._encoded = encoded
        self._endpoints: dict[str, MediaEndpoint] = {}
        self._stopping: set[asyncio.Task[None]] = set()

    async def create(self, server_call_id: str, listener: ports.CallPlaneListener) -> EndpointMedia:
        ids = CallIds()
        leg = await self._calls.create(server_call_id, self._events(server_call_id, ids, listener))
        return await self._attach(server_call_id, leg, ids, listener)

    async def connect(
        self, server_call_id: str, listener: ports.CallPlaneListener
    ) -> EndpointMedia:
        ids = CallIds()
        leg = await self._calls.connect(server_call_id, self._events(server_call_id, ids, listener))
        ids.learn(await self._calls.participants(server_call_id))
        return await self._attach(server_call_id, leg, ids, listener)

    async def answer(self, pending_id: str, listener: ports.CallPlaneListener) -> EndpointMedia:
        pending = self._inbound(pending_id)
        ids = CallIds()
        leg = await pending.answer(pending_id, lambda call_id: self._events(call_id, ids, listener))
        ids.learn(await self._calls.participants(leg.call_id))
        return await self._attach(leg.call_id, leg, ids, listener)

    async def reject(self, pending_id: str, reason: str) -> None:
        await self._inbound(pending_id).reject(pending_id, reason)

    async def redirect(self, pending_id: str, target: CommunicationIdentifier) -> None:
        if target.kind is not IdentifierKind.COMMUNICATION_USER:
            raise NotSupportedError("A call can be redirected to a user for now.")
        await self._inbound(pending_id).redirect(pending_id, target.raw_id)

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
        if target.kind is IdentifierKind.PHONE_NUMBER:
            if self._dialer is None or caller_id_number is None:
                raise NotSupportedError(NO_CARRIER)
            self._dialer.invite(
                server_call_id,
                target.value,
                invitation_id=invitation_id,
                timeout_seconds=timeout_seconds,
                caller_id=caller_id_number,
            )
            return
        await self._calls.invite(
            server_call_id,
            target.raw_id,
            invitation_id=invitation_id,
            timeout_seconds=timeout_seconds,
            caller=caller,
            caller_display_name=caller_display_name,
        )

    async def cancel_invite(self, server_call_id: str, invitation_id: str) -> None:
        await self._calls.cancel_invite(server_call_id, invitation_id)

    async def remove(self, server_call_id: str, raw_id: str) -> None:
        await self._calls.remove(server_call_id, raw_id)

    async def mute(self, server_call_id: str, raw_id: str) -> None:
        await self._calls.mute(server_call_id, raw_id)

    async def hold(self, server_call_id: str, raw_id: str, held: bool) -> None:
        await self._calls.hold(server_call_id, raw_id, held)

    async def move(
        self, server_call_id: str, from_server_call_id: str, raw_id: str, *, invitation_id: str
    ) -> None:
        await self._calls.move(
            server_call_id, from_server_call_id, raw_id, invitation_id=invitation_id
        )

    async def participants(self, server_call_id: str) -> list[Participant]:
        return [_participant(p) for p in await self._calls.participants(server_call_id)]

    async def leave(self, server_call_id: str) -> None:
        await self._detach(server_call_id)
        await self._calls.leave(server_call_id)

    async def terminate(self, server_call_id: str) -> None:
        await self._calls.terminate(server_call_id)

    # --- internals --------------------------------------------------------------------------

    def _inbound(self, pending_id: str) -> PendingCalls | OfferedCalls:
        """Who holds a ringing call: a user's (OfferedCalls) or a phone's (PendingCalls)."""
        if self._user_calls is not None and self._user_calls.holds(pending_id):
            return self._user_calls
        if self._pending is None:
            raise CallNotFoundError(NO_INBOUND)
        return self._pending

    async def _attach(
        self,
        server_call_id: str,
        leg: LocalLeg,
        ids: CallIds,
        listener: ports.CallPlaneListener,
    ) -> EndpointMedia:
        endpoint = MediaEndpoint(
            leg,
            self._renderer,
            self._recognizer,
            self._media_events(ids, listener),
            hold_music=self._hold_music,
            encoded=self._encoded,
        )
        await endpoint.start()
        self._ticker.add(endpoint)
        self._endpoints[server_call_id] = endpoint
        return EndpointMedia(endpoint, ids, leg)

    def _stop_later(self, endpoint: MediaEndpoint) -> None:
        """The call ended under the endpoint (inside calling's job): its tasks still stop,
        once this job is over (a reference is kept until then)."""
        task = asyncio.get_running_loop().create_task(endpoint.stop(), name="endpoint stop")
        self._stopping.add(task)
        task.add_done_callback(self._stopping.discard)

    async def _detach(self, server_call_id: str) -> None:
        endpoint = self._endpoints.pop(server_call_id, None)
        if endpoint is not None:
            self._ticker.remove(endpoint)
            await endpoint.stop()

    def _media_events(
        self, ids: CallIds, listener: ports.CallPlaneListener
    ) -> Callable[[MediaEvent], None]:
        def forward(event: MediaEvent) -> None:
            if isinstance(event, ContinuousDtmfToneReceived):
                event = ContinuousDtmfToneReceived(
                    ids.raw(event.target), event.tone, event.sequence_id
                )
            elif isinstance(event, ContinuousDtmfStopped):
                event = ContinuousDtmfStopped(ids.raw(event.target))
            listener(event)

        return forward

    def _events(
        self, server_call_id: str, ids: CallIds, listener: ports.CallPlaneListener
    ) -> calls.ServerCallListener:
        def translate(event: calls.ServerCallEvent) -> None:
            if isinstance(event, calls.ParticipantsChanged):
                ids.learn(event.participants)
                listener(
                    ports.ParticipantsChanged(tuple(_participant(p) for p in event.participants))
                )
            elif isinstance(event, calls.InviteAccepted):
                ids.learn([event.participant])
                listener(ports.InviteAccepted(event.invitation_id, _participant(event.participant)))
            elif isinstance(event, calls.InviteFailed):
                listener(ports.InviteFailed(event.invitation_id, _reason(event.reason)))
            elif isinstance(event, calls.InviteCanceled):
                listener(ports.InviteCanceled(event.invitation_id))
            elif isinstance(event, calls.ParticipantRemoved):
                listener(ports.ParticipantRemoved(_participant(event.participant)))
            else:
                endpoint = self._endpoints.pop(server_call_id, None)
                if endpoint is not None:  # the node removed the leg with the call
                    self._ticker.remove(endpoint)
                    self._stop_later(endpoint)
                listener(ports.CallPlaneEnded(_reason(event.reason)))

        return translate


def _participant(participant: calls.ServerCallParticipant) -> Participant:
    return Participant(participant.identifier, participant.is_muted, participant.is_on_hold)


def _reason(reason: CallingReason) -> ports.EndReason:
    return ports.EndReason(reason.code, reason.sub_code, reason.phrase)
