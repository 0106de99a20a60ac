"""Protocol-true fakes of the four push services, on 127.0.0.1, checking what they receive.

- ``WebPushService``: a push service *and* the browser behind it. ``subscribe()`` makes a
  P-256 key pair and auth secret as a browser does; a push must carry a valid VAPID JWT
  (ES256 with the ``k`` key, ``aud`` = the endpoint's origin, ``exp`` within 24 h) and an
  aes128gcm body that decrypts with the subscription's keys.
- ``FcmService``: the OAuth token endpoint checks the service account's RS256 assertion
  (issuer, scope, audience); ``messages:send`` checks the bearer token and the message.
- ``ApnsService``: HTTP/2 (h2, prior knowledge) checking the ES256 provider token (kid,
  iss) and the apns-topic / apns-push-type / apns-expiration headers; 200 with headers only
  and an echoed apns-id, as APNs answers.
- ``WnsService``: the client-credentials token step, then raw notifications on channel URIs.

Every fake answers a token in ``dead`` as its service does for a gone device, and the next
statuses queued in ``fail_next`` (with an optional Retry-After) before anything else.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import http_ece
import jwt
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from h2.config import H2Configuration
from h2.connection import H2Connection
from h2.events import DataReceived, RequestReceived, StreamEnded

WAIT_SECONDS = 30.0  # for pushes to arrive (a loaded machine); a failing test waits it out


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class Pushed:
    token: str  # the device: subscription id, FCM/APNs token, WNS channel id
    payload: dict[str, Any]
    headers: dict[str, str]


@dataclass
class FakeService:
    dead: set[str] = field(default_factory=set)
    fail_next: list[tuple[int, str | None]] = field(default_factory=list)  # status, Retry-After
    received: list[Pushed] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # what a check refused
    port: int = 0
    _runner: web.AppRunner | None = None
    _app: web.Application | None = None
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start_app(self, app: web.Application) -> None:
        self._app = app
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        server = site._server
        assert server is not None  # asyncio's or uvloop's (bench/push.py)
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def restart(self) -> None:
        """Back on the same port, as a service after an outage."""
        assert self._app is not None and self._runner is None
        app = web.Application()
        for route in self._app.router.routes():
            app.router.add_route(route.method, route.resource.canonical, route.handler)  # type: ignore[union-attr]
        await self.start_app(app)

    def record(self, pushed: Pushed) -> None:
        self.received.append(pushed)
        self._arrived.set()

    async def wait_for(self, count: int) -> list[Pushed]:
        async with asyncio.timeout(WAIT_SECONDS):
            while len(self.received) < count:
                self._arrived.clear()
                await self._arrived.wait()
        return self.received

    def queued_failure(self) -> web.Response | None:
        if not self.fail_next:
            return None
        status, retry_after = self.fail_next.pop(0)
        headers = {"Retry-After": retry_after} if retry_after else {}
        return web.Response(status=status, headers=headers, text="fake failure")

    def refuse(self, why: str, status: int = 401) -> web.Response:
        self.errors.append(why)
        return web.Response(status=status, text=why)


# ── Web Push ────────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class Subscription:
    """What a page's PushManager.subscribe() resolves to, and the browser's secrets."""

    id: str
    endpoint: str
    p256dh: str
    auth: str
    private_key: ec.EllipticCurvePrivateKey

    def json(self) -> dict[str, Any]:
        return {"endpoint": self.endpoint, "keys": {"p256dh": self.p256dh, "auth": self.auth}}


@dataclass
class WebPushService(FakeService):
    subscriptions: dict[str, Subscription] = field(default_factory=dict)
    verify_every: int = 1  # bench/push.py: check and decrypt one push in N (1: every one)
    taken: int = 0  # pushes answered 201

    async def start(self) -> WebPushService:
        app = web.Application()
        app.router.add_post("/push/{id}", self._push)
        app.router.add_post("/ping", self._ping)  # bench/push.py's ceiling: a bare POST
        await self.start_app(app)
        return self

    async def _ping(self, request: web.Request) -> web.Response:
        await request.read()
        return web.Response(status=201)

    def subscribe(self) -> Subscription:
        key = ec.generate_private_key(ec.SECP256R1())
        raw = key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        sub_id = uuid.uuid4().hex
        sub = Subscription(
            sub_id,
            f"{self.base_url}/push/{sub_id}",
            b64url(raw),
            b64url(uuid.uuid4().bytes),
            key,
        )
        self.subscriptions[sub_id] = sub
        return sub

    async def _push(self, request: web.Request) -> web.Response:
        sub_id = request.match_info["id"]
        failure = self.queued_failure()
        if failure is not None:
            return failure
        if sub_id in self.dead or sub_id not in self.subscriptions:
            return web.Response(status=410, text="push subscription has unsubscribed or expired")
        self.taken += 1
        if self.taken % self.verify_every:
            await request.read()
            return web.Response(status=201)
        why = self._check_vapid(request)
        if why:
            return self.refuse(why)
        if request.headers.get("Content-Encoding") != "aes128gcm":
            return self.refuse("Content-Encoding must be aes128gcm", 400)
        if not request.headers.get("TTL", "").isdigit():
            return self.refuse("TTL header missing", 400)
        sub = self.subscriptions[sub_id]
        body = await request.read()
        try:
            clear = http_ece.decrypt(
                body,
                private_key=sub.private_key,
                auth_secret=unb64url(sub.auth),
                version="aes128gcm",
            )
        except Exception as exc:
            return self.refuse(f"aes128gcm body does not decrypt: {exc}", 400)
        self.record(Pushed(sub_id, json.loads(clear), dict(request.headers)))
        return web.Response(status=201, headers={"Location": f"/message/{uuid.uuid4()}"})

    def _check_vapid(self, request: web.Request) -> str:
        header = request.headers.get("Authorization", "")
        if not header.startswith("vapid "):
            return "Authorization is not a VAPID header"
        params = dict(
            part.strip().split("=", 1) for part in header[len("vapid ") :].split(",") if "=" in part
        )
        try:
            public = ec.EllipticCurvePublicKey.from_encoded_point(
                ec.SECP256R1(), unb64url(params["k"])
            )
            claims = jwt.decode(
                params["t"],
                public,
                algorithms=["ES256"],
                audience=f"http://127.0.0.1:{self.port}",
                options={"require": ["exp", "aud", "sub"]},
            )
        except (KeyError, ValueError, jwt.PyJWTError) as exc:
            return f"VAPID token refused: {exc}"
        if claims["exp"] > time.time() + 24 * 3600:
            return "VAPID exp is more than 24 h away"
        if not str(claims["sub"]).startswith(("mailto:", "https:")):
            return "VAPID sub must be a mailto: or https: URL"
        return ""


# ── FCM ─────────────────────────────────────────────────────────────────────────────────────


@dataclass
class FcmService(FakeService):
    project: str = "switchboard-test"
    client_email: str = "push@switchboard-test.iam.gserviceaccount.com"
    tokens_issued: int = 0
    _key: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    _access: set[str] = field(default_factory=set)

    async def start(self) -> FcmService:
        app = web.Application()
        app.router.add_post("/token", self._token)
        app.router.add_post("/v1/projects/{project}/messages:send", self._send)
        await self.start_app(app)
        return self

    def service_account(self) -> dict[str, str]:
        """The JSON a Firebase console hands out, pointing at this fake's token endpoint."""
        pem = self._key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        return {
            "type": "service_account",
            "project_id": self.project,
            "private_key_id": "k1",
            "private_key": pem,
            "client_email": self.client_email,
            "client_id": "1",
            "token_uri": f"{self.base_url}/token",
        }

    async def _token(self, request: web.Request) -> web.Response:
        form = await request.post()
        if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            return self.refuse("grant_type must be jwt-bearer", 400)
        try:
            claims = jwt.decode(
                str(form.get("assertion", "")),
                self._key.public_key(),
                algorithms=["RS256"],
                audience=f"{self.base_url}/token",
                issuer=self.client_email,
                options={"require": ["exp", "iat", "iss", "aud"]},
            )
        except jwt.PyJWTError as exc:
            return self.refuse(f"assertion refused: {exc}", 400)
        if "firebase.messaging" not in claims.get("scope", ""):
            return self.refuse("scope lacks firebase.messaging", 400)
        token = uuid.uuid4().hex
        self._access.add(token)
        self.tokens_issued += 1
        return web.json_response(
            {"access_token": token, "expires_in": 3599, "token_type": "Bearer"}
        )

    async def _send(self, request: web.Request) -> web.Response:
        failure = self.queued_failure()
        if failure is not None:
            return failure
        if request.headers.get("Authorization", "").removeprefix("Bearer ") not in self._access:
            return self.refuse("bearer token unknown")
        if request.match_info["project"] != self.project:
            return self.refuse("wrong project", 403)
        message = (await request.json()).get("message", {})
        token = message.get("token")
        data = message.get("data", {})
        if not isinstance(token, str) or not all(isinstance(v, str) for v in data.values()):
            return self.refuse("message.token and string data values are required", 400)
        if token in self.dead:
            error = {
                "code": 404,
                "status": "NOT_FOUND",
                "details": [{"errorCode": "UNREGISTERED"}],
            }
            return web.json_response({"error": error}, status=404)
        self.record(Pushed(token, data, {"android": json.dumps(message.get("android", {}))}))
        return web.json_response({"name": f"projects/{self.project}/messages/{uuid.uuid4()}"})


