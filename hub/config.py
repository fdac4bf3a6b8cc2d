"""The hub's configuration: ``hub.toml`` read once into one typed object.

The defaults below are the documented defaults; the repository's ``hub.toml``
repeats every one of them with a comment (a test keeps the two equal). Later
files override earlier ones key by key, and unknown keys are an error so a typo
never goes unnoticed.
"""

from __future__ import annotations

import string
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

PositiveInt = Annotated[int, Meta(ge=1)]
POSTGRES_SCHEMES = ("postgresql://", "postgres://")


class _Section(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


class ServerConfig(_Section):
    host: str = "127.0.0.1"
    port: Annotated[int, Meta(ge=0, le=65535)] = 8080
    # The origin clients use, e.g. "https://sms.example.com"; empty: taken from each request.
    public_url: str = ""
    data_dir: str = "data"
    max_body_bytes: PositiveInt = 64 * 1024
    max_import_bytes: PositiveInt = 10 * 1024 * 1024
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    access_log: bool = True
    # The whole request head must arrive within this of the connection opening
    # or of the previous response; slower connections are closed.
    head_timeout_s: Annotated[float, Meta(gt=0)] = 10.0
    # Connections one client address may hold while they wait for a request
    # head; more are closed as they open. 0: no cap.
    max_waiting_per_address: Annotated[int, Meta(ge=0)] = 128
    # Open connections (relay sockets included) past which requests get 503.
    max_connections: PositiveInt = 10_000


class StorageConfig(_Section):
    # Empty: the embedded SQLite file in the data folder. Else a PostgreSQL URL,
    # postgresql://user:password@host:port/database (also --database and
    # RELAYHUB_DATABASE_URL, which win over this).
    url: str = ""
    synchronous: Literal["FULL", "NORMAL"] = "FULL"
    batch_max: PositiveInt = 512
    busy_timeout_ms: Annotated[int, Meta(ge=0)] = 5000

    def __post_init__(self) -> None:
        if self.url and not self.url.startswith(POSTGRES_SCHEMES):
            raise ValueError(
                "[storage] url must be empty (SQLite in the data folder) or a PostgreSQL"
                " URL starting with postgresql://, e.g. postgresql://relayhub@127.0.0.1/relayhub"
            )

    @property
    def is_postgres(self) -> bool:
        return bool(self.url)


class ClusterConfig(_Section):
    # Several `relayhub serve` processes on one PostgreSQL (hub/cluster/). Off:
    # this node owns every queued message, as on SQLite.
    enabled: bool = False
    # A node is alive while its lease (on the database's clock) runs; it renews
    # it every renew_every_s.
    lease_s: Annotated[float, Meta(gt=0)] = 10.0
    renew_every_s: Annotated[float, Meta(gt=0)] = 2.0
    # How often a node looks in the shared queue for its relays' accounts even
    # without a notification (a safety net: notifications are not stored).
    poll_s: Annotated[float, Meta(gt=0)] = 1.0
    # Node death (hub/cluster/liveness.py): how often every node looks for leases
    # that ran out (a dead node is reaped within lease_s + reap_every_s) and for
    # jobs of reaped nodes that wait for a rescue. At most 1 s.
    reap_every_s: Annotated[float, Meta(gt=0, le=1.0)] = 0.5

    def __post_init__(self) -> None:
        if self.renew_every_s >= self.lease_s:
            raise ValueError(
                "[cluster] renew_every_s must be shorter than lease_s, or a live node's"
                " lease runs out between renewals; e.g. lease_s = 10, renew_every_s = 2"
            )


class SmsConfig(_Section):
    default_region: Annotated[str, Meta(pattern="^[A-Z]{2}$")] = "UZ"
    default_ttl_s: PositiveInt = 86_400
    max_ttl_s: PositiveInt = 7 * 86_400
    min_ttl_s: PositiveInt = 30
    max_parts: PositiveInt = 10
    max_attempts: PositiveInt = 5


class RelayConfig(_Section):
    heartbeat_s: PositiveInt = 30
    ack_timeout_s: PositiveInt = 30
    max_inflight: PositiveInt = 8
    max_frame_bytes: PositiveInt = 64 * 1024
    writer_queue: PositiveInt = 1024
    ping_interval_s: PositiveInt = 20
    sweep_interval_s: Annotated[float, Meta(gt=0)] = 1.0
    offline_grace_s: Annotated[float, Meta(ge=0)] = 15.0
    # A socket that closes may have carried an `accepted` that never arrived:
    # its unanswered jobs stay the device's this long, so a phone that comes
    # back claims them again instead of a second phone sending them too.
    requeue_grace_s: Annotated[float, Meta(ge=0)] = 10.0
    # Inbound SMS (`received`) one device may report: a token bucket of
    # `inbound_burst` refilled at `inbound_per_minute`. Over it a report is
    # receipted but not stored, so a forging phone cannot fill the shared disk.
    inbound_per_minute: PositiveInt = 60
    inbound_burst: PositiveInt = 60


class WebhooksConfig(_Section):
    allow_private_targets: bool = False
    timeout_s: Annotated[float, Meta(gt=0)] = 15.0
    retry_schedule_s: list[Annotated[int, Meta(ge=0)]] = msgspec.field(
        default_factory=lambda: [0, 5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400]
    )
    rotation_overlap_s: PositiveInt = 86_400
    concurrency_per_endpoint: PositiveInt = 4
    # Endpoints one account may have; each event goes to every one of them.
    max_endpoints_per_account: PositiveInt = 20


class EventsConfig(_Section):
    keepalive_s: Annotated[float, Meta(gt=0)] = 15.0
    retention_days: PositiveInt = 7


TEMPLATE_FIELDS = frozenset({"app", "purpose", "code", "minutes"})


class OtpConfig(_Section):
    app_name: Annotated[str, Meta(min_length=1, max_length=40)] = "relayhub"
    # Adds "@domain #code" as the last line, so browsers can fill the code in
    # (WebOTP). Empty: no such line.
    autofill_domain: str = ""
    default_ttl_s: Annotated[int, Meta(ge=30, le=900)] = 300
    default_length: Annotated[int, Meta(ge=4, le=8)] = 6
    max_wrong_tries: PositiveInt = 5
    resend_cooldown_s: Annotated[int, Meta(ge=0, le=3600)] = 30
    max_per_hour: PositiveInt = 5
    # The SMS per locale; placeholders {app}, {purpose}, {code}, {minutes}. Plain
    # GSM-7 letters keep a code in one 160-character SMS; Cyrillic makes it UCS-2.
    template_uz: str = (
        "{app}: {purpose} uchun tasdiqlash kodi: {code}. {minutes} daqiqa amal qiladi."
        " Kodni hech kimga bermang."
    )
    template_ru: str = (
        "{app}: код {code} для {purpose}. Действует {minutes} мин. Никому не сообщайте."
    )
    template_en: str = (
        "{app}: your {purpose} code is {code}. It expires in {minutes} min. Do not share it."
    )

    def __post_init__(self) -> None:
        sample = {"app": self.app_name, "purpose": "login", "code": "123456", "minutes": 5}
        for locale in ("uz", "ru", "en"):
            template = getattr(self, f"template_{locale}")
            allowed = ", ".join("{" + f + "}" for f in sorted(TEMPLATE_FIELDS))
            problem = f"[otp] template_{locale} must contain {{code}} and may use only {allowed}"
            try:
                names = {name for _, name, _, _ in string.Formatter().parse(template)}
                template.format(**sample)  # what send will do: fail now, not on each send
            except (ValueError, KeyError, IndexError, AttributeError) as exc:
                raise ValueError(f"{problem} ({exc})") from None
            names.discard(None)
            if "code" not in names or not names <= TEMPLATE_FIELDS:
                raise ValueError(problem)


class AuthConfig(_Section):
    max_failures: PositiveInt = 20
    failure_window_s: PositiveInt = 600


class LimitsConfig(_Section):
    send_per_minute: PositiveInt = 6000
    max_queued: PositiveInt = 100_000
    # Stored rows an account may keep (messages are kept for good): the disk is
    # shared, so one account must not be able to fill it for all.
    max_stored_messages: PositiveInt = 1_000_000
    max_stored_inbound: PositiveInt = 200_000


class PairingConfig(_Section):
    code_ttl_s: PositiveInt = 600
    max_failures: PositiveInt = 10
    failure_window_s: PositiveInt = 600


class Config(_Section):
    server: ServerConfig = msgspec.field(default_factory=ServerConfig)
    storage: StorageConfig = msgspec.field(default_factory=StorageConfig)
    cluster: ClusterConfig = msgspec.field(default_factory=ClusterConfig)
    sms: SmsConfig = msgspec.field(default_factory=SmsConfig)
    relay: RelayConfig = msgspec.field(default_factory=RelayConfig)
    pairing: PairingConfig = msgspec.field(default_factory=PairingConfig)
    limits: LimitsConfig = msgspec.field(default_factory=LimitsConfig)
    auth: AuthConfig = msgspec.field(default_factory=AuthConfig)
    webhooks: WebhooksConfig = msgspec.field(default_factory=WebhooksConfig)
    events: EventsConfig = msgspec.field(default_factory=EventsConfig)
    otp: OtpConfig = msgspec.field(default_factory=OtpConfig)

    def __post_init__(self) -> None:
        if self.cluster.enabled and not self.storage.is_postgres:
            raise ValueError(
                "[cluster] enabled needs PostgreSQL: nodes share their queue through it;"
                " give --database postgresql://… (or [storage] url), or set enabled = false"
            )

    @property
    def data_path(self) -> Path:
        return Path(self.server.data_dir)


class ConfigError(Exception):
    pass


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def load_config(*files: Path, overrides: dict[str, Any] | None = None) -> Config:
    """Read each TOML file in turn (later keys win), then ``overrides``."""
    data: dict[str, Any] = {}
    for path in files:
        try:
            with path.open("rb") as fh:
                data = _merge(data, tomllib.load(fh))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"{path}: {exc}") from None
    data = _merge(data, overrides or {})
    try:
        return msgspec.convert(data, Config)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"configuration: {exc}") from None
