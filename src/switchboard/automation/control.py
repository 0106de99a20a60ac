"""AutomationControl: control requests reach the node that runs the call, wherever they land.

    route ─▶ control.X(call_connection_id, …) ─▶ service.owner_of (this node? the store)
        this node ─▶ CallAutomationService.X
        another   ─▶ bus "automation.node.<owner>" {op, reply_to, id} ─▶ owner's control
                     ─▶ its service ─▶ bus "automation.reply.<us>" {id, ok | error} ─▶ answer

The bus is at-most-once: a request or reply that is lost shows as no answer within
``timeout_seconds``, answered as ``CallNotReachable`` (404: the node running the call is gone,
and so is the call's media). Errors raised on the owner come back with their status and code.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from typing import Any

import msgspec

from switchboard.automation.control_ops import (
    AddedWire,
    AddParticipant,
    AnswerOp,
    AnyOp,
    CancelAdd,
    CancelAllOp,
    ContinuousDtmfOp,
    Failure,
    GetParticipant,
    HangUp,
    HoldOp,
    ListParticipants,
    MoveOp,
    Mute,
    ParticipantWire,
    PlayOp,
    RecognizeOp,
    RedirectOp,
    RejectOp,
    RemoveParticipant,
    Reply,
    Request,
    SendDtmfOp,
    StreamingOp,
    Terminate,
    Transfer,
)
from switchboard.automation.incoming import IncomingCalls
from switchboard.automation.models import AddedParticipant, CallConnection, Participant
from switchboard.automation.service import CallAutomationService
from switchboard.automation.store import CallRecord
from switchboard.bus.base import Bus, Subscription
from switchboard.core.errors import (
    BadRequestError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    SwitchboardError,
)
from switchboard.core.identifiers import identifier_from_raw_id
from switchboard.core.tasks import TaskScope

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 5.0


class CallNotReachableError(NotFoundError):
    code = "CallNotReachable"


_request = msgspec.json.Decoder(Request)
_reply = msgspec.json.Decoder(Reply)
_encode = msgspec.json.Encoder().encode


class AutomationControl:
    def __init__(
        self,
        service: CallAutomationService,
        incoming: IncomingCalls,
        bus: Bus,
        *,
        timeout_seconds: float = TIMEOUT_SECONDS,
    ) -> None:
        self.service = service
        self.incoming = incoming
        self._bus = bus
        self._node = service.node_id
        self._timeout = timeout_seconds
        self._waiting: dict[str, asyncio.Future[Reply]] = {}
        self._scope = TaskScope("automation-control")

    async def start(self) -> None:
        requests = await self._bus.subscribe(f"automation.node.{self._node}")
        replies = await self._bus.subscribe(f"automation.reply.{self._node}")
        await self._scope.start()
        self._scope.spawn(self._serve(requests), name="automation-control-requests")
        self._scope.spawn(self._collect(replies), name="automation-control-replies")

    async def stop(self) -> None:
        await self._scope.stop()

    # --- what routes call -------------------------------------------------------------------

    async def hang_up(self, call_connection_id: str) -> None:
        await self._run(HangUp(call_connection_id))

    async def terminate(self, call_connection_id: str) -> None:
        await self._run(Terminate(call_connection_id))

    async def participants(self, call_connection_id: str) -> list[Participant]:
        reply = await self._run(ListParticipants(call_connection_id))
        return [_participant(p) for p in reply.participants or []]

    async def participant(self, call_connection_id: str, raw_id: str) -> Participant:
        reply = await self._run(GetParticipant(call_connection_id, raw_id))
        return _participant((reply.participants or [])[0])

    async def add_participant(self, op: AddParticipant) -> AddedParticipant:
        reply = await self._run(op)
        added = reply.added
        assert added is not None  # the owner answers an add with what it added
        return AddedParticipant(
            Participant(identifier_from_raw_id(added.raw_id)),
            added.invitation_id,
            added.operation_context,
        )

    async def remove_participant(self, op: RemoveParticipant) -> None:
        await self._run(op)

    async def mute(self, call_connection_id: str, raw_ids: tuple[str, ...]) -> None:
        await self._run(Mute(call_connection_id, raw_ids))

    async def cancel_add_participant(self, op: CancelAdd) -> None:
        await self._run(op)

    async def transfer(self, op: Transfer) -> None:
        await self._run(op)

    async def move_participants(self, op: MoveOp) -> list[Participant]:
        """Answered by the target call's node; the source call must be that node's too."""
        reply = await self._run(op)
        return [_participant(p) for p in reply.participants or []]

    async def answer(self, op: AnswerOp) -> CallConnection:
        """Answered on the node that holds the ringing call (the context names it)."""
        claims = self.incoming.contexts.read(op.context)
        reply = await self._run(op, owner=claims.owner_node)
        assert reply.call is not None  # the owner answers an answer with the call
        return reply.call.connection()

    async def reject(self, op: RejectOp) -> None:
        await self._run(op, owner=self.incoming.contexts.read(op.context).owner_node)

    async def redirect(self, op: RedirectOp) -> None:
        await self._run(op, owner=self.incoming.contexts.read(op.context).owner_node)

    async def media(
        self, op: PlayOp | RecognizeOp | CancelAllOp | ContinuousDtmfOp | SendDtmfOp | HoldOp
    ) -> None:
        """Play, recognize, cancel, DTMF and hold on the call's media endpoint."""
        await self._run(op)

    async def streaming(self, op: StreamingOp) -> None:
        """Media streaming and transcription (automation/streaming)."""
        await self._run(op)

    # --- routing ----------------------------------------------------------------------------

    async def _run(self, op: AnyOp, *, owner: str | None = None) -> Reply:
        if owner is None:
            owner = await self.service.owner_of(op.call_connection_id)
        if owner == self._node:
            return await self._apply(op, "")
        request_id = str(uuid.uuid4())
        waiter: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
        self._waiting[request_id] = waiter
        try:
            message = _encode(Request(request_id, self._node, op))
            await self._bus.publish(f"automation.node.{owner}", message)
            async with asyncio.timeout(self._timeout):
                reply = await waiter
        except TimeoutError:
            raise CallNotReachableError(
                f"The node running call connection {op.call_connection_id} did not answer; "
                "the call has probably ended."
            ) from None
        finally:
            self._waiting.pop(request_id, None)
        if reply.failure is not None:
            raise _error(reply.failure)
        return reply

    async def _apply(self, op: AnyOp, request_id: str) -> Reply:
        service = self.service
        call = op.call_connection_id
        if isinstance(op, HangUp):
            await service.hang_up(call)
        elif isinstance(op, Terminate):
            await service.terminate(call)
        elif isinstance(op, ListParticipants):
            found = await service.participants(call)
            return Reply(request_id, participants=[_wire(p) for p in found])
        elif isinstance(op, GetParticipant):
            one = await service.participant(call, op.raw_id)
            return Reply(request_id, participants=[_wire(one)])
        elif isinstance(op, AddParticipant):
            added = await service.add_participant(
                call,
                identifier_from_raw_id(op.target),
                operation_context=op.operation_context,
                operation_callback_uri=op.operation_callback_uri,
                invitation_timeout_seconds=op.invitation_timeout_seconds,
                source_caller_id=op.source_caller_id,
            )
            wire = AddedWire(op.target, added.invitation_id, added.operation_context)
            return Reply(request_id, added=wire)
        elif isinstance(op, RemoveParticipant):
            await service.remove_participant(
                call,
                op.raw_id,
                operation_context=op.operation_context,
                operation_callback_uri=op.operation_callback_uri,
            )
        elif isinstance(op, Mute):
            await service.mute(call, op.raw_ids)
        elif isinstance(op, Transfer):
            await service.transfer(
                call,
                identifier_from_raw_id(op.target),
                transferee=None if op.transferee is None else identifier_from_raw_id(op.transferee),
                operation_context=op.operation_context,
                operation_callback_uri=op.operation_callback_uri,
                source_caller_id=op.source_caller_id,
            )
        elif isinstance(op, AnswerOp | RejectOp | RedirectOp):
            return await self._apply_incoming(op, request_id)
        elif isinstance(op, MoveOp):
            now_in = await service.moves.move(
                call,
                [identifier_from_raw_id(raw) for raw in op.targets],
                op.from_call,
                operation_context=op.operation_context,
                operation_callback_uri=op.operation_callback_uri,
            )
            return Reply(request_id, participants=[_wire(p) for p in now_in])
        elif isinstance(op, CancelAdd):
            await service.cancel_add_participant(
                call,
                op.invitation_id,
                operation_context=op.operation_context,
                operation_callback_uri=op.operation_callback_uri,
            )
        elif isinstance(op, StreamingOp):
            await self.service.streams.apply(service.live(call), op)
        else:
            await self._apply_media(op)
        return Reply(request_id)

    async def _apply_incoming(self, op: AnswerOp | RejectOp | RedirectOp, request_id: str) -> Reply:
        claims = self.incoming.contexts.read(op.context)
        if isinstance(op, AnswerOp):
            call = await self.service.answer(
                claims,
                op.callback_uri,
                operation_context=op.operation_context,
                media_streaming=op.media_streaming,
                transcription=op.transcription,
            )
            return Reply(request_id, call=CallRecord.of(call, self._node))
        if isinstance(op, RejectOp):
            await self.incoming.reject(claims, op.reason)
        else:
            await self.incoming.redirect(claims, identifier_from_raw_id(op.target))
        return Reply(request_id)

    async def _apply_media(
        self, op: PlayOp | RecognizeOp | CancelAllOp | ContinuousDtmfOp | SendDtmfOp | HoldOp
    ) -> None:
        media, call = self.service.media, self.service.live(op.call_connection_id)
        if isinstance(op, PlayOp):
            await media.play(
                call,
                op.sources,
                play_to=op.play_to,
                loop=op.loop,
                interrupt=op.interrupt,
                operation_context=op.operation_context,
                operation_callback_uri=op.operation_callback_uri,
            )
        elif isinstance(op, RecognizeOp):
            await media.recognize(
                call,
                op.recognize,
                operation_context=op.operation_context,
                operation_callback_uri=op.operation_callback_uri,
            )
        elif isinstance(op, CancelAllOp):
            media.cancel_all(call)
        elif isinstance(op, ContinuousDtmfOp):
            if op.start:
                await media.start_continuous_dtmf(
                    call,
                    op.target,
                    operation_context=op.operation_context,
                    operation_callback_uri=op.operation_callback_uri,
                )
            else:
                media.stop_continuous_dtmf(call, op.target)
        elif isinstance(op, SendDtmfOp):
            await media.send_dtmf(
                call,
                op.tones,
                op.target,
                operation_context=op.operation_context,
                operation_callback_uri=op.operation_callback_uri,
            )
        else:
            await self.service.hold(call.call_connection_id, op.target, op.music, op.hold)

    async def _serve(self, requests: Subscription) -> None:
        try:
            async for message in requests:
                try:
                    request = _request.decode(message)
                except (msgspec.ValidationError, msgspec.DecodeError):
                    log.warning("automation control: undecodable request dropped")
                    continue
                self._scope.spawn(self._answer(request), name="automation-control-answer")
        finally:
            await requests.close()

    async def _answer(self, request: Request) -> None:
        try:
            reply = await self._apply(request.op, request.id)
        except SwitchboardError as error:
            failure = Failure(error.status, error.error_code, error.message, error.target)
            reply = Reply(request.id, failure=failure)
        except Exception:
            log.exception("automation control: %s failed", type(request.op).__name__)
            reply = Reply(request.id, failure=Failure(500, "InternalError", "The owner failed."))
        with contextlib.suppress(Exception):  # the asker times out if this is lost
            await self._bus.publish(f"automation.reply.{request.reply_to}", _encode(reply))

    async def _collect(self, replies: Subscription) -> None:
        try:
            async for message in replies:
                try:
                    reply = _reply.decode(message)
                except (msgspec.ValidationError, msgspec.DecodeError):
                    continue
                waiter = self._waiting.get(reply.id)
                if waiter is not None and not waiter.done():
                    waiter.set_result(reply)
        finally:
            await replies.close()


def _wire(participant: Participant) -> ParticipantWire:
    return ParticipantWire(
        participant.identifier.raw_id, participant.is_muted, participant.is_on_hold
    )


def _participant(wire: ParticipantWire) -> Participant:
    return Participant(identifier_from_raw_id(wire.raw_id), wire.is_muted, wire.is_on_hold)


_BY_STATUS: dict[int, type[SwitchboardError]] = {
    400: BadRequestError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
}


def _error(failure: Failure) -> SwitchboardError:
    kind: Any = _BY_STATUS.get(failure.status, SwitchboardError)
    error: SwitchboardError = kind(failure.message, target=failure.target, code=failure.code)
    return error
