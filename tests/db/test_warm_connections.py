"""Pooled connections stay warm (``db.engine``): the pool hands out the connection given back
last, so under a steady load the same few serve and the rest stay idle; and on PostgreSQL a
statement is prepared from its second call on a connection (psycopg's default: five calls
unprepared, each parsed and planned anew, then prepared)."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text

from omniretail.bootstrap import Container
from omniretail.db.engine import PREPARED_MAX, make_engine


def test_the_connection_given_back_last_is_handed_out_next(container: Container):
    engine = make_engine(container.settings.database_url, schema=container.settings.database_schema)
    try:
        first, second = engine.connect(), engine.connect()
        first_driver = first.connection.driver_connection
        second_driver = second.connection.driver_connection
        assert first_driver is not second_driver
        first.close()
        second.close()  # given back last
        with engine.connect() as again:
            assert again.connection.driver_connection is second_driver
    finally:
        engine.dispose()


def test_a_statement_is_prepared_from_its_second_call(container: Container):
    if container.engine.dialect.name != "postgresql":
        pytest.skip("prepared statements are PostgreSQL's")
    marker = f"warm_{uuid.uuid4().hex[:8]}"
    statement = text(f"SELECT CAST(:n AS integer) AS {marker}")
    prepared = text("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE :pattern")
    pattern = {"pattern": f"%{marker}%"}
    with container.engine.connect() as connection:
        assert connection.connection.driver_connection.prepared_max == PREPARED_MAX
        assert connection.execute(statement, {"n": 1}).scalar_one() == 1
        assert connection.execute(prepared, pattern).scalar_one() == 0  # a one-off: unprepared
        assert connection.execute(statement, {"n": 2}).scalar_one() == 2
        assert connection.execute(prepared, pattern).scalar_one() == 1
