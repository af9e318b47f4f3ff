"""Composition root: builds engines, the unit-of-work factory and the clock from settings.

Only the edges import it (``app``, ``commands``, ``migrations``); everything else reaches the
container as a ``runtime.Runtime``."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker

from omniretail.auth import handlers as auth_handlers
from omniretail.auth.password_reset import ResetPolicy
from omniretail.auth.principal_cache import PrincipalCache
from omniretail.customers import handlers as customers_handlers
from omniretail.db import migrate
from omniretail.db.budget import PoolPlan, plan_pools, read_server_limits
from omniretail.db.encrypted import load_keyring
from omniretail.db.engine import StatementCounter, is_sqlite, make_engine, normalise_url
from omniretail.db.notify import connector
from omniretail.db.uow import ReadCache, UnitOfWork
from omniretail.fulfilment import handlers as orders_handlers
from omniretail.intelligence import jobs as intelligence_jobs
from omniretail.jobs.runner import JobKinds, JobRunner
from omniretail.kernel.clock import Clock, SystemClock
from omniretail.kernel.keys import Keyring
from omniretail.kernel.limits import HoldCaps
from omniretail.loyalty import handlers as loyalty_handlers
from omniretail.loyalty import jobs as loyalty_jobs
from omniretail.marketing import handlers as marketing_handlers
from omniretail.marketing import jobs as marketing_jobs
from omniretail.messaging.handlers import HandlerRegistry
from omniretail.messaging.jetstream import JetStreamSink
from omniretail.messaging.relay import Relay
from omniretail.messaging.senders import Senders
from omniretail.messaging.wiring import build_jetstream_sink, build_relay, build_senders
from omniretail.notifications import handlers as notifications_handlers
from omniretail.orders import handlers as payment_instructions
from omniretail.orders import jobs as orders_jobs
from omniretail.orders.service import PaymentProvider, TestPaymentProvider, provider_named
from omniretail.settings import Settings
from omniretail.support import handlers as support_handlers
from omniretail.support import jobs as support_jobs
from omniretail.support import service as support

__all__ = ["Container", "build_container", "load_keyring"]


@dataclass
class Container:
    settings: Settings
    engine: Engine
    read_engine: Engine
    clock: Clock
    counter: StatementCounter
    # Pool sizes, read slots and request threads within this process's connection budget.
    pools: PoolPlan
    # Connections that commit without waiting for the WAL flush (PostgreSQL), for cart holds;
    # None: the write engine (SQLite commits without a sync in WAL mode anyway).
    relaxed_engine: Engine | None = None
    # Reads that may lag behind the last commit (``replica_uow``): the read replica's engine
    # (``db_read_url``); None: ``read_engine``, the primary.
    replica_engine: Engine | None = None
    cache: ReadCache = field(default_factory=ReadCache)
    # Who a credential is, invalidated by LISTEN/NOTIFY (PostgreSQL with a listener in the
    # budget; None: read on every request). Its listener starts at the first request.
    principal_cache: PrincipalCache | None = None
    keyring: Keyring = field(default_factory=lambda: Keyring(secrets.token_bytes(32)))
    # Outgoing channels; tests swap a member for a recording fake (messaging.senders).
    senders: Senders = field(default_factory=Senders)
    # The payment provider: checkout authorises through it, the relay captures, voids and
    # refunds (orders.payment_instructions); tests swap it.
    payments: PaymentProvider = field(default_factory=TestPaymentProvider)
    # Event handlers the outbox relay delivers to; domains add theirs in build_container.
    handlers: HandlerRegistry = field(init=False)
    # Kinds of durable job the workers run; domains add theirs here.
    job_kinds: JobKinds = field(init=False)
    # Every event also goes to NATS JetStream (``nats_url``; None: off).
    jetstream: JetStreamSink | None = field(init=False, default=None)
    # The self-service assistant that answers chat messages first (support.assistant_chat),
    # handed to the chat use cases; by default as ``support_assistant_in_chat`` says. Tests
    # swap it (a fake, or None: every chat waits for an agent).
    assistant: support.Assistant | None = field(init=False)

    def __post_init__(self) -> None:
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._read_sessions = sessionmaker(self.read_engine, expire_on_commit=False)
        self._replica_sessions = (
            self._read_sessions
            if self.replica_engine is None
            else sessionmaker(self.replica_engine, expire_on_commit=False)
        )
        self._relaxed_sessions = sessionmaker(
            self.relaxed_engine or self.engine, expire_on_commit=False
        )
        self.handlers = HandlerRegistry()
        notifications_handlers.install(
            self.handlers,
            self.senders,
            self.clock,
            webhook_timeout_seconds=self.settings.webhook_timeout_seconds,
            webhook_allow_private_networks=self.settings.webhook_allow_private_networks,
        )
        orders_handlers.install(self.handlers, public_base_url=self.settings.public_base_url)
        payment_instructions.install(self.handlers, lambda: self.payments)
        # Orders feed the customer's timeline and the points ledger.
        customers_handlers.install(self.handlers)
        customers_handlers.install_verification(self.handlers, self.senders, self.keyring)
        auth_handlers.install(
            self.handlers,
            self.senders,
            self.keyring,
            public_base_url=self.settings.public_base_url,
            reset_policy=ResetPolicy.from_settings(self.settings),
        )
        loyalty_handlers.install(self.handlers)
        marketing_handlers.install(self.handlers, self.keyring)
        support_handlers.install(
            self.handlers, self.senders, reply_to=self.settings.support_reply_to
        )
        # The satisfaction survey asked after a resolution (support.surveys).
        support.install_surveys(self.handlers, base_url=self.settings.public_base_url)
        # Every event, also to NATS JetStream for downstream systems (off unless nats_url).
        self.jetstream = build_jetstream_sink(self.settings)
        if self.jetstream is not None:
            self.jetstream.install(self.handlers)
        self.assistant = support.assistant_for(self.settings)
        self.job_kinds = JobKinds()
        loyalty_jobs.install(self.job_kinds)
        intelligence_jobs.install(self.job_kinds, self.read_engine, self)
        marketing_jobs.install(self.job_kinds, self.keyring)
        orders_jobs.install(self.job_kinds, lambda: self.payments)
        # Web chats the assistant answered and the customer left resolve themselves.
        support_jobs.install(
            self.job_kinds, after_hours=self.settings.support_chat_auto_resolve_hours
        )

    def uow(self, *, durable: bool = True) -> UnitOfWork:
        """A unit of work for a use case that may write.

        ``durable=False`` only for use cases whose whole transaction may be lost in a database
        crash without harm: cart holds and cart lines (stock and hold go together, so nothing
        disagrees; the shopper adds the line again). Its commit returns, and its row locks are
        released, without waiting for the disk, which is what hot stock rows need. A later
        durable commit flushes the WAL before it, so a sale never rests on a lost hold."""
        sessions = self._sessions if durable else self._relaxed_sessions
        return UnitOfWork(
            sessions,
            self.clock,
            self.settings.event_source,
            self.cache,
            self.keyring,
            hold_caps=HoldCaps(
                self.settings.cart_max_units_per_sku, self.settings.cart_max_held_units
            ),
        )

    def read_uow(self) -> UnitOfWork:
        """A unit of work for reads; on SQLite it does not take the write lock."""
        return UnitOfWork(
            self._read_sessions, self.clock, self.settings.event_source, self.cache, self.keyring
        )

    def replica_uow(self) -> UnitOfWork:
        """A unit of work for reads that may lag behind the last commit (see "Read replica" in
        docs/operations.md): the read replica when ``db_read_url`` is set, in read-only
        transactions; otherwise the same as ``read_uow``. Never for a read that must see this
        request's or a just-made write (sign-in, revocation, idempotency, carts)."""
        return UnitOfWork(
            self._replica_sessions,
            self.clock,
            self.settings.event_source,
            self.cache,
            self.keyring,
        )

    @property
    def replica_read_engine(self) -> Engine:
        """The engine of ``replica_uow``, for reports that read with Polars (sales history)."""
        return self.replica_engine or self.read_engine

    @property
    def reads_autocommit(self) -> bool:
        """Reads run without a transaction (PostgreSQL): closing a read session sends nothing."""
        return _autocommit(self.read_engine)

    @property
    def replica_reads_autocommit(self) -> bool:
        """``reads_autocommit`` for ``replica_uow``."""
        return _autocommit(self.replica_engine or self.read_engine)

    @property
    def backend(self) -> str:
        return self.engine.dialect.name

    def migrate(self) -> None:
        """Upgrade the schema; behind PgBouncer on ``database_direct_url`` (PostgreSQL
        itself, one connection for the upgrade) when it is set."""
        direct = self.settings.database_direct_url
        if not direct:
            migrate.upgrade(self.engine, keyring=self.keyring)
            return
        engine = make_engine(direct, schema=self.settings.database_schema, pool_size=1)
        try:
            migrate.upgrade(engine, keyring=self.keyring)
        finally:
            engine.dispose()

    def relay(self) -> Relay:
        """An outbox relay delivering this database's events to ``handlers``."""
        return build_relay(self.settings, self.uow, self.handlers, self.read_uow)

    def job_runner(self) -> JobRunner:
        """A worker for this database's durable jobs."""
        return JobRunner(
            self.uow,
            self.job_kinds,
            read_uow_factory=self.read_uow,
            lease=timedelta(seconds=self.settings.jobs_lease_seconds),
            max_attempts=self.settings.jobs_max_attempts,
        )

    def dispose(self) -> None:
        if self.principal_cache is not None:
            self.principal_cache.stop()
        self.handlers.close()
        if self.jetstream is not None:
            self.jetstream.close()
        self.engine.dispose()
        if self.relaxed_engine is not None:
            self.relaxed_engine.dispose()
        if self.read_engine is not self.engine:
            self.read_engine.dispose()
        if self.replica_engine is not None:
            self.replica_engine.dispose()


