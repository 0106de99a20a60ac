"""Server settings: defaults < TOML file < ``SWITCHBOARD_*`` environment < command line.

Every field of :class:`Settings` can be set in all three places under the same name
(``database_url`` / ``SWITCHBOARD_DATABASE_URL`` / ``--database-url``). ``Settings`` is that
flat surface of names and nothing more: ``node_config()`` turns it into the per-section
``NodeConfig`` (sections.py) that the composition root hands out, a section to each part.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from switchboard.core.config_checks import (
    SECTIONS,
    TABLE_ARRAYS,
    check_sections,
    check_settings,
    nearest,
    redact_url,
)
from switchboard.core.sections import (
    AuthConfig,
    AutomationConfig,
    BusConfig,
    CallingConfig,
    ChatConfig,
    ConfigError,
    EventsConfig,
    EventSubscriptionConfig,
    MediaConfig,
    Mode,
    NodeConfig,
    NumbersConfig,
    PushConfig,
    RecordingConfig,
    ServerConfig,
    SipConfig,
    SmsConfig,
    StorageConfig,
    TurnConfig,
)

__all__ = [
    "ConfigError",
    "EventSubscriptionConfig",
    "Mode",
    "NodeConfig",
    "Settings",
    "check_settings",
    "load_config",
    "load_settings",
    "node_config",
    "redact_url",
]

ENV_PREFIX = "SWITCHBOARD_"


@dataclasses.dataclass(frozen=True, slots=True)
class Settings:
    data_dir: Path = Path(".switchboard")
    host: str = "127.0.0.1"
    port: int = 8443
    public_host: str | None = None
    # The URL clients use when a proxy or load balancer stands in front (https://sb.example.com/):
    # the connection string, recording links and callback issuer start with it.
    public_url: str | None = None
    # TLS (http/tls.py, docs/deploy.md): your certificate and key (PEM), re-read on SIGHUP or
    # when the files change; unset: a certificate from the local CA. tls = false: plain HTTP,
    # for a TLS-terminating proxy in front.
    tls: bool = True
    tls_cert: str | None = None
    tls_key: str | None = None
    tls_reload_seconds: float = 5.0  # how often the certificate files are looked at
    # Peers whose X-Forwarded-* / Forwarded headers are believed (http/proxy.py): CIDRs
    trusted_proxies: tuple[str, ...] = ()
    # Who may read /metrics (CIDRs); empty: anyone (production mode warns)
    metrics_allowed_networks: tuple[str, ...] = ()
    recording_host: str | None = "recordings.switchboard.asm.skype.com"
    database_url: str | None = None
    redis_url: str | None = None
    redis_namespace: str = "switchboard"
    mode: Mode = Mode.DEVELOPMENT
    log_level: str = "info"
    log_format: str = "text"  # text, or json: one JSON object per line (core/logs.py)
    # Web apps on their own origin calling the chat REST API and /me (http/cors.py): a list,
    # or comma-separated in the environment; "*" any. Empty: any in development, none in
    # production.
    cors_allowed_origins: tuple[str, ...] = ()
    hmac_max_skew_seconds: int = 900
    access_key_reload_seconds: float = 5.0
    chat_heartbeat_seconds: float = 15.0
    chat_event_retention_hours: float = 24.0
    chat_max_message_bytes: int = 28 * 1024
    chat_max_participants: int = 250
    chat_max_participants_per_add: int = 200
    chat_max_participants_for_typing_and_receipts: int = 20
    signing_key_rotation_days: int = 30
    shutdown_timeout_seconds: float = 10.0
    calling_ring_timeout_seconds: float = 85.0  # an unanswered call ends (487/10004)
    calling_reconnect_grace_seconds: float = 60.0  # a dropped device keeps its calls this long
    calling_max_participants: int = 350  # per group call or Room call (ACS: 350)
    media_host: str = "127.0.0.1"  # the SFU's UDP bind address = its ICE-lite host candidate
    media_port_min: int = 0  # UDP port range of the SFU; 0/0: any free port
    media_port_max: int = 0
    access_log: bool = False
    http_server: str = "uvicorn"
    # Request limits on both HTTP servers (http/limits.py): 431 / 408 and the connection closed
    max_header_bytes: int = 64 * 1024  # request line + headers (granian: at least 8 KiB)
    max_header_count: int = 100  # granian (hyper) never accepts more than 100
    header_timeout_seconds: float = 10.0  # to receive a request head, from its first byte
    body_timeout_seconds: float = 30.0  # longest silence between two pieces of a body
    # TURN relay (traversal/, docs/turn.md)
    turn_enabled: bool = False  # start and supervise a local coturn (`serve --turn`)
    turn_listen_ip: str = "127.0.0.1"
    turn_port: int = 3478  # 0 picks a free port
    turn_tls_port: int = 0  # 0: no TLS listener
    turn_host: str | None = None  # host in the handed-out URLs; default turn_listen_ip
    turn_realm: str = "switchboard"
    turn_secret: str | None = None  # unset: generated once, kept with the resource secrets
    turn_urls: str | None = None  # external TURN server: comma-separated stun:/turn:/turns: URLs
    turnserver_path: str = "turnserver"
    # Event Grid webhooks (events/, docs/events.md)
    events_topic: str | None = None  # ARM id sent as topic/source; unset: from the resource id
    events_validation_handshake: bool = True  # Event Grid's handshake on subscription create
    events_allowed_endpoints: str | None = None  # production: private hosts/IPs/CIDRs allowed
    events_delivery_concurrency: int = 16  # deliveries in flight per node
    events_delivery_timeout_seconds: float = 30.0  # per attempt, as Event Grid
    events_retry_scale: float = 1.0  # multiplies Event Grid's retry schedule (tests: 0.001)
    events_poll_seconds: float = 2.0  # look for due deliveries this often without a wake-up
    events_retention_hours: float = 24.0  # settled events stay in the outbox this long
    events_subscriptions: tuple[EventSubscriptionConfig, ...] = ()  # [[events.subscriptions]]
    # Phone numbers (numbers/, docs/numbers.md): top-level [[carriers]] and [[numbers]] tables,
    # checked and applied (idempotently) by switchboard.numbers at start.
    carriers: tuple[Mapping[str, Any], ...] = ()
    numbers: tuple[Mapping[str, Any], ...] = ()
    # SIP trunks (gateways/sip/, docs/sip.md): top-level [[trunks]] and [[routes]] tables,
    # checked when the node starts; none: phone calls go to the voice simulator only.
    trunks: tuple[Mapping[str, Any], ...] = ()
    routes: tuple[Mapping[str, Any], ...] = ()
    sip_host: str = "127.0.0.1"  # the SIP socket (UDP) and RTP ports bind here
    sip_port: int = 5060
    sip_tls_port: int = 0  # SIP over TLS (trunks calling in) with the node's certificate; 0: off
    # SMS (sms/, docs/sms.md)
    sms_rate_per_number_per_minute: float = 200.0  # over it, messages wait in the queue
    sms_rate_burst: int = 10  # messages a number may send at once before the rate applies
    sms_queue_expiry_hours: float = 72.0  # a message the carrier never took fails after this
    sms_event_casing: str = "pascal"  # SMS event data keys: pascal (as ACS sends) or camel
    # Call Automation callbacks (automation/, docs/automation-callbacks.md)
    automation_callback_timeout_seconds: float = 10.0  # one POST, connect to answer
    automation_callback_retry_seconds: float = 300.0  # then a batch still undelivered is dropped
    automation_callback_retry_scale: float = 0.1  # multiplies Event Grid's retry schedule
    automation_callback_concurrency: int = 64  # call connections delivering at once per node
    automation_callback_poll_seconds: float = 2.0  # look for due callbacks without a wake-up
    automation_callback_issuer: str | None = None  # JWT "iss"; unset: the node's endpoint
    automation_allowed_endpoints: str | None = None  # production: private hosts/IPs/CIDRs allowed
    automation_transcriber: str | None = None  # "module:factory"; unset: pocketsphinx
    automation_transcriber_model: str | None = None  # the model file the factory is given
    sms_lease_seconds: float = 60.0  # claimed SMS work of a node that died waits this long
    # Call recording (recording/, docs/recording.md)
    recording_chunk_seconds: float = 60.0  # each chunk a whole file, stored when complete
    recording_s3_endpoint: str | None = None  # S3-compatible storage; unset: the data dir
    recording_s3_bucket: str = "switchboard-recordings"
    recording_s3_region: str = "us-east-1"
    recording_s3_access_key: str | None = None
    recording_s3_secret_key: str | None = None
    # Push notifications (push/, docs/push.md): a provider is on when its credentials are set
    push_vapid_private_key_file: str | None = None  # Web Push: P-256 key (PEM)
    push_vapid_subject: str = "mailto:admin@localhost"
    push_fcm_service_account_file: str | None = None  # FCM: service account JSON
    push_fcm_base_url: str = "https://fcm.googleapis.com"
    push_apns_key_file: str | None = None  # APNs: .p8 key (ES256)
    push_apns_key_id: str | None = None
    push_apns_team_id: str | None = None
    push_apns_topic: str | None = None  # the app's bundle id
    push_apns_base_url: str = "https://api.push.apple.com"
    push_wns_client_id: str | None = None  # WNS: package SID
    push_wns_client_secret_file: str | None = None
    push_wns_token_url: str = "https://login.live.com/accesstoken.srf"
    push_allowed_endpoints: str | None = None  # production: private hosts/CIDRs allowed
    push_registration_ttl_hours: float = 30 * 24.0  # a registration not refreshed expires
    push_chat_thread_interval_seconds: float = 10.0  # one chat push per thread and user
    push_chat_per_user_per_minute: int = 30
    push_poll_seconds: float = 2.0
    push_lease_seconds: float = 30.0
    push_max_backoff_seconds: float = 30.0

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "switchboard.db"

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{self.sqlite_path.resolve()}"


def _coerce(field: dataclasses.Field[Any], value: Any) -> Any:
    kind = field.type if isinstance(field.type, str) else getattr(field.type, "__name__", "")
    try:
        if kind == "Path":
            return Path(value)
        if kind == "int":
            return int(value)
        if kind == "float":
            return float(value)
        if kind == "bool":
            if isinstance(value, bool):
                return value
            return str(value).strip().lower() in ("1", "true", "yes", "on")
        if kind == "Mode":
            return Mode(str(value).lower())
        if kind == "tuple[EventSubscriptionConfig, ...]":
            return _event_subscriptions(value)
        if kind == "tuple[Mapping[str, Any], ...]":
            return _tables(field.name, value)
        if kind == "tuple[str, ...]":
            return _strings(field.name, value)
        if kind == "str | None":
            return None if value in (None, "") else str(value)
        return str(value)
    except ValueError as exc:
        raise ConfigError(f"Invalid value {value!r} for setting '{field.name}': {exc}") from exc


_SUBSCRIPTION_FIELDS = {f.name: f for f in dataclasses.fields(EventSubscriptionConfig)}


def _event_subscriptions(value: Any) -> tuple[EventSubscriptionConfig, ...]:
    """``[[events.subscriptions]]`` tables, or the same as JSON (from the environment)."""
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip() else []
        except ValueError as exc:
            raise ConfigError(f"events_subscriptions is not valid JSON: {exc}") from exc
    if not isinstance(value, list):
        raise ConfigError("events_subscriptions must be a list of tables.")
    return tuple(_event_subscription(entry, index) for index, entry in enumerate(value))


def _event_subscription(entry: Any, index: int) -> EventSubscriptionConfig:
    # Messages name the key, never the value: a subscription carries its signing secret.
    if not isinstance(entry, dict):
        raise ConfigError(f"events.subscriptions[{index}] must be a table.")
    values: dict[str, Any] = {}
    for key, raw in entry.items():
        name = re.sub(r"(?<!^)(?=[A-Z])", "_", str(key)).replace("-", "_").lower()
        field = _SUBSCRIPTION_FIELDS.get(name)
        if field is None:
            raise ConfigError(f"Unknown key '{key}' in events.subscriptions[{index}].")
        if name == "included_event_types":
            ok = isinstance(raw, list) and all(isinstance(t, str) for t in raw)
            raw = tuple(raw) if ok else raw
        elif name == "advanced_filters":  # the entries are checked by switchboard.events
            ok = isinstance(raw, list) and all(isinstance(f, dict) for f in raw)
            raw = tuple(raw) if ok else raw
        elif field.type == "bool":
            ok = isinstance(raw, bool)
        elif field.type == "int | None":
            ok = isinstance(raw, int) and not isinstance(raw, bool)
        else:
            ok = isinstance(raw, str)
        if not ok:
            raise ConfigError(f"Invalid type for '{key}' in events.subscriptions[{index}].")
        values[name] = raw
    for required in ("name", "endpoint_url"):
        if required not in values:
            raise ConfigError(f"events.subscriptions[{index}] needs '{required}'.")
    return EventSubscriptionConfig(**values)


def _tables(name: str, value: Any) -> tuple[Mapping[str, Any], ...]:
    """An array of tables (``[[carriers]]``), or the same as JSON (from the environment)."""
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip() else []
        except ValueError as exc:
            raise ConfigError(f"{name} is not valid JSON: {exc}") from exc
    if not isinstance(value, list) or not all(isinstance(entry, dict) for entry in value):
        raise ConfigError(f"{name} must be a list of tables.")
    return tuple(value)


def _strings(name: str, value: Any) -> tuple[str, ...]:
    """A TOML array of strings, or the same comma-separated (from the environment)."""
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{name} must be a list of strings.")
    return tuple(v.strip() for v in value if v.strip())


def load_settings(
    overrides: Mapping[str, Any] | None = None,
    *,
    config_file: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Merge defaults, the TOML file, the environment and explicit overrides (None = unset)."""
    env = os.environ if environ is None else environ
    fields = {f.name: f for f in dataclasses.fields(Settings)}
    values: dict[str, Any] = {}

    path = config_file or (
        Path(env[ENV_PREFIX + "CONFIG"]) if env.get(ENV_PREFIX + "CONFIG") else None
    )
    if path is not None:
        try:
            with path.open("rb") as fh:
                document = tomllib.load(fh)
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"Cannot read config file {path}: {exc}") from exc
        check_sections(document, path)
        section = document.get("server", document)
        for key, value in section.items():
            name = key.replace("-", "_")
            if name in SECTIONS and section is document:
                continue  # [events] and the arrays of tables are read below
            if isinstance(value, dict):
                raise ConfigError(f"Unknown section [server.{key}] in {path}")
            if name not in fields:
                hint = nearest(name, fields)
                raise ConfigError(f"Unknown setting '{key}' in {path}{hint}")
            values[name] = _coerce(fields[name], value)
        events = document.get("events")  # [[events.subscriptions]], outside [server]
        if isinstance(events, dict):
            for key, value in events.items():
                if key != "subscriptions":
                    raise ConfigError(f"Unknown setting 'events.{key}' in {path}")
                values["events_subscriptions"] = _event_subscriptions(value)
        for name in TABLE_ARRAYS:  # top-level arrays of tables
            if name in document:
                values[name] = _tables(name, document[name])

    for name, field in fields.items():
        raw = env.get(ENV_PREFIX + name.upper())
        if raw is not None:
            values[name] = _coerce(field, raw)

    for name, value in (overrides or {}).items():
        if value is not None:
            values[name] = _coerce(fields[name], value)
    settings = Settings(**values)
    check_settings(settings)
    return settings


