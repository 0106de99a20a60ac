"""DeviceRegistry: devices registering, resuming, dropping off and being forgotten.

register (socket) ─▶ hub: new device, or resume (replay after lastSeq; an older socket of
    the device is closed 4011) ─▶ ack {deviceId, iceServers, heartbeatSeconds, calls}
socket ends ─▶ detach: the device keeps its calls for the reconnect grace
    ├ register again in time ─▶ resumed, the grace is cancelled
    └ grace over · unregister · token revoked ─▶ drop: "lost" to each call's owner
unregister {keepCalls} (a page reloading mid-call) ─▶ reloading: the other calls end now;
    the kept 1:1 calls wait PAGE_RELOAD_SECONDS for the new page to resume the device
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from switchboard.calling import models as m
from switchboard.calling.models import EndReason
from switchboard.calling.routing.messages import Lost
from switchboard.calling.routing.router import CallRouter
from switchboard.calling.signaling.frames import Ack, ack
from switchboard.calling.signaling.hub import DeviceConnection, DeviceHub, LocalDevice
from switchboard.calling.signaling.protocol import CLOSE_REPLACED, IceServer
from switchboard.core.clock import Clock

log = logging.getLogger(__name__)

IceServers = Callable[[str], list[IceServer]]
# How long a page that reloads mid-call has to resume its device (a reload takes 1-2 s).
PAGE_RELOAD_SECONDS = 5.0


class DeviceRegistry:
    def __init__(
        self,
        hub: DeviceHub,
        *,
        ice_servers: IceServers,
        heartbeat_seconds: float,
        reconnect_grace_seconds: float,
        clock: Clock,
        router: CallRouter,
    ) -> None:
        self._hub = hub
        self._ice_servers = ice_servers
        self._heartbeat_seconds = heartbeat_seconds
        self._grace_seconds = reconnect_grace_seconds
        self._clock = clock
        self._router = router
        self._graces: dict[str, asyncio.TimerHandle] = {}

    def stop(self) -> None:
        for handle in self._graces.values():
            handle.cancel()
        self._graces.clear()

    def register(
        self,
        user_id: str,
        device_id: str | None,
        last_seq: int | None,
        connection: DeviceConnection,
        *,
        join_only: bool = False,
        request_id: str | None = None,
    ) -> tuple[LocalDevice, Ack]:
        """The device (new or resumed) and the ack of its register request."""
        registration = self._hub.register(user_id, device_id, last_seq, connection)
        device = registration.device
        device.join_only = join_only
        grace = self._graces.pop(device.device_id, None)
        if grace is not None:
            grace.cancel()
        if registration.replaced is not None and registration.replaced is not connection:
            registration.replaced.close(CLOSE_REPLACED, "This device connected again.")
        log.info(
            "device %s of %s %s",
            device.device_id,
            user_id,
            "resumed" if registration.resumed else "registered",
        )
        result = ack(
            request_id,
            device_id=device.device_id,
            user_id=user_id,
            resumed=registration.resumed,
            calls=sorted(device.calls),
            heartbeat_seconds=self._heartbeat_seconds,
            ice_servers=self._ice_servers(user_id),
        )
        return device, result

    def detach(self, device: LocalDevice, connection: DeviceConnection) -> None:
        """The socket ended: keep the device (and its calls) for the grace period."""
        if not self._hub.detach(device, connection, self._clock.now()):
            return
        loop = asyncio.get_running_loop()
        self._graces[device.device_id] = loop.call_later(
            self._grace_seconds, self._expire, device.device_id
        )

    def drop(self, device: LocalDevice, reason: EndReason) -> None:
        """Forget the device now (unregister, token revoked): its calls end."""
        grace = self._graces.pop(device.device_id, None)
        if grace is not None:
            grace.cancel()
        self._hub.remove(device)
        self._leave(device, tuple(device.calls), reason)

    def reloading(self, device: LocalDevice, connection: DeviceConnection, keep: set[str]) -> None:
        """The device's page is going away and says a new page will resume it (a reload):
        the calls in ``keep`` (its 1:1 calls; the SDK offers them again from a new peer
        connection) wait ``PAGE_RELOAD_SECONDS`` for it; every other call (ringing ones,
        group calls, which the new page joins again) ends for it now, as unregister does.
        No page back in time: it left (hung up), it did not lose its network."""
        kept = keep & device.active
        self._leave(device, tuple(c for c in device.calls if c not in kept), m.HUNG_UP)
        if not kept:
            self.drop(device, m.HUNG_UP)
            return
        if not self._hub.detach(device, connection, self._clock.now()):
            return
        loop = asyncio.get_running_loop()
        seconds = min(PAGE_RELOAD_SECONDS, self._grace_seconds)
        self._graces[device.device_id] = loop.call_later(
            seconds, self._expire, device.device_id, m.HUNG_UP
        )

    def _leave(self, device: LocalDevice, call_ids: tuple[str, ...], reason: EndReason) -> None:
        for call_id in call_ids:
            owner = device.calls.pop(call_id, "")
            device.active.discard(call_id)
            if not owner:
                continue  # a join still being placed: its owner is not known yet
            lost = Lost(
                call=call_id,
                node=device.address.node,
                device=device.device_id,
                reason=reason.info(),
            )
            self._router.to_owner(owner, lost)

    def _expire(self, device_id: str, reason: EndReason = m.NETWORK_LOST) -> None:
        self._graces.pop(device_id, None)
        device = self._hub.get(device_id)
        if device is not None and device.connection is None:
            log.info("device %s did not reconnect in time", device_id)
            self.drop(device, reason)