# ── APNs (HTTP/2) ───────────────────────────────────────────────────────────────────────────


@dataclass
class ApnsService(FakeService):
    team_id: str = "TEAM123456"
    key_id: str = "KEY1234567"
    topic: str = "com.example.switchboard"
    _key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    _server: asyncio.Server | None = None
    _connections: set[asyncio.Transport] = field(default_factory=set)

    def key_pem(self) -> bytes:
        return self._key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    async def start(self) -> ApnsService:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: _H2Protocol(self), "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for transport in self._connections:  # as a service that went down
            transport.close()
        self._connections.clear()

    def answer(self, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]:
        """One request's (status, headers, body)."""
        apns_id = headers.get("apns-id") or str(uuid.uuid4()).upper()
        if self.fail_next:
            status, retry_after = self.fail_next.pop(0)
            extra = {"retry-after": retry_after} if retry_after else {}
            return status, extra, json.dumps({"reason": "ServiceUnavailable"}).encode()
        why = self._check(headers)
        if why:
            self.errors.append(why)
            return 403, {}, json.dumps({"reason": why}).encode()
        token = headers[":path"].removeprefix("/3/device/")
        if token in self.dead:
            reason = {"reason": "Unregistered", "timestamp": int(time.time() * 1000)}
            return 410, {"apns-id": apns_id}, json.dumps(reason).encode()
        self.record(Pushed(token, json.loads(body), headers))
        return 200, {"apns-id": apns_id}, b""

    def _check(self, headers: dict[str, str]) -> str:
        if headers.get(":method") != "POST" or not headers.get(":path", "").startswith(
            "/3/device/"
        ):
            return "BadPath"
        auth = headers.get("authorization", "")
        try:
            token = auth.removeprefix("bearer ")
            if jwt.get_unverified_header(token).get("kid") != self.key_id:
                return "InvalidProviderToken"
            claims = jwt.decode(token, self._key.public_key(), algorithms=["ES256"])
        except jwt.PyJWTError:
            return "InvalidProviderToken"
        if claims.get("iss") != self.team_id or time.time() - claims.get("iat", 0) > 3600:
            return "ExpiredProviderToken"
        push_type = headers.get("apns-push-type")
        topic = headers.get("apns-topic", "")
        if push_type not in ("voip", "alert", "background"):
            return "InvalidPushType"
        expected = f"{self.topic}.voip" if push_type == "voip" else self.topic
        if topic != expected:
            return "TopicDisallowed"
        if not headers.get("apns-expiration", "").isdigit():
            return "BadExpirationDate"
        return ""


