"""What the database itself enforces, and that the migrations build exactly the models."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError

from omniretail.bootstrap import Container
from omniretail.db.migrate import alembic_config
from omniretail.migrations.registry import Base
from tests.factories import make_network, receive
from tests.inventory.state import ledger


@pytest.fixture
def stocked(container: Container) -> Container:
    make_network(container)
    receive(container, "10001", "LON1", 5)
    return container


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE stock_movements SET on_hand_delta = 500",
        "DELETE FROM stock_movements",
    ],
)
def test_the_ledger_is_append_only(stocked, statement):
    with pytest.raises(DBAPIError, match="append-only"), stocked.engine.begin() as conn:
        conn.execute(text(statement))
    assert [r["on_hand"] for r in ledger(stocked)] == [5]


@pytest.mark.parametrize(
    "assignment",
    [
        "on_hand = -1",
        "reserved = -1",
        "allocated = 6",  # holds above on hand: the no-oversell rule
        "reserved = 3, allocated = 3",
        "in_transit = -2",
    ],
)
def test_the_database_refuses_impossible_counters(stocked, assignment):
    with pytest.raises(IntegrityError), stocked.engine.begin() as conn:
        conn.execute(text(f"UPDATE stock_levels SET {assignment}"))


def test_migrations_build_exactly_the_models(container):
    """Autogenerate finds nothing to do on a database migrated to every head."""
    with container.engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "target_metadata": Base.metadata}
        )
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def test_the_migration_history_is_one_line_from_one_base(container):
    script = ScriptDirectory.from_config(alembic_config(container.engine))
    assert len(script.get_bases()) == 1
    assert len(script.get_heads()) == 1, f"merge the branches: {script.get_heads()}"
