"""Test fixtures: every database test runs on SQLite and on PostgreSQL.

PostgreSQL comes from OMNIRETAIL_TEST_PG_URL or the local server; each test session works in
its own schema, dropped at the end. Without a reachable server the PostgreSQL tests are skipped
with the reason, unless OMNIRETAIL_REQUIRE_PG=1 (as in .ci/run), which makes that an error.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, create_engine, inspect, text

from omniretail.app import create_app
from omniretail.bootstrap import Container, build_container
from omniretail.migrations.registry import Base
from omniretail.settings import Settings
from tests import loopback

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
# A shared database needs a configured key (db.encrypted.load_keyring): the tests' fixed one.
TEST_SECRET_KEY = "test-secret-key-0123456789abcdef0123456789"
# Argon2 at the library's minimum cost (omniretail.settings.PasswordHashSettings): production
# parameters cost tenths of a second per hash. Set before anything hashes; CLI subprocesses
# inherit it. tests/auth/test_password_hashing.py checks the production defaults.
os.environ.setdefault("OMNIRETAIL_ARGON2_PROFILE", "test")


class FixedClock:
    """A clock the test moves by hand."""

    def __init__(self, start: datetime | None = None) -> None:
        self.current = start or datetime(2026, 11, 2, 9, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.current

    def advance(self, **kwargs: float) -> None:
        self.current += timedelta(**kwargs)


def _pg_url() -> str:
    return os.environ.get("OMNIRETAIL_TEST_PG_URL", DEFAULT_PG_URL)


def _pg_reachable(url: str) -> str | None:
    try:
        engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:  # any failure means "not reachable"
        return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"


@pytest.hookimpl(tryfirst=True)  # before xdist's worker reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that uses a module- or class-scoped fixture joins its module's xdist group, so
    that under ``--dist loadgroup`` (scripts/test) one worker runs the module and builds the
    fixture once; other tests are spread one by one."""
    for item in items:
        info = getattr(item, "_fixtureinfo", None)
        if info is None:
            continue
        scopes = {d.scope for defs in info.name2fixturedefs.values() for d in defs}
        if "package" in scopes:
            item.add_marker(pytest.mark.xdist_group(str(item.path.parent)))
        elif scopes & {"module", "class"}:
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::")[0]))


@pytest.fixture(scope="session")
def pg_schema() -> Iterator[tuple[str, str]]:
    url = _pg_url()
    problem = _pg_reachable(url)
    if problem:
        message = f"PostgreSQL not reachable at {url} ({problem})"
        if os.environ.get("OMNIRETAIL_REQUIRE_PG") == "1":
            pytest.fail(message + "; OMNIRETAIL_REQUIRE_PG=1 forbids skipping")
        pytest.skip(message)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    container = build_container(
        Settings(
            database_url=url,
            database_schema=schema,
            db_pool_size=5,
            secret_key=TEST_SECRET_KEY,  # type: ignore[arg-type]
        )
    )
    container.migrate()
    _remember_seeds(container)
    container.dispose()
    yield url, schema
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{_snapshot_schema(schema)}" CASCADE'))
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    container = build_container(Settings(database_url=f"sqlite:///{path}", db_pool_size=2))
    container.migrate()
    container.dispose()
    return path


# --- the web retailer (tests/web/seed.py), seeded once per worker ------------------------------
# A test that requests ``seeded`` starts from the retailer exactly as ``seed()`` leaves it on a
# fresh database at the clock's start: on SQLite a copy of a seeded file, on PostgreSQL the
# schema put back to a snapshot taken right after seeding (the tests' fixture
# ``tests/web/conftest.py::seeded`` hands out the baseline below).


@dataclass(frozen=True)
class WebBaseline:
    seeded: Any  # tests.web.seed.Seeded
    # The payment provider's state after seeding (the seeded orders' authorisations).
    authorisations: dict[str, Any]
    instructions: dict[str, Any]

    @classmethod
    def build(cls, container: Container) -> WebBaseline:
        from omniretail.orders.service import TestPaymentProvider
        from tests.web.seed import seed

        payments = TestPaymentProvider()
        container.payments = payments
        seeded = seed(container, payments)
        return cls(seeded, payments.authorisations, payments.instructions)


WEB_BASELINE = pytest.StashKey[WebBaseline]()


