"""One trouter WebSocket: socket.io framing, the client's acks, and chat delivery once bound.

accept ─▶ "1::" (connect) ─▶ event trouter.connected {ttl} ─▶ run:
    client "2::" heartbeat (echo of ours) · "5:N+::{ping|user.activity|…}" ─▶ "6:::N"
    client "3:::{id,status}" ─▶ the answer to our request ``id`` acknowledges it
bind(registration) ─▶ hub.attach (live events held) ─▶ replay after the cursor ─▶ held
    ─▶ live: each chat event is a trouter request "3:::{id,method,url,headers,body}"
"""

from __future__ import annotations

import itertools
import json
import logging
from typing import Any

from switchboard.chat.domain_events import ChatEvent
from switchboard.chat.hub import ChatHub
from switchboard.chat.store import ChatStore
from switchboard.chat.trouter import socketio
from switchboard.chat.trouter.notifications import payload_of
from switchboard.chat.trouter.registrations import (
    ALLOCATION_TTL_SECONDS,
    Allocation,
    Registration,
)
from switchboard.http.websocket_session import HeartbeatSession

log = logging.getLogger(__name__)

REPLAY_PAGE = 500
# More stored events than this sent and not answered: the client is not keeping up (or not
# answering at all); it is closed and reconnects from its cursor.
UNANSWERED_LIMIT = 10_000
CLOSE_TOO_SLOW = 4010


class TrouterSocket:
    """The hub's receiver for one registration on one socket (chat/hub.py EventReceiver)."""

    def __init__(
        self, session: HeartbeatSession, allocation: Allocation, hub: ChatHub, surl: str
    ) -> None:
        self.user_id = allocation.user_id
        self.allocation = allocation
        self._session = session
        self._hub = hub
        self._url = surl + "/chat"
        self._registration: Registration | None = None
        self._held: list[ChatEvent] | None = None  # events that came live during catch-up
        self._last_seq = 0
        self._requests = itertools.count(1)
        self._in_flight: dict[int, int] = {}  # request id → stream seq

    @property
    def registration(self) -> Registration | None:
        return self._registration

    def greet(self) -> None:
        self._session.send(socketio.CONNECT)
        self._session.send(socketio.event("trouter.connected", {"ttl": ALLOCATION_TTL_SECONDS}))

    # ── the hub's side ──────────────────────────────────────────────────────────────

    def offer(self, event: ChatEvent) -> None:
        if self._registration is None:
            return
        if self._held is not None:
            self._held.append(event)
            return
        self._deliver(event)

    def identity_changed(self) -> None:
        self._session.recheck()

    # ── the registrar's side ────────────────────────────────────────────────────────

    async def bind(self, registration: Registration, store: ChatStore) -> None:
        """Deliver ``registration``'s events here: those missed since its cursor, then live."""
        if self._registration is registration:
            return  # a refresh of the same registration on the same socket
        self.unbind()
        self._registration, self._held, self._last_seq = registration, [], registration.cursor
        self._hub.attach(self)
        while self._registration is registration:
            events = await store.events_since(self.user_id, self._last_seq, REPLAY_PAGE)
            if self._registration is not registration:
                return
            for event in events:
                self._deliver(event)
            if len(events) < REPLAY_PAGE:
                held, self._held = self._held or [], None
                for event in held:
                    self._deliver(event)
                return

    def unbind(self) -> None:
        if self._registration is not None:
            self._hub.detach(self)
            if self._registration.socket is self:
                self._registration.socket = None
        self._registration, self._held = None, None
        self._in_flight.clear()

    def _deliver(self, event: ChatEvent) -> None:
        registration = self._registration
        if registration is None:
            return
        if event.seq is not None:
            if event.seq <= self._last_seq:
                return  # replayed already
            self._last_seq = event.seq
        request_id = next(self._requests)
        if event.seq is not None:
            if len(self._in_flight) >= UNANSWERED_LIMIT:
                self._session.close(CLOSE_TOO_SLOW, "Too many unanswered requests; reconnect.")
                return
            self._in_flight[request_id] = event.seq
            registration.sent(event.seq)
        request = {
            "id": request_id,
            "method": "POST",
            "url": self._url,
            "headers": {"Content-Type": "application/json"},
            "body": json.dumps(payload_of(event.data, self.user_id), separators=(",", ":")),
        }
        self._session.send(socketio.message(json.dumps(request, separators=(",", ":"))))

    # ── what the client sends ───────────────────────────────────────────────────────

    def on_text(self, text: str) -> None:
        try:
            packet = socketio.decode(text)
        except socketio.PacketError:
            log.debug("trouter: ignoring a frame that is not socket.io: %.80r", text)
            return
        if packet.type is socketio.PacketType.MESSAGE:
            self._on_response(packet.data)
        elif packet.type is socketio.PacketType.EVENT and packet.id:
            # ping, user.activity, audience.subscribe, trouter.processed_message_loss: the
            # client only needs its callback called; none changes what we deliver.
            self._session.send(socketio.ack(packet.id, *self._ack_args(packet)))
        elif packet.type is socketio.PacketType.DISCONNECT:
            self._session.close(1000, "client disconnected")

    def _ack_args(self, packet: socketio.Packet) -> list[Any]:
        if not packet.ack_with_data:
            return []
        try:
            name, _args = packet.event()
        except socketio.PacketError:
            return []
        return [{"status": 200}] if name == "user.activity" else []

    def _on_response(self, data: str) -> None:
        try:
            response = json.loads(data)
            request_id = int(response["id"])
        except (ValueError, TypeError, KeyError):
            return
        # Any answer means the client has it: one it had no handler for (its status says
        # so) must not be resent on every reconnect.
        seq = self._in_flight.pop(request_id, None)
        if seq is not None and self._registration is not None:
            self._registration.acknowledged(seq)

    def closed(self) -> None:
        self.unbind()