def _autocommit(engine: Engine) -> bool:
    return bool(engine.get_execution_options().get("isolation_level") == "AUTOCOMMIT")


def build_container(settings: Settings | None = None, clock: Clock | None = None) -> Container:
    settings = settings or Settings()
    keyring = load_keyring(settings)  # refuses a shared database without a key, first
    url = settings.resolved_database_url()
    counter = StatementCounter()
    sqlite = is_sqlite(url)
    limits = None if sqlite or settings.db_pgbouncer else read_server_limits(normalise_url(url))
    pools = plan_pools(settings, limits, postgres=not sqlite)
    engine = make_engine(
        url,
        schema=settings.database_schema,
        pool_size=pools.write,
        pool_timeout=pools.timeout,
        pgbouncer=settings.db_pgbouncer,
        counter=counter,
    )
    # Reads on PostgreSQL run in autocommit on the same pool: under READ COMMITTED every
    # statement takes its own snapshot anyway, so a read transaction bought nothing but a
    # BEGIN and a COMMIT round trip each. On SQLite a deferred BEGIN keeps one WAL snapshot
    # for the whole read and never takes the write lock.
    read_engine = (
        make_engine(
            url,
            pool_size=pools.write,
            pool_timeout=pools.timeout,
            immediate=False,
            counter=counter,
        )
        if sqlite
        else engine.execution_options(isolation_level="AUTOCOMMIT")
    )
    replica_engine = _replica_engine(settings, url, pools, counter)
    relaxed_engine = (
        None
        if sqlite
        else make_engine(
            url,
            schema=settings.database_schema,
            pool_size=pools.relaxed,
            synchronous_commit=False,
            pool_timeout=pools.timeout,
            pgbouncer=settings.db_pgbouncer,
            counter=counter,
        )
    )
    principal_cache = (
        PrincipalCache(
            connector(
                engine,
                settings.database_schema,
                settings.database_direct_url if settings.db_pgbouncer else None,
            ),
            max_age=settings.auth_cache_seconds,
        )
        if pools.listener
        else None
    )
    return Container(
        settings=settings,
        engine=engine,
        principal_cache=principal_cache,
        read_engine=read_engine,
        relaxed_engine=relaxed_engine,
        replica_engine=replica_engine,
        clock=clock or SystemClock(),
        counter=counter,
        pools=pools,
        keyring=keyring,
        senders=build_senders(settings),
        payments=provider_named(
            settings.payment_provider,
            latency_ms=settings.payment_test_latency_ms,
            timeout_ms=int(settings.payment_timeout_seconds * 1000),
            outcome=settings.payment_test_outcome,
        ),
    )


