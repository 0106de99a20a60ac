"""Trouter connections and registrations: who gets which chat event, and from where on.

    POST /v4/a ─▶ Allocation (one connection: its user, token, the stream position then)
    GET /socket.io/1/ ─▶ a socket.io session id for it ─▶ WebSocket ─▶ TrouterSocket
    POST registrar ─▶ Registration(registrationId) bound to that socket ─▶ hub receiver:
        replay every stored event after the registration's cursor, then live

The registration is what survives a reconnect: the signaling client keeps its
``registrationId`` for its whole life and registers again on every new connection. Its
``cursor`` only moves when the client has answered (status 2xx) every stored event up to it,
so a socket killed mid-stream, or a client offline for a while, gets everything it had not
acknowledged on the next registration (at least once; chat events carry ids). A new
registration starts from the stream position of its connection's allocation, so nothing
committed while the client was connecting is missed either.
"""

from __future__ import annotations

import secrets
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Protocol

from switchboard.core.principal import Principal

ALLOCATION_TTL_SECONDS = 86_400  # what the client takes as its connection's lifetime
REGISTRATION_TTL_SECONDS = 86_400


def new_id() -> str:
    return secrets.token_urlsafe(18)


class DeliverySocket(Protocol):
    """What a registration needs of the socket it is bound to (server.TrouterSocket)."""

    def unbind(self) -> None:
        """Stop delivering this registration's events (it moved to another socket)."""
        ...


@dataclass(slots=True)
class Allocation:
    """One trouter connection, from its allocation to the end of its socket."""

    id: str
    token: str
    principal: Principal
    start_seq: int  # the stream position when it was allocated
    expires_at: float
    session_id: str = field(default_factory=new_id)

    @property
    def user_id(self) -> str:
        return self.principal.user_id or ""


@dataclass(slots=True)
class Registration:
    id: str
    user_id: str
    cursor: int  # every stored event up to here was acknowledged by the client
    expires_at: float
    socket: DeliverySocket | None = None
    # Stored events sent on the current socket and not yet acknowledged: seq → answered.
    unacked: OrderedDict[int, bool] = field(default_factory=OrderedDict)

    def sent(self, seq: int) -> None:
        self.unacked.setdefault(seq, False)

    def acknowledged(self, seq: int) -> None:
        """The client answered ``seq``: the cursor moves over every answered event in a row."""
        if seq in self.unacked:
            self.unacked[seq] = True
        while self.unacked:
            first, answered = next(iter(self.unacked.items()))
            if not answered:
                break
            self.unacked.popitem(last=False)
            self.cursor = max(self.cursor, first)


class TrouterRegistry:
    """This node's allocations and registrations, in memory; the cursors of registrations whose
    socket ended on any node come over the bus (``remember``, docs/trouter.md)."""

    def __init__(self) -> None:
        self._allocations: dict[str, Allocation] = {}
        self._by_session: dict[str, Allocation] = {}
        self._registrations: dict[str, Registration] = {}

    def allocate(self, token: str, principal: Principal, start_seq: int, now: float) -> Allocation:
        self._prune(now)
        allocation = Allocation(new_id(), token, principal, start_seq, now + ALLOCATION_TTL_SECONDS)
        self._allocations[allocation.id] = allocation
        self._by_session[allocation.session_id] = allocation
        return allocation

    def allocation(self, allocation_id: str) -> Allocation | None:
        return self._allocations.get(allocation_id)

    def by_session(self, session_id: str) -> Allocation | None:
        return self._by_session.get(session_id)

    def release(self, allocation: Allocation) -> None:
        """The connection's socket ended: a reconnect allocates anew."""
        self._allocations.pop(allocation.id, None)
        self._by_session.pop(allocation.session_id, None)

    def register(
        self, registration_id: str, allocation: Allocation, socket: DeliverySocket, now: float
    ) -> Registration:
        """Bind ``registration_id`` to the socket; known ones keep their cursor."""
        self._prune(now)
        registration = self._registrations.get(registration_id)
        if registration is None or registration.user_id != allocation.user_id:
            registration = Registration(
                registration_id, allocation.user_id, allocation.start_seq, 0.0
            )
            self._registrations[registration_id] = registration
        elif registration.socket is not socket:
            if registration.socket is not None:
                registration.socket.unbind()
            registration.unacked.clear()  # resent from the cursor on the new socket
        registration.expires_at = now + REGISTRATION_TTL_SECONDS
        registration.socket = socket
        return registration

    def remember(self, registration_id: str, user_id: str, cursor: int, now: float) -> None:
        """Another node (or this one) served ``registration_id`` up to ``cursor`` and its socket
        ended: a reconnect to this node resumes there. A registration bound to a socket here
        is this node's own business and is left alone."""
        registration = self._registrations.get(registration_id)
        if registration is None or registration.user_id != user_id:
            self._registrations[registration_id] = Registration(
                registration_id, user_id, cursor, now + REGISTRATION_TTL_SECONDS
            )
        elif registration.socket is None:
            registration.cursor = max(registration.cursor, cursor)

    def unregister(self, registration_id: str, user_id: str) -> Registration | None:
        registration = self._registrations.get(registration_id)
        if registration is None or registration.user_id != user_id:
            return None
        del self._registrations[registration_id]
        if registration.socket is not None:
            registration.socket.unbind()
        return registration

    def _prune(self, now: float) -> None:
        for allocation in list(self._allocations.values()):
            if allocation.expires_at < now:
                self.release(allocation)
        for key, registration in list(self._registrations.items()):
            if registration.expires_at < now and registration.socket is None:
                del self._registrations[key]
