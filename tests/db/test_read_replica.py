"""Reads that may lag go to the read replica (``db_read_url``); writes and read-your-writes
reads stay on the primary.

On PostgreSQL the "replica" is a second connection URL to the same server as a read-only role
(``replica_reader``, LOGIN, ``default_transaction_read_only`` on, SELECT only): the tests see
which role answered each read, and that the replica's engine cannot write."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from omniretail.app import create_app
from omniretail.bootstrap import Container, build_container
from omniretail.db.engine import make_engine, normalise_url
from omniretail.settings import Settings
from tests.conftest import TEST_SECRET_KEY, FixedClock, _truncate_all, admin_api_key
from tests.factories import make_network

READER = "replica_reader"
READ_ONLY_SQLSTATE = "25006"


def _as_user(url: str, user: str, **query: str) -> str:
    parsed = make_url(normalise_url(url)).set(username=user, password=None)
    if query:
        parsed = parsed.update_query_dict(query)
    return parsed.render_as_string(hide_password=False)


def _ensure_reader(url: str, schema: str) -> None:
    """The read-only role (cluster-wide, so created once and shared) and its grants in this
    run's schema (which go with the schema)."""
    admin = create_engine(normalise_url(url))
    try:
        with admin.begin() as conn:
            # Workers share the role's catalogue rows: concurrent ALTER ROLE fails with
            # "tuple concurrently updated", so one worker at a time.
            conn.execute(
                text("SELECT pg_advisory_xact_lock(hashtext('omniretail-replica-reader'))")
            )
            conn.execute(
                text(
                    "DO $$ BEGIN CREATE ROLE replica_reader LOGIN;"
                    " EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
                )
            )
            conn.execute(text(f"ALTER ROLE {READER} SET default_transaction_read_only = on"))
            conn.execute(text(f'GRANT USAGE ON SCHEMA "{schema}" TO {READER}'))
            conn.execute(text(f'GRANT SELECT ON ALL TABLES IN SCHEMA "{schema}" TO {READER}'))
    finally:
        admin.dispose()


@pytest.fixture
def replica_container(
    pg_schema: tuple[str, str], tmp_path: Path, clock: FixedClock
) -> Iterator[Container]:
    url, schema = pg_schema
    _ensure_reader(url, schema)
    container = build_container(
        Settings(
            database_url=url,
            database_schema=schema,
            db_read_url=_as_user(url, READER),
            data_dir=tmp_path,
            db_pool_size=10,
            secret_key=TEST_SECRET_KEY,  # type: ignore[arg-type]
        ),
        clock=clock,
    )
    _truncate_all(container)
    yield container
    container.dispose()


def _user(uow_factory: Any) -> str:
    with uow_factory() as uow:
        return str(uow.session.execute(text("SELECT current_user")).scalar_one())


def test_replica_reads_run_as_the_replica_role_and_the_rest_on_the_primary(
    replica_container: Container,
) -> None:
    assert replica_container.replica_engine is not None
    assert _user(replica_container.replica_uow) == READER
    # Reads that must see the last commit (sign-in, revocation) and writes: the primary.
    assert _user(replica_container.read_uow) != READER
    assert _user(replica_container.uow) != READER


def test_a_write_through_the_replica_fails_as_read_only(replica_container: Container) -> None:
    with pytest.raises(DBAPIError) as caught, replica_container.replica_uow() as uow:
        uow.session.execute(text("CREATE TEMP TABLE replica_probe (x int)"))
    assert getattr(caught.value.orig, "sqlstate", None) == READ_ONLY_SQLSTATE


