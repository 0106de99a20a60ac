"""OfferedCalls: ringing 1:1 calls offered to apps (Call Automation's IncomingCall for a user).

    startCall (A → B) ─▶ TwoPartyCalls rings B's devices as always ─▶ ringing(session):
        apps.wants(B, A)? (Event Grid filters, from memory) no ─▶ nothing more
        yes ─▶ an offer (pending id, server call id chosen now) ─▶ apps.incoming_user_call
            (automation: IncomingCall through the events outbox); the call rings until its
            ring timeout even if B has no device (the app may answer)
    answer(pending id) ─▶ ServerCalls.create (the app's leg) ─▶ still ringing? ─▶ B's devices
        487/10003, A's device callConverted; A's device is expected in the server call
        (ServerCallHost.admit_device) and joins it with a fresh offer
    reject(reason) ─▶ the call ends for A and B's devices (603 / 486 busy / 403 forbidden)
    redirect(user) ─▶ B's devices 487/0; the user's devices ring instead (still P2P)
    the call stops ringing (B answers, A hangs up, timeout) ─▶ settled: the offer is gone,
        a later answer / reject / redirect is a 404 (no longer ringing)

A's device that never arrives in the server call (it hangs up, goes away, or does not accept
within JOIN_SECONDS) ends the server call: the app hears CallDisconnected.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Protocol

from switchboard.calling import models as m
from switchboard.calling.errors import CallNotFoundError
from switchboard.calling.pstn.ports import FORBIDDEN
from switchboard.calling.server import models as events
from switchboard.calling.server.calls import ServerCalls, new_server_call_id
from switchboard.calling.server.host import ServerCallHost
from switchboard.calling.server.models import CALL_OVER
from switchboard.calling.twoparty.calls import TwoPartyCalls
from switchboard.calling.twoparty.session import CallSession
from switchboard.core.tasks import TaskScope
from switchboard.media.local_leg import LocalLeg

log = logging.getLogger(__name__)

REJECT_REASONS = {"none": m.DECLINED, "busy": m.BUSY, "forbidden": FORBIDDEN}
JOIN_SECONDS = 30.0  # for the caller's device to join the server call with its offer
NEVER_JOINED = m.EndReason(408, 0, "The call was answered but this device never joined it.")


@dataclass(frozen=True, slots=True)
class IncomingUserCall:
    """A 1:1 call ringing a user, offered to the apps as a pending server call."""

    pending_id: str
    server_call_id: str
    caller: str  # raw id (8:acs:…)
    callee: str  # raw id
    caller_display_name: str
    correlation_id: str
    owner_node: str


class UserCallApps(Protocol):
    """Who may take a user's calls (automation's IncomingCallOffers)."""

    def wants_user_call(self, callee: str, caller: str, caller_display_name: str) -> bool:
        """Whether some subscription would deliver IncomingCall for it (from memory, cheap)."""
        ...

    async def incoming_user_call(self, call: IncomingUserCall) -> None:
        """Offer it to the apps (automation: the IncomingCall event)."""
        ...


class OfferedCalls:
    """TwoPartyCalls' RingingCallOffers, and the apps' answer / reject / redirect."""

    def __init__(
        self,
        two_party: TwoPartyCalls,
        host: ServerCallHost,
        calls: ServerCalls[LocalLeg],
        apps: UserCallApps,
        *,
        join_seconds: float = JOIN_SECONDS,
        new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
    ) -> None:
        self._two_party = two_party
        self._host = host
        self._calls = calls
        self._apps = apps
        self._join_seconds = join_seconds
        self._new_id = new_id
        self._offers: dict[str, tuple[str, IncomingUserCall]] = {}  # pending id → (call, offer)
        self._by_call: dict[str, str] = {}  # 1:1 call id → pending id
        # admission id → the caller's device and its 1:1 call id, until it joins
        self._admitted: dict[str, tuple[m.DeviceAddress, str]] = {}
        self._scope = TaskScope("offered user calls")

    async def start(self) -> None:
        await self._scope.start()
        self._two_party.offers = self

    async def stop(self) -> None:
        self._two_party.offers = None
        await self._scope.stop()
        self._offers.clear()
        self._by_call.clear()

    def holds(self, pending_id: str) -> bool:
        return pending_id in self._offers

    # ── RingingCallOffers (TwoPartyCalls) ────────────────────────────────────────────

    def ringing(self, session: CallSession) -> bool:
        callee = session.participants[1].user_id
        caller = session.caller
        if not self._apps.wants_user_call(callee, caller.user_id, caller.display_name):
            return False
        offer = IncomingUserCall(
            self._new_id(),
            new_server_call_id(),
            caller.user_id,
            callee,
            caller.display_name,
            str(uuid.uuid4()),
            self._two_party.node_id,
        )
        self._offers[offer.pending_id] = (session.call_id, offer)
        self._by_call[session.call_id] = offer.pending_id
        self._scope.spawn(self._publish(offer), name=f"offer {offer.pending_id}")
        return True

    def settled(self, call_id: str) -> None:
        pending_id = self._by_call.pop(call_id, None)
        if pending_id is not None:
            self._offers.pop(pending_id, None)

    async def _publish(self, offer: IncomingUserCall) -> None:
        try:
            await self._apps.incoming_user_call(offer)
        except Exception:  # the call rings the user's devices anyway
            log.exception("offering the call %s to the apps failed", offer.pending_id)

    # ── the app ──────────────────────────────────────────────────────────────────────

    async def answer(
        self, pending_id: str, listener_for: Callable[[str], events.ServerCallListener]
    ) -> LocalLeg:
        """The server call with the app's leg (returned); the caller's device is told to
        join it. The callee's devices stop ringing."""
        call_id, offer = self._take(pending_id)
        server_call_id = offer.server_call_id
        admission = self._new_id()
        listener = self._watch(server_call_id, admission, listener_for(server_call_id))
        app_leg = await self._calls.create(server_call_id, listener)
        try:
            # The callee may have answered (or the caller hung up) meanwhile.
            session = self._two_party.ringing_session(call_id)
            device = _caller_device(session)
            self._host.admit_device(
                server_call_id,
                session.caller.user_id,
                device,
                invitation_id=admission,
                timeout_seconds=self._join_seconds,
            )
            self._admitted[admission] = (device, call_id)
            self._two_party.convert(call_id, server_call_id)
        except BaseException:
            log.info("answering %s: the call no longer rings", pending_id)
            await self._calls.terminate(server_call_id)
            raise
        return app_leg

    async def reject(self, pending_id: str, reason: str) -> None:
        call_id, _ = self._take(pending_id)
        self._two_party.refuse(call_id, REJECT_REASONS.get(reason, m.DECLINED))

    async def redirect(self, pending_id: str, user_raw_id: str) -> None:
        call_id, _ = self._take(pending_id)
        self._two_party.redirect(call_id, user_raw_id)

    # ── internals ────────────────────────────────────────────────────────────────────

    def _take(self, pending_id: str) -> tuple[str, IncomingUserCall]:
        """The ringing 1:1 call's id and its offer, the app's from now on (taken once)."""
        found = self._offers.pop(pending_id, None)
        if found is None:
            raise CallNotFoundError("The incoming call is no longer ringing.")
        call_id, offer = found
        self._by_call.pop(call_id, None)
        self._two_party.ringing_session(call_id)  # 404 if it stopped ringing meanwhile
        return call_id, offer

    def _watch(
        self, server_call_id: str, admission: str, listener: events.ServerCallListener
    ) -> events.ServerCallListener:
        """The app's listener, without the caller's admission (an invitation the app never
        made); the call ends if the caller never joins it."""

        def on_event(event: events.ServerCallEvent) -> None:
            if isinstance(event, events.InviteAccepted) and event.invitation_id == admission:
                self._admitted.pop(admission, None)
                return
            if (
                isinstance(event, events.InviteFailed | events.InviteCanceled)
                and event.invitation_id == admission
            ):
                admitted = self._admitted.pop(admission, None)
                if admitted is not None:  # a client that did not follow callConverted
                    self._two_party.tell_ended(*admitted, NEVER_JOINED)
                over = isinstance(event, events.InviteFailed) and event.reason is CALL_OVER
                if not over:  # (else the call is ending already)
                    self._spawn(self._calls.terminate(server_call_id), "caller never joined")
                return
            if isinstance(event, events.ServerCallEnded):
                self._admitted.pop(admission, None)
            listener(event)

        return on_event

    def _spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        self._scope.spawn(_logged(work, name), name=name)


def _caller_device(session: CallSession) -> m.DeviceAddress:
    device = session.caller.device
    assert device is not None  # a ringing call's caller has its device
    return device


async def _logged(work: Coroutine[Any, Any, None], name: str) -> None:
    try:
        await work
    except Exception:
        log.exception("%s failed", name)
