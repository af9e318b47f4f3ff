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
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, inspect, text

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
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    container = build_container(Settings(database_url=f"sqlite:///{path}", db_pool_size=2))
    container.migrate()
    container.dispose()
    return path


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
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
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
    with container.engine.begin() as conn:
        # Only tables the migrations created: a model may land before its migration.
        existing = set(inspect(conn).get_table_names())
        names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables if t.name in existing)
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        for table in Base.metadata.sorted_tables:
            if table.name in _SEEDED:
                conn.execute(table.insert(), _SEEDED[table.name])


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