class _H2Protocol(asyncio.Protocol):
    def __init__(self, service: ApnsService) -> None:
        self._service = service
        self._conn = H2Connection(H2Configuration(client_side=False, header_encoding="utf-8"))
        self._transport: asyncio.Transport | None = None
        self._streams: dict[int, tuple[dict[str, str], bytearray]] = {}

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self._service._connections.add(transport)
        self._conn.initiate_connection()
        transport.write(self._conn.data_to_send())

    def data_received(self, data: bytes) -> None:
        assert self._transport is not None
        for event in self._conn.receive_data(data):
            if isinstance(event, RequestReceived):
                headers = {str(k): str(v) for k, v in event.headers or []}
                self._streams[event.stream_id] = (headers, bytearray())
            elif isinstance(event, DataReceived):
                self._streams[event.stream_id][1].extend(event.data or b"")
                self._conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            elif isinstance(event, StreamEnded):
                headers, body = self._streams.pop(event.stream_id)
                status, extra, answer = self._service.answer(headers, bytes(body))
                response = [(":status", str(status)), *extra.items()]
                self._conn.send_headers(event.stream_id, response, end_stream=not answer)
                if answer:
                    self._conn.send_data(event.stream_id, answer, end_stream=True)
        self._transport.write(self._conn.data_to_send())


