"""``Call``: one call as this device sees it, with ACS's states and operations.

    outgoing: Connecting ─callUpdated Ringing─▶ Ringing ─sdp answer + Connected─▶ Connected
    to a phone number (``start_call("+1…", alternate_caller_id=…)``): the same states; the
        server dials it for a server call we join at once through the SFU (``is_conference``)
    incoming: Ringing ─accept()─▶ Connecting ─callUpdated Connected─▶ Connected
    Connected ⇄ LocalHold (hold/resume) ─hang_up()─▶ Disconnecting ─callEnded─▶ Disconnected
    a server call's app moved the device (callMoved) ─▶ the same Call, a new id and peer
        connection: it accepts the new call with a new offer (``moves`` counts them)

Frames arrive from the agent's reader (state changes apply at once); media work (SDP,
candidates, closing the peer connection) runs in order on the call's own task, so a slow
ICE step never holds up signaling.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from switchboard.calling.models import CallState, EndReason, ParticipantState
from switchboard.calling.signaling import frames, protocol, requests
from switchboard.client.calling.data_channel import DataChannelFeature, DataLinks
from switchboard.client.calling.dtmf import DtmfError, DtmfTone, parse_tone
from switchboard.client.calling.end_reasons import end_reason_message
from switchboard.client.calling.media import AudioProbe, CallMedia
from switchboard.client.calling.session import RequestFailed, SignalingClosed

log = logging.getLogger(__name__)

LOCAL_END = EndReason(0, 0, "Call ended successfully by local participant.")
CLOSE_SECONDS = 5.0  # closing a peer connection is quick; never wait forever for it


class CallDirection(StrEnum):
    INCOMING = "Incoming"
    OUTGOING = "Outgoing"


@dataclass(slots=True)
class RemoteParticipant:
    id: str
    user_id: str
    state: ParticipantState
    is_muted: bool = False
    video_on: bool = False
    role: str | None = None  # a group call's "Unknown", a Room role, or 1:1 caller/callee
    display_name: str = ""  # what its device gave as displayName ("" when none)

    @classmethod
    def from_info(cls, info: protocol.ParticipantInfo) -> RemoteParticipant:
        return cls(
            info.participant_id,
            info.identifier.raw_id,
            # A group call shows lobby members as InLobby; ACS calls that state Idle.
            ParticipantState(info.state) if info.state != "InLobby" else ParticipantState.IDLE,
            info.is_muted,
            info.video_on,
            info.role,
            info.display_name,
        )


class AgentPort(Protocol):
    """What a call needs from its agent."""

    ice_servers: list[protocol.IceServer]
    tone_hz: float

    async def request(
        self, frame: requests.Request, on_ack: Callable[[frames.Ack], None] | None = None
    ) -> frames.Ack: ...

    def spawn(self, work: Awaitable[None], name: str) -> None: ...

    display_name: str | None

    def track(self, call: Call) -> None:
        """Route the frames of ``call.id`` to this call from now on."""
        ...

    def untrack(self, call: Call) -> None:
        """The call ended: forget it."""
        ...


class Call:
    def __init__(
        self,
        agent: AgentPort,
        direction: CallDirection,
        *,
        call_id: str | None = None,
        state: CallState = CallState.CONNECTING,
        caller: RemoteParticipant | None = None,
        offer: protocol.Description | None = None,
        remote_video: bool = False,
        conference: bool = False,
    ) -> None:
        self._agent = agent
        self.direction = direction
        self.id = call_id
        self.state = state
        self.participant_id: str | None = None
        self.end_reason: EndReason | None = None
        self._end_when: str | None = None  # narrows end_message: "local", a refusal's code
        self.remote_participants: dict[str, RemoteParticipant] = {}
        if caller is not None:
            self.remote_participants[caller.id] = caller
        self.remote_video = remote_video
        self.is_muted = False
        self.video_on = False
        self.data_channel = DataChannelFeature(_DataPort(self))
        self._media: CallMedia | None = None
        self.role: str | None = None  # this device's role in a Room call
        self.dominant_speakers: list[str] = []
        self.lobby: list[RemoteParticipant] = []  # waiting members (Presenters see them)
        self.messages: asyncio.Queue[tuple[str, str]] = asyncio.Queue()  # (from, data)
        self._offer = offer
        # A server call (Call Automation) rings with no offer: accepting joins its conference.
        self.is_conference = conference
        self.moves = 0  # times a server call's app moved this call (callMoved)
        self._changed = asyncio.Event()
        self._media_closed = asyncio.Event()
        self._work: asyncio.Queue[Callable[[], Awaitable[None]]] = asyncio.Queue()
        agent.spawn(self._run_media(), f"call media {call_id or 'outgoing'}")

    @property
    def media(self) -> CallMedia | None:
        return self._media

    @media.setter
    def media(self, media: CallMedia | None) -> None:
        self._media = media
        if media is not None:  # its data channels feed the feature (a move makes new ones)
            media.data.on_message = self.data_channel.receive

    # ---- waiting -------------------------------------------------------------------------

    async def wait_for(self, predicate: Callable[[Call], bool]) -> None:
        """Until ``predicate(call)`` holds (bound it with ``asyncio.timeout``)."""
        while not predicate(self):
            self._changed.clear()
            await self._changed.wait()

    async def wait_for_state(self, state: CallState) -> None:
        await self.wait_for(lambda call: call.state is state)

    @property
    def remote(self) -> RemoteParticipant | None:
        """The other participant of a two-party call."""
        return next(iter(self.remote_participants.values()), None)

    # ---- operations ----------------------------------------------------------------------

    async def start(
        self, callee: str, *, audio: bool, video: bool, alternate_caller_id: str | None = None
    ) -> None:
        """Outgoing: make the offer and ask the server to ring ``callee`` (agent only): a
        user, or a phone number (``+…``): then the call's media goes through the SFU, as a
        server call's, and ``alternate_caller_id`` is the number the phone sees."""
        self.media = CallMedia(self._agent.ice_servers, video=video, tone_hz=self._agent.tone_hz)
        self.video_on = video
        try:
            offer = await self.media.offer()
            start = requests.StartCall(
                targets=[_identifier(callee)],
                description=offer,
                media={"audio": audio, "video": video},
                display_name=self._agent.display_name,
                alternate_caller_id=(
                    _identifier(alternate_caller_id) if alternate_caller_id else None
                ),
            )
            await self._agent.request(start, on_ack=self._placed)
        except BaseException as exc:
            await self._abandon(exc)
            raise

    async def join(
        self,
        *,
        group_id: str | None = None,
        room_id: str | None = None,
        audio: bool = True,
        video: bool = False,
    ) -> None:
        """Group call or Room call (agent only): offer to the media node, wait for the ack."""
        self.is_conference = True
        self.media = CallMedia(self._agent.ice_servers, video=video, tone_hz=self._agent.tone_hz)
        self.video_on = video
        try:
            offer = await self.media.offer()
            media = {"audio": audio, "video": video}
            name = self._agent.display_name
            join: requests.Join = (
                requests.JoinGroupCall(
                    group_id=group_id, description=offer, media=media, display_name=name
                )
                if group_id is not None
                else requests.JoinRoom(
                    room_id=room_id, description=offer, media=media, display_name=name
                )
            )
            await self._agent.request(join, on_ack=self._joined)
        except BaseException as exc:
            await self._abandon(exc)
            raise

    async def _abandon(self, exc: BaseException) -> None:
        """start/join failed (refused, cancelled, signaling gone): end the call here and
        close its media before the caller sees the error, so nothing is left behind."""
        if isinstance(exc, RequestFailed):
            self._end_when = exc.code
            self.ended(EndReason(403, 0, exc.message))
        else:
            self.ended(EndReason(0, 0, f"The call could not be placed: {exc!r}"))
        with contextlib.suppress(BaseException):
            async with asyncio.timeout(CLOSE_SECONDS):
                await asyncio.shield(self._media_closed.wait())

    def audio_of(self, participant_id: str) -> AudioProbe:
        """What arrives from one remote participant of a group call (decoded audio)."""
        if self.media is None:
            raise RuntimeError("the call has no media yet")
        return self.media.probe(participant_id)

    async def admit(self, *participant_ids: str) -> None:
        await self._agent.request(
            requests.Admit(call_id=self.id, participant_ids=list(participant_ids))
        )

    async def reject_lobby(self, *participant_ids: str) -> None:
        await self._agent.request(
            requests.RejectLobby(call_id=self.id, participant_ids=list(participant_ids))
        )

    async def send_data(self, data: str, to: list[str] | None = None) -> None:
        """A data-channel message to everyone in the call, or to the listed participants."""
        await self._agent.request(
            requests.DataChannel(call_id=self.id, data=data, participant_ids=to)
        )

    async def set_video_streams(self, max_video: int) -> None:
        await self._agent.request(requests.SetVideoStreams(call_id=self.id, max_video=max_video))

    async def accept(self, *, audio: bool = True, video: bool = False) -> None:
        if self.direction is not CallDirection.INCOMING or self.state is not CallState.RINGING:
            raise RuntimeError(f"only a ringing incoming call can be accepted ({self.state})")
        if self.is_conference:
            await self._accept_conference(audio=audio, video=video)
            return
        if self._offer is None:
            raise RuntimeError("the incoming call carried no offer")
        self.media = CallMedia(self._agent.ice_servers, video=video, tone_hz=self._agent.tone_hz)
        self.video_on = video
        self._set_state(CallState.CONNECTING)
        answer = await self.media.answer({"type": self._offer.type, "sdp": self._offer.sdp})
        accept = requests.Accept(
            call_id=self.id,
            description=answer,
            media={"audio": audio, "video": video},
            display_name=self._agent.display_name,
        )
        await self._agent.request(accept)

    async def _accept_conference(self, *, audio: bool, video: bool) -> None:
        """A server call: our own offer, then exactly a joined group call (the app that
        rang is not a remote participant)."""
        self.media = CallMedia(self._agent.ice_servers, video=video, tone_hz=self._agent.tone_hz)
        self.video_on = video
        self.remote_participants.clear()
        self._set_state(CallState.CONNECTING)
        offer = await self.media.offer()
        accept = requests.Accept(
            call_id=self.id,
            description=offer,
            media={"audio": audio, "video": video},
            display_name=self._agent.display_name,
        )
        await self._agent.request(accept, on_ack=self._accepted)

    def _accepted(self, result: frames.Ack) -> None:
        self.participant_id = str(result.participant_id)

    async def reject(self, *, busy: bool = False) -> None:
        await self._agent.request(requests.Reject(call_id=self.id, busy=busy or None))

    async def hang_up(self) -> None:
        if self.state is CallState.DISCONNECTED:
            return
        self._set_state(CallState.DISCONNECTING)
        self._end_when = "local"
        try:
            await self._agent.request(requests.HangUp(call_id=self.id))
        except RequestFailed:  # already over on the server: end it here too
            self.ended(LOCAL_END)

    async def send_dtmf(self, tone: DtmfTone | str) -> None:
        """ACS ``Call.sendDtmf``: ``"Num1"`` (or ``"1"``), ``"Star"``, ``"Pound"``, ``"A"``…;
        returns once the tone was sent (RFC 4733, 100 ms, as a browser's RTCDTMFSender)."""
        parsed = parse_tone(tone)
        if self.media is None or self.state is not CallState.CONNECTED:
            raise DtmfError("DTMF needs a connected call")
        await self.media.send_dtmf([parsed])

    async def mute(self) -> None:
        await self._set_muted(True)

    async def unmute(self) -> None:
        await self._set_muted(False)

    async def start_video(self) -> None:
        await self._set_video(True)

    async def stop_video(self) -> None:
        await self._set_video(False)

    async def hold(self) -> None:
        await self._agent.request(requests.Hold(call_id=self.id))
        if self.media is not None:
            self.media.set_muted(True)
        self._set_state(CallState.LOCAL_HOLD)

    async def resume(self) -> None:
        await self._agent.request(requests.Resume(call_id=self.id))
        if self.media is not None:
            self.media.set_muted(self.is_muted)
        self._set_state(CallState.CONNECTED)

    async def _set_muted(self, muted: bool) -> None:
        if self.media is not None:
            self.media.set_muted(muted)
        self.is_muted = muted
        await self._agent.request(requests.MediaState(call_id=self.id, muted=muted))

    async def _set_video(self, on: bool) -> None:
        if self.media is not None:
            self.media.set_video(on)
        self.video_on = on
        await self._agent.request(requests.MediaState(call_id=self.id, video_on=on))

    # ---- frames from the agent's reader --------------------------------------------------

    def _joined(self, result: frames.Ack) -> None:
        self._placed(result)
        if result.state == CallState.IN_LOBBY.value:
            self._set_state(CallState.IN_LOBBY)

    def _placed(self, result: frames.Ack) -> None:
        self.id = str(result.call_id)
        self.participant_id = str(result.participant_id)
        self._agent.track(self)

    def on_frame(self, frame: frames.CallFrames) -> None:
        if isinstance(frame, frames.CallUpdated):
            self.participant_id = frame.participant_id
            self.role = frame.role if frame.role is not None else self.role
            for participant in frame.participants:
                remote = RemoteParticipant.from_info(participant)
                self.remote_participants[remote.id] = remote
            self._phase(frame.state)
        elif isinstance(frame, frames.ParticipantUpdated):
            remote = RemoteParticipant.from_info(frame.participant)
            if remote.id == self.participant_id:  # the server muted this device
                self.is_muted = remote.is_muted
                if self.media is not None and remote.is_muted:
                    self.media.set_muted(True)
            else:
                self.remote_participants[remote.id] = remote
            self._changed.set()
        elif isinstance(frame, frames.ParticipantsUpdated):
            for participant in frame.added:
                remote = RemoteParticipant.from_info(participant)
                self.remote_participants[remote.id] = remote
            for participant in frame.removed:
                self.remote_participants.pop(participant.participant_id, None)
            self._changed.set()
        elif isinstance(frame, frames.DominantSpeakersChanged):
            self.dominant_speakers = list(frame.speakers)
            self._changed.set()
        elif isinstance(frame, frames.LobbyParticipantsUpdated):
            self.lobby = [RemoteParticipant.from_info(p) for p in frame.lobby]
            self._changed.set()
        elif isinstance(frame, frames.DataChannelMessage):
            if frame.channel_id is None:
                self.messages.put_nowait((frame.from_, frame.data))
            else:
                self.data_channel.relayed(
                    frame.from_, frame.channel_id, frame.sequence_number or 0, frame.data
                )
        elif isinstance(frame, frames.Sdp):
            sdp = frame
            self._work.put_nowait(lambda: self._remote_description(sdp))
        elif isinstance(frame, frames.IceCandidate):
            candidate = frame.candidate
            self._work.put_nowait(lambda: self._remote_candidate(candidate))
        elif isinstance(frame, frames.CallEnded):
            self.ended(EndReason.from_info(frame.reason))
        elif isinstance(frame, frames.CallConverted):
            self._converted(frame.server_call_id)
        elif isinstance(frame, frames.CallMoved):
            self._moved(frame.to_call_id)

    def _converted(self, server_call_id: str) -> None:
        """An app answered our 1:1 call (Call Automation): the call goes on as its server
        call, which we join with a fresh offer, as when accepting a server call's ring."""
        if self.state is CallState.DISCONNECTED:
            return
        hanging_up = self.state is CallState.DISCONNECTING  # our hangUp crossed the answer
        self._agent.untrack(self)
        self.id = server_call_id
        self.is_conference = True
        self.remote_participants.clear()
        self._agent.track(self)
        if hanging_up:  # the 1:1 call's hangUp is refused: leave the server call instead
            self._agent.spawn(self._leave_converted(), f"call {server_call_id} leaves")
            return
        self._set_state(CallState.CONNECTING)
        self._work.put_nowait(self._rejoin)

    async def _leave_converted(self) -> None:
        with contextlib.suppress(RequestFailed, SignalingClosed):
            await self._agent.request(requests.HangUp(call_id=self.id))

    def _phase(self, phase: str) -> None:
        if phase == "Ringing" and self.state is CallState.CONNECTING:
            self._set_state(CallState.RINGING)
        elif phase == "InLobby" and self.state is CallState.CONNECTING:
            self._set_state(CallState.IN_LOBBY)
        elif phase == "Connected" and self.state in (
            CallState.CONNECTING,
            CallState.RINGING,
            CallState.IN_LOBBY,
        ):
            self._set_state(CallState.CONNECTED)
        else:
            self._changed.set()

    @property
    def end_message(self) -> str | None:
        """The end reason in words ("Bob is busy"), from the table the browser SDK shares
        (end_reasons.py); None while the call goes on."""
        if self.end_reason is None:
            return None
        others = list(self.remote_participants.values())
        name = others[0].display_name if len(others) == 1 and not self.is_conference else None
        return end_reason_message(self.end_reason, name, self._end_when)

    def ended(self, reason: EndReason) -> None:
        if self.state is CallState.DISCONNECTED:
            return
        self.end_reason = reason
        self._set_state(CallState.DISCONNECTED)
        self._agent.untrack(self)
        self._work.put_nowait(self._close_media)

    def _set_state(self, state: CallState) -> None:
        log.debug("call %s: %s → %s", self.id, self.state.value, state.value)
        self.state = state
        self._changed.set()

    # ---- moved to another server call (docs/calling-protocol.md "Server calls") ---------

    def _moved(self, to_call_id: str) -> None:
        """Frames for the new call id reach this Call at once; the old media closes and a
        new peer connection accepts the new call, in order with the other media work."""
        self._agent.untrack(self)
        self.id = to_call_id
        self._agent.track(self)
        self.participant_id = None  # the new call's, from its ack
        self.remote_participants.clear()
        self.moves += 1
        self._work.put_nowait(self._rejoin)

    async def _rejoin(self) -> None:
        """Join the call ``self.id`` names with a new peer connection and a fresh offer, as a
        device accepting a server call's ring: after an app answered our 1:1 call
        (``callConverted``) or moved us (``callMoved``)."""
        if self.state is CallState.DISCONNECTED:
            return
        old, self.media = self.media, None
        if old is not None:
            await old.close()
        self.media = CallMedia(
            self._agent.ice_servers, video=self.video_on, tone_hz=self._agent.tone_hz
        )
        if self.is_muted:
            self.media.set_muted(True)
        offer = await self.media.offer()
        accept = requests.Accept(
            call_id=self.id,
            description=offer,
            media={"audio": True, "video": self.video_on},
            display_name=self._agent.display_name,
        )
        try:
            await self._agent.request(accept, on_ack=self._accepted)
        except RequestFailed as failed:
            self._end_when = failed.code
            self.ended(EndReason(403, 0, failed.message))
        self._changed.set()

    # ---- media work, in order ------------------------------------------------------------

    async def _remote_description(self, frame: frames.Sdp) -> None:
        if self.media is None or self.state is CallState.DISCONNECTED:
            return  # ended meanwhile: nobody waits for an answer any more
        for stream in frame.streams or []:  # a group call: who is behind each m-line
            self.media.stream_owners[stream.mid] = stream.participant_id
        description = {"type": frame.description.type, "sdp": frame.description.sdp}
        if frame.description.type == "offer":  # renegotiation from the other side
            answer = await self.media.answer(description)
            await self._agent.request(
                requests.SdpRequest(call_id=self.id, to=frame.from_, description=answer)
            )
        else:
            await self.media.remote_description(description)

    async def _remote_candidate(self, candidate: protocol.Candidate) -> None:
        if self.media is not None and self.state is not CallState.DISCONNECTED:
            await self.media.add_candidate(candidate)

    async def _close_media(self) -> None:
        try:
            if self.media is not None:
                await self.media.close()
        finally:
            self._media_closed.set()
        raise _Done

    async def _run_media(self) -> None:
        with contextlib.suppress(_Done):
            while True:
                work = await self._work.get()
                try:
                    await work()
                except _Done:
                    raise
                except Exception:  # one failed media step must not stop the call's others
                    log.exception("call %s: media step failed", self.id)


def _identifier(raw: str) -> dict[str, object]:
    """A user id or an E.164 number as the identifier JSON of the wire."""
    if raw.startswith("+"):
        return {"rawId": f"4:{raw}", "phoneNumber": {"value": raw}}
    return {"rawId": raw, "communicationUser": {"id": raw}}


class _Done(Exception):
    """The call's media is closed: its task ends."""


class _DataPort:
    """The data-channel feature's view of its call."""

    def __init__(self, call: Call) -> None:
        self._call = call

    @property
    def call_id(self) -> str | None:
        return self._call.id

    @property
    def is_group(self) -> bool:
        return self._call.is_conference

    def links(self) -> DataLinks | None:
        media = self._call.media
        return None if media is None else media.data

    def peer_id(self) -> str | None:
        remote = self._call.remote
        return None if remote is None else remote.id

    def request(self, request: requests.Request) -> Awaitable[object]:
        return self._call._agent.request(request)
