"""``SmppLink``: one TCP connection to the SMSC and its ``EsmeSession``, for ``SmppCarrier``.

The link is dropped whole when the connection ends; the carrier makes a new one on reconnect.
It holds what waits on this connection: submits waiting for a window slot, submit_sm
sequence numbers waiting for their resp, and the timer loop's wake-up.

    submit ─▶ window_slot() (waits while the window is full) ─▶ session.submit ─▶ flush()
    submit_sm_resp ─▶ wake_waiters(1): one slot freed, one waiter woken
    link lost ─▶ wake_waiters(): every waiter wakes and sees the session is not bound
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque

from switchboard.gateways.smpp.session import EsmeSession, SessionState, SubmitResponse


class SmppLink:
    """One TCP connection and its session; dropped whole when the connection ends."""

    def __init__(self, session: EsmeSession, writer: asyncio.StreamWriter) -> None:
        self.session = session
        self.writer = writer
        self.bound = False
        self.wake = asyncio.Event()  # the session's timer may have moved
        # submit() calls waiting for a window slot, woken one per answered submit_sm (all
        # of them when the link closes): an Event would wake every waiter for one slot.
        self.slot_waiters: deque[asyncio.Future[None]] = deque()
        self.pending: dict[int, asyncio.Future[SubmitResponse]] = {}

    @property
    def closed(self) -> bool:
        return self.session.closed

    async def window_slot(self) -> None:
        """Return when a submit_sm may go out now, or the session is no longer bound."""
        while self.session.state is SessionState.BOUND and self.session.window_free <= 0:
            waiter = asyncio.get_running_loop().create_future()
            self.slot_waiters.append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():
                    self.wake_waiters(1)  # we were given a slot we will not use: pass it on
                raise

    def wake_waiters(self, count: int | None = None) -> None:
        while self.slot_waiters and (count is None or count > 0):
            waiter = self.slot_waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                count = None if count is None else count - 1

    async def flush(self) -> None:
        data = self.session.data_to_send()
        if data and not self.writer.is_closing():
            self.writer.write(data)
            with contextlib.suppress(ConnectionError):
                await self.writer.drain()
        if self.closed:
            self.writer.close()  # the read loop then sees EOF and ends
        self.wake.set()