# ── WNS ─────────────────────────────────────────────────────────────────────────────────────


@dataclass
class WnsService(FakeService):
    client_id: str = "ms-app://s-1-15-2-1234"
    client_secret: str = "wns-secret"
    tokens_issued: int = 0
    _access: set[str] = field(default_factory=set)

    async def start(self) -> WnsService:
        app = web.Application()
        app.router.add_post("/token", self._token)
        app.router.add_post("/channel/{id}", self._notify)
        await self.start_app(app)
        return self

    @property
    def token_url(self) -> str:
        return f"{self.base_url}/token"

    def channel(self) -> str:
        return f"{self.base_url}/channel/{uuid.uuid4().hex}"

    def revoke_tokens(self) -> None:
        self._access.clear()

    async def _token(self, request: web.Request) -> web.Response:
        form = await request.post()
        if form.get("grant_type") != "client_credentials" or form.get("scope") != (
            "notify.windows.com"
        ):
            return self.refuse("grant_type/scope", 400)
        if (form.get("client_id"), form.get("client_secret")) != (
            self.client_id,
            self.client_secret,
        ):
            return self.refuse("invalid_client", 400)
        token = uuid.uuid4().hex
        self._access.add(token)
        self.tokens_issued += 1
        return web.json_response(
            {"access_token": token, "token_type": "bearer", "expires_in": 86400}
        )

    async def _notify(self, request: web.Request) -> web.Response:
        failure = self.queued_failure()
        if failure is not None:
            return failure
        channel = request.match_info["id"]
        if request.headers.get("Authorization", "").removeprefix("Bearer ") not in self._access:
            return web.Response(status=401, headers={"WWW-Authenticate": "Bearer"})
        if request.headers.get("X-WNS-Type") != "wns/raw":
            return self.refuse("X-WNS-Type must be wns/raw", 400)
        if channel in self.dead:
            return web.Response(status=410)
        body = await request.read()
        self.record(Pushed(channel, json.loads(body), dict(request.headers)))
        return web.Response(status=200, headers={"X-WNS-Status": "received"})


def channel_id(uri: str) -> str:
    return urlsplit(uri).path.rsplit("/", 1)[-1]