def _replica_engine(
    settings: Settings, url: str, pools: PoolPlan, counter: StatementCounter
) -> Engine | None:
    """The read replica's engine (``db_read_url``), or None when reads stay on the primary.

    Its connections are read-only (``make_engine(read_only=True)``): on a real replica every
    transaction is anyway, on a read-only role of the primary this keeps a read from writing.
    Its pool is the size of the primary's (the read slots bound what it holds at once)."""
    read_url = settings.db_read_url
    if not read_url or normalise_url(read_url) == normalise_url(url):
        return None
    if is_sqlite(url) or is_sqlite(read_url):
        raise ValueError(
            "db_read_url: SQLite has no read replicas (reads already run beside the writer);"
            " unset OMNIRETAIL_DB_READ_URL or set it to the database URL"
        )
    engine = make_engine(
        read_url,
        schema=settings.database_schema,
        pool_size=pools.write,
        pool_timeout=pools.timeout,
        pgbouncer=settings.db_pgbouncer,
        read_only=True,
        counter=counter,
    )
    if settings.db_pgbouncer:
        return engine  # read-only transactions (BEGIN READ ONLY), see make_engine
    # Autocommit like the primary's reads; default_transaction_read_only covers each statement.
    return engine.execution_options(isolation_level="AUTOCOMMIT")
