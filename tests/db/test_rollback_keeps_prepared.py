"""The PostgreSQL connection (``db.pg_connection``). A rolled-back transaction keeps its
connection's prepared statements: psycopg's own ``rollback()`` deallocates them all, so every
error answer after a statement sent the connection's warm statements back to being parsed and
planned on each call. The rollback still undoes the transaction's writes, from a healthy or a
failed transaction. A result's description is psycopg's, built when read."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DataError

from omniretail.bootstrap import Container
from omniretail.db.pg_connection import DescribesLazily, Description, KeepsPreparedStatements

# (this count is prepared too once run twice: it counts the others)
PREPARED = text(
    "SELECT count(*) FROM pg_prepared_statements"
    " WHERE statement NOT LIKE '%pg_prepared_statements%'"
)
WARM = text("SELECT CAST(:n AS integer) + 1")


def _postgres(container: Container) -> None:
    if container.engine.dialect.name != "postgresql":
        pytest.skip("prepared statements are PostgreSQL's")


def _warm(connection: Any) -> int:
    """Runs one statement past psycopg's prepare threshold; the server's prepared count."""
    for n in range(8):
        assert connection.execute(WARM, {"n": n}).scalar_one() == n + 1
    return connection.execute(PREPARED).scalar_one()


def test_a_rollback_keeps_the_prepared_statements_and_undoes_the_writes(container: Container):
    _postgres(container)
    with container.engine.connect() as connection:
        assert isinstance(connection.connection.driver_connection, KeepsPreparedStatements)
        connection.execute(text("CREATE TEMP TABLE scratch (n integer)"))
        connection.commit()
        prepared = _warm(connection)
        assert prepared >= 1
        connection.commit()

        connection.execute(text("INSERT INTO scratch VALUES (1)"))
        connection.rollback()

        assert connection.execute(text("SELECT count(*) FROM scratch")).scalar_one() == 0
        assert connection.execute(PREPARED).scalar_one() == prepared
        # the statement runs prepared as before: nothing new is prepared for it
        assert _warm(connection) == prepared
        connection.rollback()
        connection.invalidate()  # the temporary table goes with the connection


def test_a_failed_transaction_rolls_back_and_keeps_them_too(container: Container):
    _postgres(container)
    with container.engine.connect() as connection:
        prepared = _warm(connection)
        with pytest.raises(DataError):
            connection.execute(text("SELECT 1 / 0"))
        connection.rollback()

        assert connection.execute(PREPARED).scalar_one() == prepared
        assert connection.execute(WARM, {"n": 41}).scalar_one() == 42
        connection.rollback()


def test_a_session_rolled_back_by_an_error_answer_keeps_them(container: Container):
    _postgres(container)
    with container.engine.connect() as probe:
        before = probe.connection.driver_connection
    with pytest.raises(RuntimeError), container.uow() as uow:
        driver = uow.session.connection().connection.driver_connection
        assert driver is before  # the pool's one connection, warmed below
        for n in range(8):
            uow.session.execute(WARM, {"n": n})
        raise RuntimeError("sold out")
    with container.engine.connect() as connection:
        assert connection.connection.driver_connection is driver
        assert connection.execute(PREPARED).scalar_one() >= 1


def test_a_result_is_described_as_psycopg_describes_it_when_read(container: Container):
    """The lazy description: psycopg's columns (name, type, sizes), the result's own even when
    read after the cursor ran another statement, and None where there is no result set."""
    _postgres(container)
    query = "SELECT 1 AS n, CAST('x' AS varchar(7)) AS code, now() AS at"
    with container.engine.connect() as connection:
        driver = connection.connection.driver_connection
        cursor = driver.cursor()
        assert isinstance(cursor, DescribesLazily)
        cursor.execute(query)
        described = cursor.description
        cursor.execute("SELECT 2 AS other")
        with psycopg.connect(driver.info.dsn, password=driver.info.password) as plain:
            expected = plain.execute(query).description

        assert isinstance(described, Description)
        assert len(described) == 3
        assert [tuple(c) for c in described] == [tuple(c) for c in expected]
        assert [c.type_display for c in described] == [c.type_display for c in expected]
        assert described[-1].name == "at"
        assert [c.name for c in described[:2]] == ["n", "code"]
        cursor.execute("SET LOCAL statement_timeout = 0")
        assert cursor.description is None
        connection.rollback()


def test_psycopgs_own_transaction_block_keeps_its_rules(container: Container):
    """Inside ``connection.transaction()`` psycopg forbids an explicit rollback: still so."""
    _postgres(container)
    with container.engine.connect() as connection:
        driver = connection.connection.driver_connection
        connection.rollback()
        driver.autocommit = True
        try:
            with driver.transaction(), pytest.raises(psycopg.ProgrammingError):
                driver.rollback()
        finally:
            driver.autocommit = False
        connection.invalidate()