def load_config(
    overrides: Mapping[str, Any] | None = None,
    *,
    config_file: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> NodeConfig:
    return node_config(load_settings(overrides, config_file=config_file, environ=environ))


# Flat names of the sections whose fields carry no prefix in Settings.
_UNPREFIXED: dict[type[Any], str] = {ServerConfig: "", BusConfig: "", AuthConfig: ""}
_PREFIXES: dict[type[Any], str] = {
    ChatConfig: "chat_",
    CallingConfig: "calling_",
    MediaConfig: "media_",
    TurnConfig: "turn_",
    EventsConfig: "events_",
    NumbersConfig: "",
    SmsConfig: "sms_",
    AutomationConfig: "automation_",
    RecordingConfig: "recording_",
    SipConfig: "sip_",
    PushConfig: "push_",
}


def _section(cls: type[Any], settings: Settings, prefix: str) -> Any:
    values: dict[str, Any] = {}
    for field in dataclasses.fields(cls):
        for flat in (prefix + field.name, field.name):  # turnserver_path has no prefix
            if hasattr(settings, flat):
                values[field.name] = getattr(settings, flat)
                break
        else:  # pragma: no cover - test_config checks every field has a flat name
            raise ConfigError(f"no setting for {cls.__name__}.{field.name}")
    return cls(**values)


def node_config(settings: Settings) -> NodeConfig:
    """The per-section configuration the composition root hands out."""
    sections = {cls: _section(cls, settings, prefix) for cls, prefix in _UNPREFIXED.items()}
    sections.update({cls: _section(cls, settings, p) for cls, p in _PREFIXES.items()})
    return NodeConfig(
        server=sections[ServerConfig],
        storage=StorageConfig(database_url=settings.effective_database_url),
        bus=sections[BusConfig],
        auth=sections[AuthConfig],
        chat=sections[ChatConfig],
        calling=sections[CallingConfig],
        media=sections[MediaConfig],
        turn=sections[TurnConfig],
        events=sections[EventsConfig],
        numbers=sections[NumbersConfig],
        sms=sections[SmsConfig],
        automation=sections[AutomationConfig],
        recording=sections[RecordingConfig],
        sip=sections[SipConfig],
        push=sections[PushConfig],
    )
