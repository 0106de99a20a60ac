"""The push registration API's JSON (docs/push.md): the only module that knows its casing."""

from __future__ import annotations

from typing import Any

import msgspec

from switchboard.push.models import PushKind, PushRegistrationError, Registration
from switchboard.push.service import NewRegistration


class SubscriptionKeys(msgspec.Struct):
    p256dh: str = ""
    auth: str = ""


class RegisterRequest(msgspec.Struct, rename="camel"):
    kind: str
    token: str | None = None  # FCM / APNs token, WNS channel URI
    endpoint: str | None = None  # Web Push: the PushSubscription's endpoint…
    keys: SubscriptionKeys | None = None  # …and keys, as PushSubscription.toJSON() has them
    app_id: str = ""
    ttl_seconds: float | None = None

    def registration(self, device_id: str) -> NewRegistration:
        try:
            kind = PushKind(self.kind)
        except ValueError:
            allowed = ", ".join(k.value for k in PushKind)
            raise PushRegistrationError(f"kind must be one of {allowed}.", target="kind") from None
        keys = self.keys or SubscriptionKeys()
        token = (self.endpoint if kind is PushKind.WEBPUSH else self.token) or ""
        return NewRegistration(
            device_id, kind, token, self.app_id, keys.p256dh, keys.auth, self.ttl_seconds
        )


def registration_json(registration: Registration) -> dict[str, Any]:
    """What the app may see again: never the subscription's keys."""
    return {
        "deviceId": registration.device_id,
        "kind": registration.kind.value,
        "appId": registration.app_id,
        "expiresAt": registration.expires_ms,
    }
