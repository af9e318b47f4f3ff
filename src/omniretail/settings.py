"""Settings read from the environment (prefix ``OMNIRETAIL_``); nothing is read at import time."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_data_dir() -> Path:
    return Path.home() / ".local" / "share" / "omniretail"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OMNIRETAIL_", extra="ignore")

    data_dir: Path = Field(default_factory=default_data_dir)
    database_url: str | None = None
    # PostgreSQL only: run inside this schema (tests give every run its own).
    database_schema: str | None = None
    # Explicit path of the transaction log used by `demo` (else the search order in docs).
    data: Path | None = None
    cache_dir: Path | None = None
    default_reservation_ttl_seconds: int = 15 * 60
    sweep_interval_seconds: float = 30.0
    # Most connections one process's pools hold together (on PostgreSQL within its share).
    db_pool_size: int = 40
    event_source: str = "urn:omniretail"
    # Master secret for PII encryption, blind indexes and token signing (any long random
    # string). Unset: a random one is created once in ``data_dir/secret.key`` (embedded SQLite
    # only; a shared database refuses to start without it). docs/security.md
    secret_key: SecretStr | None = None
    # Key rotation: "k2:<secret>,k1:<secret>", the first is current; replaces secret_key.
    secret_keys: SecretStr | None = None
    access_token_ttl_seconds: int = 3600
    # Sign-in (docs/architecture.md, "Sign-in"): after this many failures an account (or, with
    # the larger number, a client address) is locked out, for base * 2^(n - limit) seconds up
    # to the cap; failures are forgotten after a quiet window. Reset tokens live this long.
    sign_in_max_failures: int = 5
    sign_in_address_max_failures: int = 50
    sign_in_window_seconds: int = 15 * 60
    sign_in_lockout_seconds: int = 60
    sign_in_lockout_cap_seconds: int = 3600
    password_reset_ttl_seconds: int = 3600
    # Seconds an API key's principal may be cached in one process (0: checked on every
    # request, so disabling a principal stops its keys at once in every process).
    api_key_cache_seconds: float = 0.0
    # `serve` on a non-loopback address: proxies whose X-Forwarded-* headers are trusted.
    forwarded_allow_ips: str | None = None
    # Messaging (docs/messaging.md): the outbox relay runs inside `serve` unless disabled.
    relay_enabled: bool = True
    relay_interval_seconds: float = 1.0
    relay_batch_size: int = 100
    relay_max_attempts: int = 12
    relay_backoff_base_seconds: float = 10.0
    relay_backoff_cap_seconds: float = 3600.0
    # A claimed delivery is retried after this long if its relay stops reporting back; the
    # running relay renews it every third of that while a handler works.
    relay_lease_seconds: float = 30.0
    webhook_timeout_seconds: float = 10.0
    # Unset: emails are written to the log instead of sent.
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_from: str = "Omniretail <no-reply@localhost>"
    smtp_starttls: bool = False
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_timeout_seconds: float = 10.0
    # Orders (docs/orders.md): promise dates and click & collect, in calendar days.
    delivery_days: int = 2
    dispatch_cutoff_hour: int = 15
    transfer_lead_days: int = 2
    pickup_ready_minutes: int = 120
    pickup_hold_days: int = 7
    pickup_reminder_days_before: list[int] = Field(default_factory=lambda: [3, 1])
    # The server's pickup sweep (reminders, return to stock of uncollected orders); 0: off.
    pickup_sweep_interval_seconds: float = 600.0
    # "test": the in-process provider (tok_decline / tok_timeout tokens); real ones plug in here.
    payment_provider: str = "test"
    return_window_days: int = 30
    # Where the public tracking page is reached (links in notifications).
    public_base_url: str = "http://127.0.0.1:8000"
    # Identity verification (customers/verification.py): one-time codes by email or SMS, their
    # lifetime, wrong guesses per code, and sends per identity per window and per person per day.
    identity_code_digits: int = Field(default=6, ge=6, le=10)
    identity_code_ttl_seconds: int = Field(default=600, ge=60)
    identity_code_max_attempts: int = Field(default=5, ge=1)
    identity_code_sends_per_window: int = Field(default=3, ge=1)
    identity_code_window_seconds: int = Field(default=900, ge=60)
    identity_code_sends_per_day: int = Field(default=10, ge=1)
    # Forgotten passwords (auth/password_reset.py): an emailed one-time code, its lifetime and
    # wrong guesses; requests per email address and per client address per window.
    reset_code_digits: int = Field(default=8, ge=6, le=10)
    reset_code_ttl_seconds: int = Field(default=1800, ge=60)
    reset_code_max_attempts: int = Field(default=5, ge=1)
    reset_requests_per_window: int = Field(default=3, ge=1)
    reset_address_requests_per_window: int = Field(default=20, ge=1)
    reset_window_seconds: int = Field(default=900, ge=60)

    # PostgreSQL connection budget (docs/operations.md#connections): the processes sharing
    # the server (API workers + relays + job workers; `serve --workers` sets it) split
    # max_connections - its reserved slots - db_reserved_connections equally; pools never
    # overflow and a request queues up to db_pool_timeout_seconds for a connection (then 503).
    db_processes: int = 1
    # Per process; set: refused at start unless processes x it fits the server.
    db_max_connections: int | None = None
    db_reserved_connections: int = 10
    db_pool_timeout_seconds: float = 10.0
    # Behind PgBouncer in transaction pooling: no prepared statements, no startup options;
    # the share is db_max_connections (or db_pool_size), PgBouncer's own limits apply.
    db_pgbouncer: bool = False

    # Durable jobs (docs/operations.md#jobs): the server runs a worker thread unless disabled;
    # a crashed worker's job is taken again after its lease, at most jobs_max_attempts claims.
    jobs_worker_enabled: bool = True
    jobs_poll_seconds: float = 1.0
    jobs_lease_seconds: float = 60.0
    jobs_max_attempts: int = 3

    # Request limits: an Idempotency-Key is kept this long (then swept); a request body may be
    # at most max_body_bytes (event batches: max_event_body_bytes), refused with 413 unread.
    idempotency_ttl_hours: float = Field(default=24.0, gt=0)
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    max_event_body_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'omniretail.db'}"

    def resolved_cache_dir(self) -> Path:
        return self.cache_dir or Path.home() / ".cache" / "omniretail"


class PasswordHashSettings(BaseSettings):
    """Argon2id parameters for new password hashes (``OMNIRETAIL_ARGON2_*``; a stored hash
    carries its own, so changing them never locks anyone out). The defaults are argon2-cffi's
    (RFC 9106 low-memory); the bounds keep a deployment from setting them absurdly low by
    accident (OWASP's floor: 19 MiB, two passes). ``profile=test`` ignores all three and uses
    the library's minimum: for test suites only, never for real passwords."""

    model_config = SettingsConfigDict(env_prefix="OMNIRETAIL_ARGON2_", extra="ignore")

    profile: Literal["production", "test"] = "production"
    time_cost: int = Field(default=3, ge=2, le=20)
    memory_cost: int = Field(default=64 * 1024, ge=19 * 1024, le=4 * 1024 * 1024)  # KiB
    parallelism: int = Field(default=4, ge=1, le=64)