@pytest.fixture(scope="session")
def seeded_sqlite_template(
    sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, WebBaseline]:
    folder = tmp_path_factory.mktemp("seeded")
    path = folder / "omniretail.db"
    shutil.copy(sqlite_template, path)
    settings = Settings(
        database_url=f"sqlite:///{path}",
        data_dir=folder,
        db_pool_size=2,
        secret_key=TEST_SECRET_KEY,  # type: ignore[arg-type]
    )
    container = build_container(settings, clock=FixedClock())
    baseline = WebBaseline.build(container)
    container.dispose()
    return path, baseline


@pytest.fixture(autouse=True)
def secret_key_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """CLI commands run in a test read the same key as the test's container."""
    monkeypatch.setenv("OMNIRETAIL_SECRET_KEY", TEST_SECRET_KEY)
    monkeypatch.delenv("OMNIRETAIL_SECRET_KEYS", raising=False)


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def container(
    backend: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    clock: FixedClock,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Container]:
    """A migrated, empty database of the given backend. A test with the loopback webhook
    ``receiver`` allows webhooks to private addresses (for the CLI's containers too)."""
    if "receiver" in request.fixturenames:
        monkeypatch.setenv("OMNIRETAIL_WEBHOOK_ALLOW_PRIVATE_NETWORKS", "true")
    wants_seed = "seeded" in request.fixturenames
    if backend == "sqlite":
        if wants_seed:
            template, baseline = request.getfixturevalue("seeded_sqlite_template")
            request.node.stash[WEB_BASELINE] = baseline
        else:
            template = request.getfixturevalue("sqlite_template")
        path = tmp_path / "omniretail.db"
        shutil.copy(template, path)
        settings = Settings(database_url=f"sqlite:///{path}", data_dir=tmp_path, db_pool_size=40)
        built = build_container(settings, clock=clock)
    else:
        url, schema = request.getfixturevalue("pg_schema")
        settings = Settings(
            database_url=url,
            database_schema=schema,
            data_dir=tmp_path,
            db_pool_size=40,
            secret_key=TEST_SECRET_KEY,  # type: ignore[arg-type]
        )
        built = build_container(settings, clock=clock)
        if wants_seed:
            request.node.stash[WEB_BASELINE] = _reset_to_seeded(built)
        else:
            _truncate_all(built)
    yield built
    built.dispose()


# Rows the migrations seed (reference data such as the tax rates), put back after each
# truncation; an identity column is left to its restarted sequence.
_SEEDED: dict[str, list[dict[str, Any]]] = {}


def _remember_seeds(container: Container) -> None:
    with container.engine.connect() as conn:
        existing = set(inspect(conn).get_table_names())
        for table in Base.metadata.sorted_tables:
            if table.name not in existing:
                continue
            auto = table.autoincrement_column
            order = list(table.primary_key.columns)
            rows = conn.execute(table.select().order_by(*order)).mappings().all()
            if rows:
                _SEEDED[table.name] = [
                    {k: v for k, v in r.items() if auto is None or k != auto.name} for r in rows
                ]


def _truncate_all(container: Container) -> None:
    """Puts the schema back to its migrated state. The first call of a session truncates every
    table; later ones empty only the tables the test wrote to (rows, a used identity sequence,
    changed seed rows) and put their seeds back. TRUNCATE creates new files for each table
    and its indexes: about 0.4 s for the ~90 tables (and a write to ``skus`` cascades to most
    of them), where deleting a test's few rows takes milliseconds."""
    with container.engine.begin() as conn:
        schema = container.settings.database_schema or "public"
        clean = _CLEAN.get(schema)
        if clean is None:
            existing = set(inspect(conn).get_table_names())
            names = [t.name for t in Base.metadata.sorted_tables if t.name in existing]
            _truncate(conn, names)
            _CLEAN[schema] = _CleanState.measure(conn, schema, names)
            return
        dirty = clean.dirty_tables(conn)
        if not dirty:
            return
        if not clean.superuser:
            _truncate(conn, dirty)
            return
        # Row deletes with triggers off (foreign keys, the append-only guards): the state after
        # is the same as TRUNCATE ... RESTART IDENTITY's, since every table left alone is clean.
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        for name in dirty:
            conn.execute(text(f'DELETE FROM "{name}"'))
        for sequence, table in clean.sequences.items():
            if table in dirty:
                conn.execute(text(f'ALTER SEQUENCE "{sequence}" RESTART'))
        _refill_seeds(conn)


def _truncate(conn: Connection, names: list[str]) -> None:
    quoted = ", ".join(f'"{name}"' for name in names)
    conn.execute(text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))
    _refill_seeds(conn)  # CASCADE may have emptied seeded tables that were not named


