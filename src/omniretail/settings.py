"""Settings read from the environment (prefix ``OMNIRETAIL_``); nothing is read at import time."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_data_dir() -> Path:
    return Path.home() / ".local" / "share" / "omniretail"


class Settings(BaseSettings):
    """Every setting is read from ``OMNIRETAIL_<NAME>``; the docstring under each field is its
    description in docs/operations.md (``scripts/settings_reference.py`` writes it)."""

    model_config = SettingsConfigDict(
        env_prefix="OMNIRETAIL_", extra="ignore", use_attribute_docstrings=True
    )

    data_dir: Path = Field(default_factory=default_data_dir)
    """Where the embedded SQLite database (``omniretail.db``) and the generated
    ``secret.key`` live when no database URL is set (default ``~/.local/share/omniretail``)."""
    database_url: str | None = None
    """SQLAlchemy URL of the database, e.g. ``postgresql+psycopg://user:pw@host/db``; unset:
    the SQLite file ``omniretail.db`` in ``data_dir``."""
    database_schema: str | None = None
    """PostgreSQL only: run inside this schema (tests give every run its own)."""
    db_read_url: str | None = None
    """PostgreSQL only: URL of a read replica (or of a read-only role) for the reads that may
    lag behind the last commit (catalog, availability, order tracking, reports; see Read
    replica). Unset, or equal to ``database_url``: those reads use the primary. Its
    transactions are read-only. SQLite has no replicas: a different URL is refused."""
    data: Path | None = None
    """The Online Retail II transaction log ``demo`` imports, or the folder holding it (else
    the search order in the README)."""
    cache_dir: Path | None = None
    """Where the demo keeps its downloaded and converted data (default
    ``~/.cache/omniretail``)."""
    default_reservation_ttl_seconds: int = 15 * 60
    """Not read by the code: each channel has its own ``reservation_ttl_seconds``."""
    cart_max_units_per_sku: int = Field(default=600, ge=1, le=999)
    """Units of one SKU one cart (so one customer) may hold on a web or app channel; a flash
    sale sets it low. The till's and the other staff channels are not capped. The default
    refuses 1 in 1,000 of the real 2009-10 log's order lines (its customers are wholesalers)."""
    cart_max_held_units: int = Field(default=10_000, ge=1, le=1_000_000)
    """Units in all one cart (so one customer) may hold on a web or app channel; the default
    refuses 1 in 1,000 of the real 2009-10 log's orders (the median order is 134 units)."""
    sweep_interval_seconds: float = 30.0
    """Seconds between the server's sweeps of expired cart holds and Idempotency-Keys."""
    db_pool_size: int = 40
    """Most connections one process's pools hold together (on PostgreSQL within its share of
    the connection budget)."""
    event_source: str = "urn:omniretail"
    """The CloudEvent ``source`` of every event this deployment records."""
    secret_key: SecretStr | None = None
    """Master secret for PII encryption, blind indexes and token signing (any long random
    string). Unset: a random one is created once in ``data_dir/secret.key`` (embedded SQLite
    only; a shared database refuses to start without it). See docs/security.md."""
    secret_keys: SecretStr | None = None
    """Key rotation: ``k2:<secret>,k1:<secret>``, the first is current; replaces
    ``secret_key``."""
    access_token_ttl_seconds: int = 3600
    """Lifetime of a bearer token (the console's session cookie carries one)."""
    sign_in_max_failures: int = 5
    """Failed sign-ins to one account from one client address after which that address is
    locked out of that account (its owner still signs in from elsewhere)."""
    sign_in_address_max_failures: int = 50
    """Failed sign-ins from a client address, to any account, after which it is locked out."""
    sign_in_account_max_failures: int = 50
    """Failed sign-ins to one account from every address together after which the account is
    locked out (a guess spread over many addresses)."""
    sign_in_window_seconds: int = 15 * 60
    """A quiet window after which failures are forgotten."""
    sign_in_lockout_seconds: int = 60
    """First lockout; it doubles with every further failure (base * 2^(n - limit))."""
    sign_in_lockout_cap_seconds: int = 3600
    """Longest lockout."""
    password_reset_ttl_seconds: int = 3600
    """Lifetime of a one-time password reset token an administrator issues
    (``POST /auth/principals/{id}/password-reset``)."""
    auth_cache_seconds: float = Field(default=300.0, ge=0)
    """PostgreSQL: seconds a credential's principal may be kept in one process, invalidated by
    LISTEN/NOTIFY (a revocation reaches every process within milliseconds; no cache while the
    listener is down). Costs one connection per process (behind PgBouncer: one to
    ``database_direct_url``, and no cache without it); 0: off (read on every request)."""
    api_key_cache_seconds: float = 0.0
    """Where ``auth_cache_seconds`` does not apply (SQLite, PgBouncer without
    ``database_direct_url``, a budget too small, or
    the listener down): seconds an API key's principal may be cached in one process, so other
    processes see a revocation only that late (0: checked on every request)."""
    forwarded_allow_ips: str | None = None
    """Proxies (comma-separated addresses) whose X-Forwarded-* headers ``serve`` trusts;
    ``serve --forwarded-allow-ips`` overrides it."""
    relay_enabled: bool = True
    """The outbox relay runs inside ``serve`` (false: run ``omniretail events relay``)."""
    relay_interval_seconds: float = 0.1
    """Seconds between an idle relay's probes for new events (one read each): how long a new
    event may wait for an idle relay to notice it."""
    relay_batch_size: int = 100
    """Deliveries claimed per relay pass."""
    relay_linger_seconds: float = Field(default=0.1, ge=0, le=1)
    """After a pass that handled under a quarter of a batch, the relay waits this long before
    the next, so that at moderate rates each pass's fixed statements serve more events (0: pass
    again at once). At most this much is added to an event's delivery time: as much as an idle
    relay's ``relay_interval_seconds`` already may."""
    relay_max_attempts: int = 12
    """Attempts per delivery before it is a dead letter."""
    relay_backoff_base_seconds: float = 10.0
    """Wait after the first failed attempt; doubles per attempt, with jitter."""
    relay_backoff_cap_seconds: float = 3600.0
    """Longest wait between two attempts."""
    relay_lease_seconds: float = 30.0
    """A claimed delivery is retried after this long if its relay stops reporting back; the
    running relay renews it every third of that while a handler works."""
    webhook_timeout_seconds: float = 10.0
    """Timeout of one webhook POST."""
    webhook_allow_private_networks: bool = False
    """Let webhook subscriptions target loopback, private, link-local and other non-public
    addresses (an on-premises receiver). Off: such URLs are refused when subscribing and
    every send connects only to public addresses."""
    smtp_host: str | None = None
    """SMTP server for emails; unset: emails are written to the log instead of sent (the
    HQ message log and ``omniretail messages`` show them either way)."""
    smtp_port: int = 25
    """SMTP port."""
    smtp_from: str = "Omniretail <no-reply@localhost>"
    """The From address of every email."""
    smtp_starttls: bool = False
    """Upgrade the SMTP connection with STARTTLS (certificate verified)."""
    smtp_username: str | None = None
    """SMTP login, if the server needs one."""
    smtp_password: SecretStr | None = None
    """SMTP password."""
    smtp_timeout_seconds: float = 10.0
    """Timeout of one SMTP connection."""
    support_smtp_host: str = "127.0.0.1"
    """Address the inbound support SMTP listener (``omniretail support mail-in``) binds."""
    support_smtp_port: int = 2525
    """Port of the inbound support SMTP listener."""
    support_reply_to: str | None = None
    """The support inbox customers write to (``Reply-To`` of agents' email replies and the
    address the listener or IMAP mailbox receives); unset: replies carry no Reply-To."""
    support_attachment_max_bytes: int = 10 * 1024 * 1024
    """Largest attachment stored with an inbound message; larger ones are counted, not kept."""
    support_message_max_bytes: int = 25 * 1024 * 1024
    """Most attachment bytes kept per inbound message (the SMTP listener refuses an email
    over this as base64 plus 1 MiB)."""
    support_imap_host: str | None = None
    """IMAP server polled by ``omniretail support imap-poll``."""
    support_imap_port: int = 993
    """IMAP port (993: IMAP over TLS)."""
    support_imap_ssl: bool = True
    """Connect to IMAP over TLS (certificate verified); false: plain IMAP (loopback only)."""
    support_imap_username: str | None = None
    """IMAP login."""
    support_imap_password: SecretStr | None = None
    """IMAP password."""
    support_imap_folder: str = "INBOX"
    """The mailbox folder whose unseen messages are ingested (and then marked seen)."""
    support_mail_authserv_id: str | None = None
    """The authserv-id (RFC 8601) of the mail server in front of the support desk, whose
    ``Authentication-Results`` (SPF, DKIM, DMARC pass for the From domain) the desk believes;
    that server must drop such headers arriving from outside. Unset: an email reaches an
    existing conversation only by replying to the desk's mail (its Message-ID is the reply
    token), and a new one is linked to no customer (marked unverified sender)."""
    support_webhook_secret: SecretStr | None = None
    """Shared secret of the signed inbound webhook for social and messaging apps (HMAC-SHA256);
    unset: the webhook refuses every request."""
    support_webhook_tolerance_seconds: int = 300
    """How old (or how far ahead) a webhook signature's timestamp may be."""
    log_one_time_codes: bool | None = None
    """Without an SMTP host, print one-time codes (sign-up verification, password reset,
    identity codes) in the server's terminal log (a warning), so that a demo can be used
    without a mail server; never stored, never in the message log, never sent by SMTP.
    Unset: on only in ``omniretail demo`` without ``smtp_host``. Never on an exposed server."""
    delivery_days: int = 2
    """Calendar days from dispatch to a home delivery's promise date."""
    dispatch_cutoff_hour: int = 15
    """Local hour after which an order is dispatched the next day."""
    transfer_lead_days: int = 2
    """Calendar days a transfer to the pickup store takes."""
    pickup_ready_minutes: int = 120
    """Minutes of the store's opening hours a click & collect order from its own stock takes
    to be ready."""
    pickup_hold_days: int = 7
    """Days an order ready for pickup is held before it goes back to stock."""
    pickup_reminder_days_before: list[int] = Field(default_factory=lambda: [3, 1])
    """Days before the pickup deadline on which the customer is reminded (a JSON list)."""
    pickup_sweep_interval_seconds: float = 600.0
    """Seconds between the server's pickup sweeps (reminders, return to stock of uncollected
    orders); 0: off."""
    payment_provider: str = "test"
    """``test``: the in-process provider (``tok_decline`` / ``tok_timeout`` tokens); the only
    one built in."""
    payment_timeout_seconds: float = Field(default=30.0, gt=0)
    """How long checkout waits for the provider's answer to an authorisation; then the
    attempt is voided, its stock released, and the customer told to try again."""
    payment_attempt_ttl_seconds: int = Field(default=120, ge=10)
    """Expiry of a checkout's allocation while its card is authorised (outside any
    transaction): a pending attempt past it is reconciled by the server's sweep (the provider
    asked by idempotency key: confirmed if it authorised, else released). Keep it above
    ``payment_timeout_seconds``."""
    api_lane_threads: int = Field(default=1, ge=1, le=64)
    """Threads of one API process that run the shop's hot database work (carts, lines,
    fulfilment options, stock holds, credential reads: ``api.lane``), in arrival order. 1 suits
    PostgreSQL on the same host; across a network raise it, so that a thread waiting out a
    round trip leaves the core to another (docs/operations.md#the-shops-lane)."""
    payment_threads: int = Field(default=64, ge=1, le=1024)
    """Checkouts of one API process that may wait on the payment provider at once (a thread
    each, holding no database connection while it waits; the steps that do hold one wait on
    the pool). Not tied to the connection budget: with a provider at 300 ms and 25 buyers a
    process, a pool the size of the budget's 12 threads made checkouts queue for a thread."""
    payment_test_latency_ms: int = Field(default=0, ge=0)
    """The test provider's time per authorisation (benchmarks: ``--payment-latency-ms``)."""
    payment_test_outcome: Literal["", "decline", "timeout"] = ""
    """The test provider declines, or times out on, every authorisation ("": by token)."""
    return_window_days: int = 30
    """Days after which the store app refuses a return."""
    public_base_url: str = "http://127.0.0.1:8000"
    """Where the public pages are reached (links in notifications and emails)."""
    identity_code_digits: int = Field(default=6, ge=6, le=10)
    """Digits of an identity verification code (email or SMS)."""
    identity_code_ttl_seconds: int = Field(default=600, ge=60)
    """Lifetime of a verification code."""
    identity_code_max_attempts: int = Field(default=5, ge=1)
    """Wrong guesses allowed per verification code."""
    identity_code_sends_per_window: int = Field(default=3, ge=1)
    """Codes sent per identity per window."""
    identity_code_window_seconds: int = Field(default=900, ge=60)
    """That window."""
    identity_code_sends_per_day: int = Field(default=10, ge=1)
    """Identity (sign-up, verification) codes sent per person per day."""
    identity_claims_per_day: int = Field(default=10, ge=1)
    """Emails and phone numbers a signed-in customer may add to their own profile per UTC day
    (each sends a code; 429 with Retry-After beyond); staff and integrations are not limited."""
    presence_code_sends_per_day: int = Field(default=10, ge=1)
    """Presence codes (a till's "send code to customer") sent per person per day; counted
    apart from identity codes."""
    presence_code_sends_per_principal_hour: int = Field(default=30, ge=1)
    """Presence codes one staff principal may send per clock hour across all customers (429
    with Retry-After beyond; audited)."""
    loyalty_goodwill_points_per_day: int = Field(default=5000, ge=1, le=100_000_000)
    """Goodwill points one person may credit by hand in a UTC day, across all customers (409
    ``goodwill-limit-reached`` beyond): their sign-in and the API keys they created count
    together; the journeys' points steps are not counted."""
    loyalty_goodwill_points_per_customer_per_day: int = Field(default=5000, ge=1, le=100_000_000)
    """Goodwill points one customer (all their profiles) may receive by hand in a UTC day,
    from all staff and keys together (409 ``customer-goodwill-limit-reached`` beyond)."""
    reset_code_digits: int = Field(default=8, ge=6, le=10)
    """Digits of an emailed password reset code (forgotten password)."""
    reset_code_ttl_seconds: int = Field(default=1800, ge=60)
    """Lifetime of a password reset code."""
    reset_code_max_attempts: int = Field(default=5, ge=1)
    """Wrong guesses allowed per reset code."""
    reset_requests_per_window: int = Field(default=3, ge=1)
    """Reset requests per email address per window."""
    reset_address_requests_per_window: int = Field(default=20, ge=1)
    """Reset requests per client address per window."""
    reset_window_seconds: int = Field(default=900, ge=60)
    """That window."""
    public_requests_per_window: int = Field(default=60, ge=1)
    """Requests per client address per window to the public routes that write or hold a
    connection (the web chat: start, post, read, listen; ``auth.policy``), then 429."""
    public_window_seconds: int = Field(default=60, ge=10)
    """That window."""
    support_assistant_threshold: float = Field(default=0.4, ge=0.0, le=1.0)
    """The assistant answers an intent recognised with at least this confidence; below it the
    conversation goes to an agent."""
    support_assistant_file: Path | None = None
    """A JSON file of the operator's intents and answers, added to the shipped ones
    (``{"intents": {"name": {"examples": [...], "answer": "..."}}}``); the model retrains at
    start when it changes."""
    support_assistant_in_chat: bool = True
    """The self-service assistant answers chat messages first, handing over to an agent (with
    an internal note) when it cannot."""
    support_chat_auto_resolve_hours: float = Field(default=24.0, ge=0.0, le=24.0 * 90)
    """A web chat the assistant answered waits for the customer (pending); when they have not
    written again for these hours, the job ``support.auto_resolve`` resolves it (counted as
    contained). 0: it stays pending until an agent resolves it."""
    support_assistant_email_auto_reply: bool = False
    """The assistant replies to a new email conversation when it can answer with confidence
    (not a handover, nothing to verify); otherwise the email waits for an agent."""
    support_assistant_requests_per_window: int = Field(default=30, ge=1)
    """Questions to the public assistant per client address per window (then 429)."""
    support_assistant_window_seconds: int = Field(default=60, ge=10)
    """That window."""
    sign_up_answer_seconds: float = Field(default=0.4, ge=0, le=5)
    """The least time the shop's sign-up takes to answer. An email that already has an account
    gets a notice and nothing is created, a new one a profile, a sign-in and a code: without
    a floor above both, the answer's time told which emails have accounts."""
    sign_up_unverified_days: int = Field(default=7, ge=1, le=3650)
    """Days after which a shop sign-up whose email was never verified is removed by the
    server's sweep: its disabled sign-in, and its profile when nothing else was added to it."""

    db_processes: int = 1
    """Processes sharing the PostgreSQL server (API workers + relays + job workers; ``serve
    --workers`` sets it): they split its connections equally (see Connections)."""
    db_max_connections: int | None = None
    """Connections per process; set: refused at start unless processes x it fits the
    server."""
    db_reserved_connections: int = 10
    """Connections left free for psql, migrations and monitoring."""
    db_pool_timeout_seconds: float = 10.0
    """Seconds a request queues for a connection before a 503 problem."""
    db_pgbouncer: bool = False
    """Behind PgBouncer in transaction pooling: no prepared statements, no startup options;
    the share is ``db_max_connections`` (or ``db_pool_size``), PgBouncer's own limits
    apply."""
    database_direct_url: str | None = None
    """PostgreSQL itself when ``database_url`` goes through PgBouncer: migrations (which every
    command runs at start) and the principal cache's LISTEN connection use it, with
    ``database_schema``; unset: ``database_url``, and no principal cache."""

    jobs_worker_enabled: bool = True
    """The server runs a durable-job worker thread (false: run ``omniretail jobs worker``)."""
    jobs_poll_seconds: float = 1.0
    """Seconds a job worker waits when no job is queued."""
    jobs_lease_seconds: float = 60.0
    """A crashed worker's job is taken again after this long."""
    jobs_max_attempts: int = 3
    """Claims of one job before it fails for good."""
    marketing_delivery_processes: int = Field(default=0, ge=0, le=32)
    """Processes that advance due journey runs (``advance_due``) and decide, render and queue
    due marketing sends (``deliver_due``), started by ``serve`` and ``omniretail marketing
    journeys run``; they share the work (each claims its own batches). 0: the journeys thread
    does both itself. Count them in ``db_processes``."""
    segment_preview_seconds: float = Field(default=20.0, gt=0, le=600)
    """A segment rule's preview (``POST /marketing/segments/preview``, the HQ builder) stops
    after this long, checked between customers: 422 ``segment-rule-too-slow``."""

    idempotency_ttl_hours: float = Field(default=24.0, gt=0)
    """Hours an Idempotency-Key and its reply are kept (then swept)."""
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    """Largest request body; a larger one is refused with 413, unread."""
    max_event_body_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    """Largest body of ``POST /events`` (event batches)."""

    nats_url: str | None = None
    """NATS server (e.g. ``nats://127.0.0.1:4222``) whose JetStream receives a copy of every
    outbox event (the relay's ``nats.jetstream`` handler, at least once, the event id as
    ``Nats-Msg-Id``); unset: no such sink."""
    nats_subject_prefix: str = Field(default="omniretail", min_length=1, max_length=100)
    """Events go to subject ``<prefix>.<event type>``."""
    nats_stream: str = Field(default="OMNIRETAIL", min_length=1, max_length=100)
    """The JetStream stream (subjects ``<prefix>.>``), created at the first publish if
    missing."""
    nats_duplicate_window_seconds: float = Field(default=120.0, gt=0)
    """The stream's de-duplication window when the sink creates it: a copy of an event
    published again within it (a relay retry) is dropped by JetStream."""
    nats_timeout_seconds: float = Field(default=5.0, gt=0)
    """Seconds to connect or to wait for JetStream's acknowledgements; then the delivery
    fails and the relay retries it."""

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

    model_config = SettingsConfigDict(
        env_prefix="OMNIRETAIL_ARGON2_", extra="ignore", use_attribute_docstrings=True
    )

    profile: Literal["production", "test"] = "production"
    """``test``: the library's minimum parameters, for test suites only."""
    time_cost: int = Field(default=3, ge=2, le=20)
    """Argon2id passes."""
    memory_cost: int = Field(default=64 * 1024, ge=19 * 1024, le=4 * 1024 * 1024)
    """Argon2id memory in KiB."""
    parallelism: int = Field(default=4, ge=1, le=64)
    """Argon2id lanes."""
