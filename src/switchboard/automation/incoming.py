"""Incoming calls: the app hears ``Microsoft.Communication.IncomingCall`` and answers, rejects
or redirects with the ``incomingCallContext`` it carried.

    calling: a call rings for a purchased number (or a user an app subscribed for) ─▶
        IncomingCalls.offer(IncomingOffer) ─▶ context = a signed, expiring token naming the
        ringing call and the node that holds it ─▶ IncomingCall event through the outbox
    POST :answer {incomingCallContext, callbackUri} ─▶ read (signature, expiry) ─▶ the owner
        node (control) ─▶ plane.answer ─▶ a call connection, connected, with media
    POST :reject / :redirect ─▶ plane.reject / plane.redirect on the owner node

The context is an HS256 JWT with a per-deployment secret (every node can check it); it
expires with the ring (ACS: the context is good while the call rings).
"""

from __future__ import annotations

from typing import Any, Protocol

import jwt

from switchboard.automation.event_schemas import incoming_call_event
from switchboard.automation.models import IncomingClaims, IncomingOffer
from switchboard.automation.ports import CallPlane
from switchboard.automation.targets import TargetRules
from switchboard.core.clock import Clock
from switchboard.core.errors import BadRequestError
from switchboard.core.events import IntegrationEvent
from switchboard.core.identifiers import CommunicationIdentifier, identifier_from_raw_id

CONTEXT_AUDIENCE = "switchboard:incoming-call"
RING_SECONDS = 85.0  # as long as a call rings (calling_ring_timeout_seconds)


class InvalidIncomingCallContextError(BadRequestError):
    code = "InvalidIncomingCallContext"


class IncomingCallContexts:
    def __init__(self, secret: bytes, clock: Clock, *, ttl_seconds: float = RING_SECONDS) -> None:
        self._secret = secret
        self._clock = clock
        self._ttl = ttl_seconds

    def mint(self, offer: IncomingOffer) -> str:
        now = self._clock.now()
        claims: dict[str, Any] = {
            "aud": CONTEXT_AUDIENCE,
            "iat": int(now),
            "exp": int(now + self._ttl),
            "pid": offer.pending_id,
            "sci": offer.server_call_id,
            "node": offer.owner_node,
            "to": offer.to.raw_id,
            "from": offer.caller.raw_id,
            "cid": offer.correlation_id,
        }
        return jwt.encode(claims, self._secret, algorithm="HS256")

    def read(self, context: str) -> IncomingClaims:
        if not context or len(context) > 4096:
            raise InvalidIncomingCallContextError("incomingCallContext is missing or too long.")
        try:  # expiry is checked below against our Clock, not PyJWT's wall clock
            claims = jwt.decode(
                context,
                self._secret,
                algorithms=["HS256"],
                audience=CONTEXT_AUDIENCE,
                options={"verify_exp": False, "require": ["exp", "pid", "node"]},
            )
        except jwt.PyJWTError:
            raise InvalidIncomingCallContextError(
                "incomingCallContext is not one this service issued."
            ) from None
        if float(claims["exp"]) < self._clock.now():
            raise InvalidIncomingCallContextError(
                "incomingCallContext has expired: the call is no longer ringing."
            )
        try:
            return IncomingClaims(
                pending_id=str(claims["pid"]),
                server_call_id=str(claims["sci"]),
                owner_node=str(claims["node"]),
                to=identifier_from_raw_id(str(claims["to"])),
                caller=identifier_from_raw_id(str(claims["from"])),
                correlation_id=str(claims["cid"]),
            )
        except (KeyError, BadRequestError):
            raise InvalidIncomingCallContextError("incomingCallContext is incomplete.") from None


class IncomingEventPublisher(Protocol):
    async def publish(self, event: IntegrationEvent) -> None:
        """Written durably (the events outbox) before it returns."""
        ...


REJECT_REASONS = ("none", "busy", "forbidden")


class IncomingCalls:
    """Offers ringing calls to apps, and takes their reject and redirect (answer makes a call
    connection: CallAutomationService.answer)."""

    def __init__(
        self,
        contexts: IncomingCallContexts,
        publisher: IncomingEventPublisher,
        plane: CallPlane,
        targets: TargetRules,
        clock: Clock,
    ) -> None:
        self.contexts = contexts
        self._publisher = publisher
        self._plane = plane
        self._targets = targets
        self._clock = clock

    async def offer(self, offer: IncomingOffer) -> str:
        """Publish IncomingCall for ``offer``; its incomingCallContext."""
        context = self.contexts.mint(offer)
        await self._publisher.publish(incoming_call_event(offer, context, self._clock.now()))
        return context

    async def reject(self, claims: IncomingClaims, reason: str | None) -> None:
        reason = (reason or "none").lower()
        if reason not in REJECT_REASONS:
            raise BadRequestError(
                "callRejectReason must be none, busy or forbidden.", target="callRejectReason"
            )
        await self._plane.reject(claims.pending_id, reason)

    async def redirect(self, claims: IncomingClaims, target: CommunicationIdentifier) -> None:
        await self._targets.check(target, None)
        await self._plane.redirect(claims.pending_id, target)