def _refill_seeds(conn: Connection) -> None:
    for table in Base.metadata.sorted_tables:
        empty = f'SELECT NOT EXISTS (SELECT 1 FROM "{table.name}")'
        if table.name in _SEEDED and conn.execute(text(empty)).scalar():
            conn.execute(table.insert(), _SEEDED[table.name])


_ROWS_DIGEST = (
    "(SELECT md5(coalesce(string_agg(r::text, ',' ORDER BY r::text), '')) FROM \"{0}\" r)"
)
_OWNED_SEQUENCES = text(
    """
    SELECT t.relname AS table_name, s.relname AS sequence_name
    FROM pg_class s
    JOIN pg_namespace n ON n.oid = s.relnamespace
    JOIN pg_depend d ON d.objid = s.oid AND d.classid = 'pg_class'::regclass
        AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
    JOIN pg_class t ON t.oid = d.refobjid
    WHERE s.relkind = 'S' AND n.nspname = :schema
    """
)


@dataclass(frozen=True)
class _CleanState:
    """What every table looks like right after a full truncation: no rows (or exactly the
    seeds) and identity sequences never used (or used only by the seeds)."""

    schema: str
    tables: list[str]
    digests: dict[str, str]
    sequences: dict[str, str]  # sequence -> its table
    last_values: dict[str, int | None]
    superuser: bool  # may turn triggers off (session_replication_role)

    @classmethod
    def measure(cls, conn: Connection, schema: str, tables: list[str]) -> _CleanState:
        sequences = {
            row.sequence_name: row.table_name
            for row in conn.execute(_OWNED_SEQUENCES, {"schema": schema})
            if row.table_name in tables
        }
        seeded = [name for name in tables if name in _SEEDED]
        digests = {
            name: conn.execute(text(_ROWS_DIGEST.format(name))).scalar_one() for name in seeded
        }
        superuser = conn.execute(text("SELECT current_setting('is_superuser') = 'on'")).scalar()
        return cls(
            schema, tables, digests, sequences, cls._last_values(conn, schema), bool(superuser)
        )

    @staticmethod
    def _last_values(conn: Connection, schema: str) -> dict[str, int | None]:
        rows = conn.execute(
            text("SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = :schema"),
            {"schema": schema},
        )
        return {row.sequencename: row.last_value for row in rows}

    def dirty_tables(self, conn: Connection) -> list[str]:
        dirty = _changed_tables(conn, self.tables, self.digests)
        for sequence, last_value in self._last_values(conn, self.schema).items():
            if sequence in self.sequences and last_value != self.last_values.get(sequence):
                dirty.add(self.sequences[sequence])
        return [name for name in self.tables if name in dirty]


_CLEAN: dict[str, _CleanState] = {}


def _changed_tables(conn: Connection, tables: list[str], digests: dict[str, str]) -> set[str]:
    """Of ``tables``, those whose rows' digest differs from ``digests`` (a table without a
    digest was empty: any row changes it), in one query."""
    checks = [
        f"SELECT '{name}' WHERE "
        + (
            f"{_ROWS_DIGEST.format(name)} <> '{digests[name]}'"
            if name in digests
            else f'EXISTS (SELECT 1 FROM "{name}")'
        )
        for name in tables
    ]
    return set(conn.execute(text(" UNION ALL ".join(checks))).scalars())


def _snapshot_schema(schema: str) -> str:
    return f"{schema}_seeded"


@dataclass(frozen=True)
class _SeededState:
    """The schema right after ``seed()``: a copy of each non-empty table in a schema of its own,
    the digests of those tables and the sequences' positions."""

    baseline: WebBaseline
    snapshot: str  # the schema holding the copies
    tables: list[str]
    digests: dict[str, str]  # the non-empty tables
    sequences: dict[str, str]  # sequence -> its table
    positions: dict[str, int | None]  # sequence -> last_value (None: never used)

    def dirty_tables(self, conn: Connection) -> tuple[list[str], list[str]]:
        """The tables that differ from the snapshot and the sequences that moved."""
        dirty = _changed_tables(conn, self.tables, self.digests)
        schema = conn.execute(text("SELECT current_schema()")).scalar_one()
        moved = [
            sequence
            for sequence, position in _CleanState._last_values(conn, schema).items()
            if sequence in self.sequences and position != self.positions.get(sequence)
        ]
        return [name for name in self.tables if name in dirty], moved