def test_get_routes_read_from_the_replica_and_writes_go_to_the_primary(
    replica_container: Container,
) -> None:
    seen: dict[str, list[str]] = {"replica": [], "primary": []}
    assert replica_container.replica_engine is not None

    def recorder(name: str) -> Any:
        def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            seen[name].append(statement)

        return record

    event.listen(replica_container.replica_engine, "before_cursor_execute", recorder("replica"))
    event.listen(replica_container.engine, "before_cursor_execute", recorder("primary"))
    headers = {"X-API-Key": admin_api_key(replica_container)}
    app = create_app(replica_container, background_sweep=False)
    with TestClient(app, raise_server_exceptions=False, headers=headers) as client:
        created = client.post(
            "/api/v1/products",
            json={
                "code": "P-REPLICA",
                "name": "Replica mug",
                "skus": [{"code": "90001", "name": "Mug"}],
            },
        )
        assert created.status_code == 201, created.text
        writes_on_replica = [s for s in seen["replica"] if s.lstrip().upper().startswith("INSERT")]
        assert writes_on_replica == []
        assert any("INSERT INTO skus" in s for s in seen["primary"])

        seen["replica"].clear()
        listed = client.get("/api/v1/skus")
        assert listed.status_code == 200, listed.text
        assert "90001" in [sku["code"] for sku in listed.json()]
        assert any("FROM skus" in s for s in seen["replica"])


def test_the_hq_dashboard_reads_its_sales_history_from_the_replica(
    replica_container: Container,
) -> None:
    from omniretail.web.hq.dashboard import _sales

    seen: list[str] = []
    assert replica_container.replica_engine is not None
    event.listen(
        replica_container.replica_engine,
        "before_cursor_execute",
        lambda _conn, _cursor, statement, *_args: seen.append(statement),
    )
    labels, _series, _table = _sales(replica_container, lambda _message: None)

    assert len(labels) > 0
    assert any("order_lines" in statement for statement in seen)


def test_the_replica_engine_is_read_only_behind_pgbouncer_too(
    pg_schema: tuple[str, str],
) -> None:
    """No startup options there: each transaction begins READ ONLY instead."""
    url, _schema = pg_schema
    engine = make_engine(_as_user(url, "postgres"), pgbouncer=True, read_only=True, pool_size=1)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SHOW transaction_read_only")).scalar_one() == "on"
            with pytest.raises(DBAPIError) as caught:
                conn.execute(text("CREATE TEMP TABLE replica_probe (x int)"))
        assert getattr(caught.value.orig, "sqlstate", None) == READ_ONLY_SQLSTATE
    finally:
        engine.dispose()


def test_without_a_read_url_replica_reads_use_the_primary(
    pg_schema: tuple[str, str], tmp_path: Path
) -> None:
    url, schema = pg_schema
    container = build_container(
        Settings(
            database_url=url,
            database_schema=schema,
            db_read_url=url,  # the same URL: no second engine
            data_dir=tmp_path,
            db_pool_size=4,
            secret_key=TEST_SECRET_KEY,  # type: ignore[arg-type]
        )
    )
    try:
        assert container.replica_engine is None
        assert _user(container.replica_uow) == _user(container.read_uow)
    finally:
        container.dispose()


def test_sqlite_refuses_a_separate_read_url(tmp_path: Path) -> None:
    primary = f"sqlite:///{tmp_path / 'a.db'}"
    with pytest.raises(ValueError, match="SQLite has no read replicas"):
        build_container(
            Settings(
                database_url=primary,
                db_read_url=f"sqlite:///{tmp_path / 'b.db'}",
                data_dir=tmp_path,
            )
        )


def test_sqlite_accepts_the_database_url_as_read_url(tmp_path: Path) -> None:
    primary = f"sqlite:///{tmp_path / 'a.db'}"
    container = build_container(
        Settings(database_url=primary, db_read_url=primary, data_dir=tmp_path)
    )
    try:
        container.migrate()
        make_network(container)
        assert container.replica_engine is None
        with container.replica_uow() as uow:
            count = uow.session.execute(text("SELECT count(*) FROM locations")).scalar_one()
        assert count == 4
    finally:
        container.dispose()
