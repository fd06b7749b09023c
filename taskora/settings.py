"""Service settings, read from the environment with the prefix ``TASKORA_``."""

from __future__ import annotations

from functools import cached_property
from typing import Annotated, Literal

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from taskora.errors import ConfigurationError
from taskora.failpoints import OFF, Failpoints

__all__ = ["DEFAULT_JWT_SECRET", "ROLES", "Role", "Settings"]

DEFAULT_JWT_SECRET = "taskora-development-secret-change-me"

# Connections the background loops may hold at once: stream tail, relay, consumers, ticker,
# housekeeping (and the Redis bus's consumer threads).
BACKGROUND_CONNECTIONS = 8

Role = Literal["all", "api", "consumers", "scheduler"]
ROLES: tuple[Role, ...] = ("all", "api", "consumers", "scheduler")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TASKORA_", extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    database_url: str = "sqlite:///taskora.db"
    # WAL + NORMAL: a commit survives any process crash; only an OS crash or power loss can
    # lose the last commits. FULL fsyncs every commit (power-loss durable, several times slower).
    sqlite_synchronous: Literal["NORMAL", "FULL"] = "NORMAL"
    jwt_secret: str = Field(default=DEFAULT_JWT_SECRET, repr=False)
    # Where the JWT secret and the database URL come from: ``env`` (the two variables above), or
    # ``dapr``: the secret ``secret_name`` of the Dapr secret store ``secret_store`` (keys
    # jwt-secret and database-url), read once at start-up (taskora.secret_store)
    secrets: Literal["env", "dapr"] = "env"
    secret_store: str = Field(default="secretstore", min_length=1)
    secret_name: str = Field(default="taskora-secrets", min_length=1)
    jwt_algorithm: Literal["HS256"] = "HS256"
    token_ttl_seconds: int = Field(default=3600, gt=0)
    max_body_bytes: int = Field(default=64 * 1024, gt=0)
    # What the HTTP server refuses before the application (taskora.server): a request head over
    # these sizes (431), or a head or body that takes longer than these to arrive (408).
    max_header_bytes: int = Field(default=32 * 1024, ge=1024)
    max_headers: int = Field(default=100, ge=10)
    header_timeout_seconds: float = Field(default=10.0, gt=0)
    body_timeout_seconds: float = Field(default=30.0, gt=0)
    # Request handlers run on a bounded pool of threads (the event loop never waits on the
    # database); the connection pool holds one connection per thread plus the background loops'.
    threads: int = Field(default=16, ge=1, le=256)
    # The hot reads' own threads (a read never waits on a lock; fewer threads, less GIL contention)
    read_threads: int = Field(default=2, ge=1, le=64)
    database_pool_size: int | None = Field(default=None, ge=1, le=512)
    auto_migrate: bool | None = None
    access_log: bool = True
    log_level: str = "INFO"
    idempotency_ttl_seconds: int = Field(default=24 * 3600, gt=0)
    # Event streams one user may hold open in one worker process (429 beyond; browsers open one
    # per tab): one user must not take a worker's memory and sockets from everyone else.
    sse_streams_per_user: int = Field(default=20, ge=1, le=10_000)

    # What this process does: ``all``, or one role of a deployment that scales them apart
    # (api: HTTP and live sync; consumers: relay and consumers; scheduler: reminders, housekeeping)
    role: Role = "all"

    # Events
    background: bool = True  # relay, ticker, stream tail and consumers in each worker
    bus: Literal["inline", "redis", "dapr"] = "inline"
    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_prefix: str = Field(default="taskora", pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    # The sidecar's gRPC API (the Dapr SDK's client; the sidecar injector sets DAPR_GRPC_PORT)
    dapr_grpc_port: int = Field(
        default=50001, validation_alias=AliasChoices("TASKORA_DAPR_GRPC_PORT", "DAPR_GRPC_PORT")
    )
    dapr_pubsub: str = "pubsub"
    app_api_token: str | None = Field(
        default=None,
        repr=False,
        validation_alias=AliasChoices("TASKORA_APP_API_TOKEN", "APP_API_TOKEN"),
    )
    ticker_seconds: float = Field(default=1.0, ge=0, description="0: only the cron routes run jobs")
    relay_interval_seconds: float = Field(default=0.1, gt=0)
    event_retention_hours: float = Field(default=168.0, gt=0)

    # Planted faults for the harness's self-test (taskora.failpoints); the seed comes first
    failpoints_seed: int | None = None
    failpoints: Annotated[Failpoints, NoDecode] = OFF

    @property
    def pool_size(self) -> int:
        """Database connections per process: by default enough that no request thread waits."""
        return self.database_pool_size or self.threads + self.read_threads + BACKGROUND_CONNECTIONS

    def runs(self, role: Role) -> bool:
        """Whether this process does the work of ``role``."""
        return self.role in ("all", role)

    @cached_property
    def migrate_on_start(self) -> bool:
        """Apply migrations at start-up: on by default except in production."""
        if self.auto_migrate is not None:
            return self.auto_migrate
        return self.env != "production"

    def _answers_the_sidecar(self) -> bool:
        """Whether Dapr calls this process: its events (consumers on the Dapr bus) or its cron
        bindings (a scheduler without the in-process ticker)."""
        return (self.bus == "dapr" and self.runs("consumers")) or (
            self.runs("scheduler") and self.ticker_seconds <= 0
        )

    def check_safe(self) -> None:
        """Refuse settings that must never reach production."""
        if self.env == "production" and self.jwt_secret == DEFAULT_JWT_SECRET:
            raise ConfigurationError(
                "refusing to start in production with the default signing secret: "
                "set TASKORA_JWT_SECRET to a long random value"
            )
        if len(self.jwt_secret.encode()) < 32:
            raise ConfigurationError(
                "TASKORA_JWT_SECRET is too short: HS256 needs at least 32 bytes (RFC 7518)"
            )
        if self.env == "production" and not self.app_api_token and self._answers_the_sidecar():
            raise ConfigurationError(
                "refusing to start in production without APP_API_TOKEN: the Dapr sidecar calls "
                "this role (events, cron bindings); set the same token in the app and the "
                "sidecar (Kubernetes: the Secret taskora-app-token, key token)"
            )
        if self.env == "production" and self.failpoints:
            raise ConfigurationError(
                "refusing to start in production with failpoints set: unset TASKORA_FAILPOINTS "
                f"({self.failpoints})"
            )