_SEEDED_STATE: dict[str, _SeededState] = {}


def _reset_to_seeded(container: Container) -> WebBaseline:
    """Puts the schema back to the web retailer as ``seed()`` left it; the first call of a
    session seeds a clean schema and takes the snapshot. Without the superuser's
    session_replication_role (needed to copy rows back under the foreign keys and the
    append-only guards) every test seeds again."""
    schema = container.settings.database_schema or "public"
    state = _SEEDED_STATE.get(schema)
    if state is None:
        _truncate_all(container)
        if not _CLEAN[schema].superuser:
            return WebBaseline.build(container)
        state = _take_snapshot(container, schema)
        _SEEDED_STATE[schema] = state
        return state.baseline
    with container.engine.begin() as conn:
        dirty, moved = state.dirty_tables(conn)
        if dirty:
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        for name in dirty:
            conn.execute(text(f'DELETE FROM "{name}"'))
            if name in state.digests:
                conn.execute(
                    text(
                        f'INSERT INTO "{name}" OVERRIDING SYSTEM VALUE '
                        f'SELECT * FROM "{state.snapshot}"."{name}"'
                    )
                )
        for sequence in moved:
            position = state.positions.get(sequence)
            if position is None:
                conn.execute(text(f'ALTER SEQUENCE "{sequence}" RESTART'))
            else:
                conn.execute(
                    text("SELECT setval(:sequence, :position)"),
                    {"sequence": f'"{schema}"."{sequence}"', "position": position},
                )
    return state.baseline


def _take_snapshot(container: Container, schema: str) -> _SeededState:
    # The baseline is seeded through a container of its own, at the clock's start.
    seeding = build_container(container.settings, clock=FixedClock())
    try:
        baseline = WebBaseline.build(seeding)
    finally:
        seeding.dispose()
    clean = _CLEAN[schema]
    snapshot = _snapshot_schema(schema)
    with container.engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{snapshot}" CASCADE'))
        conn.execute(text(f'CREATE SCHEMA "{snapshot}"'))
        filled = set(
            conn.execute(
                text(
                    " UNION ALL ".join(
                        f"SELECT '{name}' WHERE EXISTS (SELECT 1 FROM \"{name}\")"
                        for name in clean.tables
                    )
                )
            ).scalars()
        )
        digests = {}
        for name in clean.tables:
            if name in filled:
                conn.execute(text(f'CREATE TABLE "{snapshot}"."{name}" AS SELECT * FROM "{name}"'))
                digests[name] = conn.execute(text(_ROWS_DIGEST.format(name))).scalar_one()
        positions = clean._last_values(conn, schema)
    return _SeededState(baseline, snapshot, clean.tables, digests, clean.sequences, positions)


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    """Signed in as an admin (an API key made for the test); pass other headers to act as
    another role (see ``tests/auth``)."""
    app = create_app(container, background_sweep=False)
    headers = {"X-API-Key": admin_api_key(container)}
    with TestClient(app, raise_server_exceptions=False, headers=headers) as test_client:
        yield test_client


def admin_api_key(container: Container) -> str:
    from omniretail.auth import service as auth
    from omniretail.auth.models import Role
    from omniretail.auth.schemas import PrincipalCreate

    with container.uow() as uow:
        existing = auth.principal_by_username(uow, "test-admin")
        admin_id = (
            existing.id
            if existing
            else auth.create_principal(
                uow, PrincipalCreate(username="test-admin", role=Role.ADMIN, kind="system")
            ).id
        )
        return auth.create_api_key(uow, admin_id, "tests").key


# --- real endpoints on loopback (tests/loopback.py) ------------------------------------------


@pytest.fixture(scope="session")
def _webhook_server() -> Iterator[loopback.WebhookServer]:
    with loopback.webhook_server() as server:
        yield server


@pytest.fixture(scope="session")
def _smtp_server() -> Iterator[loopback.SmtpServer]:
    with loopback.smtp_server() as server:
        yield server


@pytest.fixture
def receiver(_webhook_server: loopback.WebhookServer) -> Iterator[loopback.WebhookReceiver]:
    """A webhook receiver on 127.0.0.1: the requests that arrive during this test."""
    with _webhook_server.view() as view:
        yield view


@pytest.fixture
def smtp_server(_smtp_server: loopback.SmtpServer) -> Iterator[loopback.SmtpSink]:
    """An SMTP server on 127.0.0.1: the messages that arrive during this test."""
    with _smtp_server.view() as view:
        yield view
