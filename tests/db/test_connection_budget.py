"""The PostgreSQL connection budget: pools sized from the server's limit, refused when the
configured processes cannot fit, never overflowing, and a busy pool answered with a 503
problem and Retry-After instead of an error from the server."""

from __future__ import annotations

import shutil
import threading
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from omniretail.app import create_app
from omniretail.bootstrap import build_container
from omniretail.commands.main import app as cli
from omniretail.db.budget import ConnectionBudgetError, ServerLimits, plan_pools
from omniretail.db.engine import make_engine, server_is_full
from omniretail.db.pg_connection import KeepsPreparedStatements
from omniretail.settings import Settings
from tests.conftest import admin_api_key

SERVER = ServerLimits(max_connections=100, reserved=3)


def plan(**settings: Any) -> Any:
    return plan_pools(Settings(**settings), SERVER, postgres=True)


def test_every_process_gets_an_equal_share_of_what_the_server_allows():
    # 100 - 3 reserved - 10 kept free = 87 for 5 processes (4 API workers and a relay)
    pools = plan(db_processes=5)
    # The principal cache's LISTEN connection is one of them.
    assert (pools.share, pools.total + pools.listener, pools.listener) == (17, 17, 1)
    assert (pools.total + pools.listener) * 5 <= 87
    # Reads and request threads never need more connections than the write pool holds.
    assert pools.read_slots + pools.threads <= pools.write
    assert pools.relaxed >= 1
    # A smaller pool than the share stays as asked.
    assert plan(db_processes=1, db_pool_size=12).total == 12


def test_a_configuration_beyond_the_server_is_refused_with_the_figures():
    with pytest.raises(ConnectionBudgetError) as refused:
        plan(db_processes=5, db_max_connections=40)
    message = str(refused.value)
    assert "5 processes x 40 connections" in message and "= 87" in message
    assert "PgBouncer" in message
    with pytest.raises(ConnectionBudgetError):
        plan(db_processes=50)
    fits = plan(db_processes=2, db_max_connections=40)
    assert fits.total + fits.listener == 40


def test_on_postgres_the_pools_never_exceed_the_budget(container, backend):
    if backend != "postgres":
        assert container.engine.pool.size() == container.pools.write  # type: ignore[attr-defined]
        return
    share = container.pools.share
    assert share is not None
    limits = container.pools
    write_pool: Any = container.engine.pool
    relaxed_pool: Any = container.relaxed_engine.pool  # type: ignore[union-attr]
    assert write_pool._max_overflow == 0 and relaxed_pool._max_overflow == 0
    assert write_pool.size() + relaxed_pool.size() == limits.total
    assert limits.total + limits.listener <= share


def test_serve_refuses_to_start_when_its_workers_do_not_fit(container, backend, monkeypatch):
    if backend != "postgres":
        pytest.skip("SQLite has no connection limit")
    monkeypatch.setenv("OMNIRETAIL_DATABASE_SCHEMA", container.settings.database_schema or "")
    monkeypatch.setenv("OMNIRETAIL_DB_MAX_CONNECTIONS", "30")
    url = container.settings.resolved_database_url()

    result = CliRunner().invoke(cli, ["serve", "--db", url, "--workers", "4", "--port", "1"])

    assert result.exit_code == 2
    assert "refusing to start" in result.output
    assert "4 processes x 30 connections" in " ".join(result.output.split())


def test_a_request_that_finds_every_connection_busy_gets_a_503_with_retry_after(
    tmp_path, backend, request
):
    if backend == "sqlite":
        path = tmp_path / "omniretail.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        settings = Settings(database_url=f"sqlite:///{path}", data_dir=tmp_path)
    else:
        url, schema = request.getfixturevalue("pg_schema")
        settings = Settings(database_url=url, database_schema=schema, data_dir=tmp_path)
    settings = settings.model_copy(update={"db_pool_size": 2, "db_pool_timeout_seconds": 0.2})
    container = build_container(settings)
    try:
        key = admin_api_key(container)
        app = create_app(container, background_sweep=False)
        with TestClient(app, raise_server_exceptions=False, headers={"X-API-Key": key}) as client:
            engines: list[Any] = [container.engine]
            if backend == "sqlite":  # reads have a pool of their own there
                engines.append(container.read_engine)
            held = [e.connect() for e in engines for _ in range(e.pool.size())]
            try:
                response = client.get("/api/v1/loyalty/programme")
            finally:
                for connection in held:
                    connection.close()
            assert response.status_code == 503
            assert response.headers["retry-after"]
            assert response.headers["content-type"] == "application/problem+json"
            assert client.get("/api/v1/loyalty/programme").status_code in (200, 404)
    finally:
        container.dispose()


def test_a_full_server_is_waited_for_within_the_pool_timeout(backend, request, monkeypatch):
    if backend != "postgres":
        pytest.skip("PostgreSQL only")
    url, schema = request.getfixturevalue("pg_schema")
    refusals = [2]
    real_connect = KeepsPreparedStatements.connect
    lock = threading.Lock()

    def connect(*args: Any, **kwargs: Any) -> Any:
        with lock:
            if refusals[0] > 0:
                refusals[0] -= 1
                raise psycopg.OperationalError(
                    "connection failed: FATAL:  sorry, too many clients already"
                )
        return real_connect(*args, **kwargs)

    monkeypatch.setattr(KeepsPreparedStatements, "connect", connect)
    engine = make_engine(url, schema=schema, pool_size=1, pool_timeout=5)
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("SELECT 1").scalar() == 1
    finally:
        engine.dispose()
    assert refusals == [0]
    assert server_is_full(psycopg.OperationalError("FATAL: sorry, too many clients already"))
    assert not server_is_full(psycopg.OperationalError("password authentication failed"))
