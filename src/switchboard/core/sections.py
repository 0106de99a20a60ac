"""The node's configuration, one small frozen section per part, each handed only to what uses it.

    TOML file · SWITCHBOARD_* environment · command line ─▶ Settings (config.py: the flat
        names people type, one namespace) ─▶ node_config(settings) ─▶ NodeConfig
    NodeConfig.server ─▶ the HTTP server, TLS · .storage ─▶ Database · .bus ─▶ MemoryBus/RedisBus
    .auth ─▶ access keys, HMAC, signing keys · .chat ─▶ chat/ · .calling ─▶ calling/
    .media ─▶ the SFU · .turn ─▶ traversal/ · .events ─▶ events/ · .numbers ─▶ numbers/
    .sms ─▶ sms/ · .automation ─▶ automation/ (callbacks) · .push ─▶ push/

Only the composition root (app.py) and the CLI see the whole ``NodeConfig``; a domain gets its
own section and, where it must tell clients where the node is, the ``ServerConfig``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

# Re-exported: it was born here, and many modules import it from here.
from switchboard.core.errors import ConfigError as ConfigError


class Mode(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


@dataclasses.dataclass(frozen=True, slots=True)
class ServerConfig:
    """Where the node listens and how clients reach it."""

    data_dir: Path = Path(".switchboard")
    host: str = "127.0.0.1"
    port: int = 8443
    public_host: str | None = None
    public_url: str | None = None  # the URL clients use through a proxy (docs/deploy.md)
    tls: bool = True  # False: plain HTTP behind a TLS-terminating proxy
    tls_cert: str | None = None  # an operator's certificate (PEM); None: the local CA's
    tls_key: str | None = None
    tls_reload_seconds: float = 5.0
    trusted_proxies: tuple[str, ...] = ()  # http/proxy.py
    metrics_allowed_networks: tuple[str, ...] = ()  # empty: /metrics open to anyone
    # A name under .asm.skype.com that resolves to this node (DNS, or a hosts-file line):
    # recording download locations use it, the local CA's certificate covers it
    # (docs/recording.md). Empty: locations on the endpoint's own host.
    recording_host: str | None = "recordings.switchboard.asm.skype.com"
    mode: Mode = Mode.DEVELOPMENT
    log_level: str = "info"
    log_format: str = "text"  # core/logs.py: text or json
    cors_allowed_origins: tuple[str, ...] = ()  # http/cors.py; empty: any in development
    access_log: bool = False
    http_server: str = "uvicorn"
    shutdown_timeout_seconds: float = 10.0
    max_header_bytes: int = 64 * 1024
    max_header_count: int = 100
    header_timeout_seconds: float = 10.0
    body_timeout_seconds: float = 30.0

    def endpoint(self, port: int | None = None) -> str:
        """The endpoint clients use: ``public_url`` if set, else the public host (or the bind
        host) and the port we listen on."""
        if self.public_url:
            return self.public_url.rstrip("/") + "/"
        host = self.public_host or self.host
        if host in ("0.0.0.0", "::"):
            host = "localhost"
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{host}:{port if port is not None else self.port}/"

    def public_port(self, port: int) -> int:
        """The port clients reach: ``public_url``'s (a proxy's), else the one we listen on."""
        if not self.public_url:
            return port
        parts = urlsplit(self.public_url)
        return parts.port or (443 if parts.scheme == "https" else 80)

    @property
    def local_ca(self) -> bool:
        """We serve a certificate of our own local CA (not the operator's, not plain HTTP)."""
        return self.tls and not self.tls_cert

    @property
    def development(self) -> bool:
        return self.mode is Mode.DEVELOPMENT


@dataclasses.dataclass(frozen=True, slots=True)
class StorageConfig:
    database_url: str  # SQLite in the data dir unless a PostgreSQL URL was given


@dataclasses.dataclass(frozen=True, slots=True)
class BusConfig:
    redis_url: str | None = None  # None: the in-process bus (one node)
    redis_namespace: str = "switchboard"

    @property
    def clustered(self) -> bool:
        """Several nodes may share this bus (and so hold each other's devices and calls)."""
        return self.redis_url is not None


@dataclasses.dataclass(frozen=True, slots=True)
class AuthConfig:
    hmac_max_skew_seconds: int = 900
    access_key_reload_seconds: float = 5.0
    signing_key_rotation_days: int = 30


@dataclasses.dataclass(frozen=True, slots=True)
class ChatConfig:
    heartbeat_seconds: float = 15.0
    event_retention_hours: float = 24.0
    max_message_bytes: int = 28 * 1024
    max_participants: int = 250
    max_participants_per_add: int = 200
    max_participants_for_typing_and_receipts: int = 20


@dataclasses.dataclass(frozen=True, slots=True)
class CallingConfig:
    ring_timeout_seconds: float = 85.0  # an unanswered call ends (487/10004)
    reconnect_grace_seconds: float = 60.0  # a dropped device keeps its calls this long
    max_participants: int = 350  # per group call or Room call (ACS: 350)


@dataclasses.dataclass(frozen=True, slots=True)
class MediaConfig:
    host: str = "127.0.0.1"  # the SFU's UDP bind address = its ICE-lite host candidate
    port_min: int = 0  # UDP port range of the SFU; 0/0: any free port
    port_max: int = 0

    @property
    def ports(self) -> tuple[int, int] | None:
        return (self.port_min, self.port_max) if self.port_min else None


@dataclasses.dataclass(frozen=True, slots=True)
class TurnConfig:
    enabled: bool = False  # start and supervise a local coturn (`serve --turn`)
    listen_ip: str = "127.0.0.1"
    port: int = 3478  # 0 picks a free port
    tls_port: int = 0  # 0: no TLS listener
    host: str | None = None  # host in the handed-out URLs; default listen_ip
    realm: str = "switchboard"
    secret: str | None = None  # unset: generated once, kept with the resource secrets
    urls: str | None = None  # external TURN server: comma-separated stun:/turn:/turns: URLs
    turnserver_path: str = "turnserver"


@dataclasses.dataclass(frozen=True, slots=True)
class EventSubscriptionConfig:
    """A webhook declared in the config file (``[[events.subscriptions]]``), applied at start.

    The keys are those of ``PUT /admin/eventSubscriptions/{name}`` in snake_case (camelCase is
    accepted too); ``switchboard.events`` checks the values when it applies them.
    """

    name: str
    endpoint_url: str
    included_event_types: tuple[str, ...] = ()
    event_delivery_schema: str = "EventGridSchema"
    secret: str | None = None
    max_delivery_attempts: int | None = None
    event_time_to_live_in_minutes: int | None = None
    subject_begins_with: str | None = None
    subject_ends_with: str | None = None
    is_subject_case_sensitive: bool = False
    advanced_filters: tuple[Mapping[str, Any], ...] = ()  # Event Grid's advancedFilters entries


@dataclasses.dataclass(frozen=True, slots=True)
class EventsConfig:
    topic: str | None = None  # ARM id sent as topic/source; unset: from the resource id
    validation_handshake: bool = True  # Event Grid's handshake on subscription create
    allowed_endpoints: str | None = None  # production: private hosts/IPs/CIDRs allowed
    delivery_concurrency: int = 16  # deliveries in flight per node
    delivery_timeout_seconds: float = 30.0  # per attempt, as Event Grid
    retry_scale: float = 1.0  # multiplies Event Grid's retry schedule (tests: 0.001)
    poll_seconds: float = 2.0  # look for due deliveries this often without a wake-up
    retention_hours: float = 24.0  # settled events stay in the outbox this long
    subscriptions: tuple[EventSubscriptionConfig, ...] = ()  # [[events.subscriptions]]


@dataclasses.dataclass(frozen=True, slots=True)
class NumbersConfig:
    """Top-level ``[[carriers]]`` and ``[[numbers]]`` tables, checked and applied
    (idempotently) by switchboard.numbers at start."""

    carriers: tuple[Mapping[str, Any], ...] = ()
    numbers: tuple[Mapping[str, Any], ...] = ()


@dataclasses.dataclass(frozen=True, slots=True)
class SipConfig:
    """SIP trunks: the node's SIP socket and the ``[[trunks]]`` / ``[[routes]]`` tables
    (checked by gateways/sip when the node starts; docs/sip.md)."""

    host: str = "127.0.0.1"
    port: int = 5060
    tls_port: int = 0  # SIP over TLS with the node's certificate (data_dir/tls); 0: none
    data_dir: Path = Path(".switchboard")
    trunks: tuple[Mapping[str, Any], ...] = ()
    routes: tuple[Mapping[str, Any], ...] = ()


@dataclasses.dataclass(frozen=True, slots=True)
class SmsConfig:
    rate_per_number_per_minute: float = 200.0  # over it, messages wait in the queue
    rate_burst: int = 10  # messages a number may send at once before the rate applies
    queue_expiry_hours: float = 72.0  # a message the carrier never took fails after this
    event_casing: str = "pascal"  # SMS event data keys: pascal (as ACS sends) or camel
    # A node's claim on queued work (messages to send; the simulator's receipts and injected
    # messages): after a crash, that work is taken up again when the claim runs out.
    lease_seconds: float = 60.0


@dataclasses.dataclass(frozen=True, slots=True)
class AutomationConfig:
    """Call Automation callbacks (docs/automation-callbacks.md)."""

    callback_timeout_seconds: float = 10.0  # one POST, connect to answer
    callback_retry_seconds: float = 300.0  # then a batch still undelivered is dropped
    callback_retry_scale: float = 0.1  # multiplies Event Grid's retry schedule
    callback_concurrency: int = 64  # call connections delivering at once on this node
    callback_poll_seconds: float = 2.0  # look for due callbacks this often without a wake-up
    callback_issuer: str | None = None  # JWT "iss"; unset: the node's endpoint (https://host:port)
    allowed_endpoints: str | None = None  # production: private hosts/IPs/CIDRs callbacks may reach
    transcriber: str | None = None  # "module:factory" of a Transcriber; unset: pocketsphinx
    transcriber_model: str | None = None  # given to the factory (docs/media-streaming.md)


@dataclasses.dataclass(frozen=True, slots=True)
class RecordingConfig:
    """Call recordings (docs/recording.md)."""

    chunk_seconds: float = 60.0  # a chunk is a whole file, stored (fsynced) when complete
    s3_endpoint: str | None = None  # S3-compatible storage (clusters); unset: the data dir
    s3_bucket: str = "switchboard-recordings"
    s3_region: str = "us-east-1"
    s3_access_key: str | None = None
    s3_secret_key: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class PushConfig:
    """Push notifications (docs/push.md): each provider is on when its credentials are set.

    Credentials are paths to key files, read and checked when the node starts; their contents
    are never logged."""

    vapid_private_key_file: str | None = None  # Web Push: a P-256 key (PEM)
    vapid_subject: str = "mailto:admin@localhost"  # Web Push: who runs this server
    fcm_service_account_file: str | None = None  # FCM: the service account JSON
    fcm_base_url: str = "https://fcm.googleapis.com"
    apns_key_file: str | None = None  # APNs: the .p8 key (ES256)
    apns_key_id: str | None = None
    apns_team_id: str | None = None
    apns_topic: str | None = None  # the app's bundle id (VoIP pushes go to <topic>.voip)
    apns_base_url: str = "https://api.push.apple.com"
    wns_client_id: str | None = None  # WNS: the package SID
    wns_client_secret_file: str | None = None
    wns_token_url: str = "https://login.live.com/accesstoken.srf"
    allowed_endpoints: str | None = (
        None  # production: private hosts/IPs/CIDRs Web Push/WNS may reach
    )
    registration_ttl_hours: float = 30 * 24.0  # a registration not refreshed expires
    chat_thread_interval_seconds: float = 10.0  # at most one chat push per thread and user
    chat_per_user_per_minute: int = 30  # chat pushes to one user
    poll_seconds: float = 2.0  # look for due pushes this often without a wake-up
    lease_seconds: float = 30.0  # a node that dies holding pushes leaves them due after this
    max_backoff_seconds: float = 30.0  # a provider back after an outage is used this soon

    @property
    def enabled(self) -> bool:
        return any(
            (
                self.vapid_private_key_file,
                self.fcm_service_account_file,
                self.apns_key_file,
                self.wns_client_id,
            )
        )


@dataclasses.dataclass(frozen=True, slots=True)
class NodeConfig:
    server: ServerConfig
    storage: StorageConfig
    bus: BusConfig = BusConfig()
    auth: AuthConfig = AuthConfig()
    chat: ChatConfig = ChatConfig()
    calling: CallingConfig = CallingConfig()
    media: MediaConfig = MediaConfig()
    turn: TurnConfig = TurnConfig()
    events: EventsConfig = EventsConfig()
    numbers: NumbersConfig = NumbersConfig()
    sms: SmsConfig = SmsConfig()
    automation: AutomationConfig = AutomationConfig()
    recording: RecordingConfig = RecordingConfig()
    sip: SipConfig = SipConfig()
    push: PushConfig = PushConfig()
