"""FCM HTTP v1: a service account's signed JWT ─▶ an OAuth token ─▶ messages:send.

    google.auth.jwt.encode(RSASigner(service account key), {iss, scope, aud=token_uri, iat,
        exp}) ─▶ POST token_uri grant_type=jwt-bearer ─▶ access token (cached, oauth.py)
    POST {base_url}/v1/projects/{project}/messages:send  Authorization: Bearer <token>
        {"message": {"token", "data": {...strings}, "android": {"priority", "ttl",
        "collapse_key"}}}

Not firebase-admin: it hard-codes Google's URLs, and the base URL and token_uri here are
configurable (the service account file's token_uri is used, so a test's fake can stand in).
Dead: 404 / UNREGISTERED. A 401 drops the cached token and is retried.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import httpx
from google.auth import crypt
from google.auth import jwt as google_jwt

from switchboard.core.clock import Clock
from switchboard.push.models import Notification, Outcome, ProviderAnswer, PushKind, Registration
from switchboard.push.providers.base import classify, json_reason, unreachable
from switchboard.push.providers.oauth import AccessTokenCache, TokenRequestError

SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
DEAD_REASONS = ("UNREGISTERED",)


class FcmProvider:
    kind = PushKind.FCM

    def __init__(
        self,
        client: httpx.AsyncClient,
        service_account: Mapping[str, Any],
        *,
        base_url: str,
        clock: Clock,
    ) -> None:
        self._client = client
        self._account = service_account
        self._signer = crypt.RSASigner.from_service_account_info(  # type: ignore[no-untyped-call]  # google-auth: untyped
            service_account
        )
        self._base_url = base_url.rstrip("/")
        self._project = str(service_account["project_id"])
        self._clock = clock
        self._tokens = AccessTokenCache(
            client, str(service_account["token_uri"]), self._assertion_form, clock
        )

    def _assertion_form(self) -> dict[str, str]:
        now = int(self._clock.now())
        claims = {
            "iss": self._account["client_email"],
            "scope": SCOPE,
            "aud": self._account["token_uri"],
            "iat": now,
            "exp": now + 3600,
        }
        assertion_bytes = google_jwt.encode(self._signer, claims)  # type: ignore[no-untyped-call]  # untyped
        assertion = assertion_bytes.decode()
        return {"grant_type": JWT_BEARER, "assertion": assertion}

    async def send(self, registration: Registration, notification: Notification) -> ProviderAnswer:
        project = registration.app_id or self._project
        url = f"{self._base_url}/v1/projects/{project}/messages:send"
        message = {"message": fcm_message(registration.token, notification)}
        try:
            token = await self._tokens.get()
            response = await self._client.post(
                url, json=message, headers={"Authorization": f"Bearer {token}"}
            )
        except (httpx.HTTPError, TokenRequestError) as exc:
            return unreachable(exc)
        if response.status_code == 401:
            self._tokens.invalidate()
            return ProviderAnswer(Outcome.RETRY, 401, "access token refused; a new one next")
        reason = json_reason(response, "error", "status")
        details = _error_codes(response)
        dead_reason = next((r for r in details if r in DEAD_REASONS), reason)
        return classify(
            response, now=self._clock.now(), dead_reasons=DEAD_REASONS, reason=dead_reason
        )

    async def close(self) -> None:
        await self._client.aclose()


def fcm_message(token: str, notification: Notification) -> dict[str, Any]:
    """FCM data values are strings: strings as they are, anything else as JSON."""
    data = {
        key: value if isinstance(value, str) else json.dumps(value)
        for key, value in notification.payload().items()
    }
    android: dict[str, Any] = {
        "priority": "high" if notification.kind.is_call else "normal",
        "ttl": f"{notification.ttl_seconds}s",
    }
    if notification.collapse_key:
        android["collapse_key"] = notification.collapse_key
    return {"token": token, "data": data, "android": android}


def _error_codes(response: httpx.Response) -> list[str]:
    """``error.details[].errorCode`` of an FCM error (UNREGISTERED lives there)."""
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return []
    details = body.get("error", {}).get("details", []) if isinstance(body, dict) else []
    return [d["errorCode"] for d in details if isinstance(d, dict) and "errorCode" in d]
