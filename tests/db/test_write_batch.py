"""Writes a unit of work sends at commit (``db.batch``): on PostgreSQL one statement, on
SQLite one each; rows get their Python-side defaults; a failed check rolls everything back."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import bindparam, event, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from omniretail.auth.models import AuditEntry
from omniretail.db.batch import kept
from omniretail.kernel.events import DomainEvent

audit = AuditEntry.__table__


@contextmanager
def sent(engine) -> Iterator[list[str]]:
    seen: list[str] = []

    def capture(_conn, _cursor, statement, *_args) -> None:
        if not statement.startswith(("BEGIN", "COMMIT")):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", capture)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", capture)


def _row(uow, actor: str) -> dict:
    # no "detail": its Python-side default ({}) must be filled in
    return {
        "occurred_at": uow.now,
        "actor": actor,
        "role": "admin",
        "action": "POST /x",
        "area": "test",
        "subject": None,
    }


def test_writes_go_at_commit_in_one_statement_on_postgresql(container):
    with sent(container.engine) as statements, container.uow() as uow:
        uow.later_rows(audit, [_row(uow, "a")])
        uow.later_rows(audit, [_row(uow, "b"), _row(uow, "c")])  # joins the first rows
        uow.record(DomainEvent(type="test.batched", subject="s", data={"n": 1}))
        assert statements == []  # nothing sent before the commit
    expected = 1 if container.backend == "postgresql" else 2
    assert len(statements) == expected, statements
    with container.read_uow() as uow:
        rows = uow.session.execute(select(audit.c.actor, audit.c.detail)).all()
        assert sorted(rows) == [("a", {}), ("b", {}), ("c", {})]


def test_an_update_of_a_table_with_pending_writes_waits_for_them(container):
    with container.uow() as uow:
        uow.later_rows(audit, [_row(uow, "a")])
        # one statement cannot both insert a row and update it: the rows are sent first
        uow.later(update(audit).where(audit.c.actor == "a").values(actor="a2"))
    with container.read_uow() as uow:
        assert uow.session.scalars(select(audit.c.actor)).all() == ["a2"]


def test_a_failed_check_rolls_the_unit_of_work_back(container):
    def refuse(rows: int) -> None:
        assert rows == 1
        raise LookupError("refused")

    with pytest.raises(LookupError), container.uow() as uow:
        uow.later_rows(audit, [_row(uow, "a")])
        uow.later(
            update(audit).where(audit.c.actor == "nobody").values(actor="x").returning(audit.c.id),
            check=lambda rows: None if rows == 0 else pytest.fail("matched"),
        )
        uow.later_rows(audit, [_row(uow, "b")])
        uow.later(
            update(audit).where(audit.c.actor == "b").values(actor="b2").returning(audit.c.id),
            check=refuse,
        )
    with container.read_uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(audit)) == 0


def test_the_batch_and_commit_go_together_on_postgresql(container):
    """The commit's batch is sent in a pipeline with COMMIT (one round trip): a row locked
    earlier in the transaction is held for one round trip less."""
    if container.backend != "postgresql":
        pytest.skip("pipelines are PostgreSQL's")
    piped: list[bool] = []

    def capture(_conn, cursor, statement, *_args) -> None:
        if "audit" in statement:
            piped.append(cursor.connection.pgconn.pipeline_status != 0)

    event.listen(container.engine, "before_cursor_execute", capture)
    try:
        with container.uow() as uow:
            uow.later_rows(audit, [_row(uow, "a")])
            uow.record(DomainEvent(type="test.batched", subject="s", data={"n": 1}))
    finally:
        event.remove(container.engine, "before_cursor_execute", capture)
    assert piped == [True]
    with container.read_uow() as uow:
        assert uow.session.scalars(select(audit.c.actor)).all() == ["a"]


def test_a_batch_refused_at_commit_writes_nothing(container):
    """An error in the batch (sent with COMMIT on PostgreSQL) is SQLAlchemy's, and neither
    the batch nor the writes sent before it are committed; the connection serves on."""
    twice = DomainEvent(type="test.batched", subject="s", data={})
    with pytest.raises(IntegrityError), container.uow() as uow:
        uow.session.execute(insert(audit).values(**_row(uow, "sent-before")))
        uow.later_rows(audit, [_row(uow, "a")])
        uow.record(twice)
        uow.record(twice)  # the same event id twice: the outbox's key refuses it
    with container.uow() as uow:
        uow.later_rows(audit, [_row(uow, "after")])
    with container.read_uow() as uow:
        assert uow.session.scalars(select(audit.c.actor)).all() == ["after"]


def test_a_batch_alone_goes_on_the_driver_s_connection_on_postgresql(container):
    """A unit of work that only holds writes for commit (its session never began) sends them
    and COMMIT on a pooled connection of the driver's own: no SQLAlchemy transaction, the
    statement still counted (and seen by listeners); a refusal is SQLAlchemy's error, nothing
    is written and the connection serves on."""
    if container.backend != "postgresql":
        pytest.skip("the driver's pipeline is PostgreSQL's")
    began: list[object] = []

    def begin(connection: object) -> None:
        began.append(connection)

    event.listen(container.engine, "begin", begin)
    before = container.counter.value
    try:
        with sent(container.engine) as statements, container.uow() as uow:
            uow.later_rows(audit, [_row(uow, "a")])
            uow.record(DomainEvent(type="test.batched", subject="s", data={"n": 1}))
        twice = DomainEvent(type="test.batched", subject="t", data={})
        with pytest.raises(IntegrityError), container.uow() as uow:
            uow.later_rows(audit, [_row(uow, "refused")])
            uow.record(twice)
            uow.record(twice)
        with container.uow() as uow:
            uow.later_rows(audit, [_row(uow, "after")])
    finally:
        event.remove(container.engine, "begin", begin)
    assert began == []
    assert len(statements) == 1 and container.counter.value == before + 3
    with container.read_uow() as uow:
        assert sorted(uow.session.scalars(select(audit.c.actor))) == ["a", "after"]


@pytest.mark.parametrize("began", [False, True], ids=["alone", "in-a-transaction"])
def test_the_pipelined_commit_is_never_prepared(container, began):
    """The COMMIT sent in a batch's pipeline stays unprepared however often a connection sends
    it: psycopg records a statement as prepared when it queues the PREPARE, so a PREPARE
    queued behind a refused batch (skipped by the server) stayed recorded, and every later
    COMMIT on that connection failed ("prepared statement does not exist"). Refused batches
    then leave the connection committing."""
    if container.backend != "postgresql":
        pytest.skip("the driver's pipeline is PostgreSQL's")

    def batch(actor: str, *events: DomainEvent) -> None:
        with container.uow() as uow:
            if began:
                uow.session.execute(select(func.count()).select_from(audit))
            uow.later_rows(audit, [_row(uow, actor)])
            for event_ in events:
                uow.record(event_)

    twice = DomainEvent(type="test.batched", subject="t", data={})
    with container.engine.connect() as probe:
        driver = probe.connection.driver_connection
    for n in range(8):
        batch(f"sent {n}")
    for n in range(3):
        with pytest.raises(IntegrityError):
            batch(f"refused {n}", twice, twice)
    batch("after")
    with container.engine.connect() as connection:
        assert connection.connection.driver_connection is driver  # the one that sent them
        prepared = text("SELECT count(*) FROM pg_prepared_statements WHERE statement = 'COMMIT'")
        assert connection.execute(prepared).scalar_one() == 0
    with container.read_uow() as uow:
        actors = uow.session.scalars(select(audit.c.actor)).all()
    assert sorted(actors) == sorted(["after", *(f"sent {n}" for n in range(8))])


def test_array_parameters_go_as_they_are_unless_their_items_need_converting():
    """``rows_insert`` binds one array per column: on PostgreSQL only the columns whose items
    need a conversion (a ``TypeDecorator`` such as ``UTCDateTime``, JSON) are processed item
    by item; the others are handed to the driver as built."""
    from sqlalchemy.dialects.postgresql import psycopg

    from omniretail.db.batch import rows_insert

    row = {
        "occurred_at": None,
        "actor": "a",
        "role": "admin",
        "action": "POST /x",
        "area": "test",
        "subject": None,
        "detail": {},
    }
    statement, params = rows_insert(audit, [row])
    converted = statement.compile(dialect=psycopg.dialect())._bind_processors
    assert set(converted) == {"audit_log__occurred_at", "audit_log__detail"}
    assert set(params) - set(converted) >= {"audit_log__actor", "audit_log__action"}


def test_rows_of_every_column_kind_round_trip_through_the_batch(container):
    """Arrays without conversion and with it (times, JSON) store the values sent."""
    with container.uow() as uow:
        rows = [_row(uow, f"kind-{i}") | {"detail": {"n": i}} for i in range(3)]
        uow.later_rows(audit, rows)
        now = uow.now
    with container.uow() as uow:
        stored = uow.session.execute(
            select(audit.c.actor, audit.c.detail, audit.c.occurred_at)
            .where(audit.c.actor.like("kind-%"))
            .order_by(audit.c.actor)
        ).all()
    assert [(r.actor, r.detail, r.occurred_at) for r in stored] == [
        (f"kind-{i}", {"n": i}, now) for i in range(3)
    ]


def test_one_row_goes_as_values_and_several_as_arrays_on_postgresql(container):
    with sent(container.engine) as statements, container.uow() as uow:
        uow.later_rows(audit, [_row(uow, "a")])
    with sent(container.engine) as several, container.uow() as uow:
        uow.later_rows(audit, [_row(uow, "b"), _row(uow, "c")])
    if container.backend == "postgresql":
        assert "unnest" not in statements[0]
        assert "unnest" in several[0]
    with container.read_uow() as uow:
        rows = uow.session.execute(select(audit.c.actor, audit.c.detail)).all()
        assert sorted(rows) == [("a", {}), ("b", {}), ("c", {})]


# Kept (built once): a batch of kept statements goes on the transaction's driver connection.
_RENAME = kept(
    update(audit)
    .where(audit.c.actor == bindparam("rename_from", type_=audit.c.actor.type))
    .values(actor=bindparam("rename_to", type_=audit.c.actor.type))
    .returning(audit.c.id)
)


def test_a_batch_of_kept_statements_in_a_begun_transaction_skips_sqlalchemys_execution(
    container,
):
    """In a transaction that has begun, a commit batch made only of kept statements is sent
    compiled once on the driver's connection, not through SQLAlchemy's execution: counted
    and seen by listeners, its check gets its count, a refusal is SQLAlchemy's error and
    writes nothing, and the connection serves on."""
    if container.backend != "postgresql":
        pytest.skip("batches are one statement on PostgreSQL only")
    executed: list[str] = []

    def execute(_conn, clause, *_rest) -> None:
        executed.append(str(clause))

    with container.uow() as uow:
        uow.session.execute(insert(audit).values(**_row(uow, "a")))
    counts: list[int] = []
    event.listen(container.engine, "before_execute", execute)
    before = container.counter.value
    try:
        with sent(container.engine) as statements, container.uow() as uow:
            uow.session.execute(select(audit.c.id))  # the transaction begins
            uow.later(_RENAME, {"rename_from": "a", "rename_to": "a2"}, check=counts.append)
            uow.record(DomainEvent(type="test.batched", subject="s", data={"n": 1}))
        twice = DomainEvent(type="test.batched", subject="t", data={})
        with pytest.raises(IntegrityError), container.uow() as uow:
            uow.session.execute(select(audit.c.id))
            uow.later(_RENAME, {"rename_from": "a2", "rename_to": "refused"}, check=counts.append)
            uow.record(twice)
            uow.record(twice)
    finally:
        event.remove(container.engine, "before_execute", execute)
    assert counts == [1]  # the refused batch failed as a whole: no count to check
    batches = [s for s in statements if s.startswith("WITH")]
    assert len(batches) == 1 and "UPDATE audit_log" in batches[0]
    assert not [s for s in executed if "WITH" in s]
    assert container.counter.value == before + 4  # two reads, two batches
    with container.uow() as uow:
        uow.later_rows(audit, [_row(uow, "after")])
    with container.read_uow() as uow:
        assert sorted(uow.session.scalars(select(audit.c.actor))) == ["a2", "after"]


def test_defaults_are_filled_in_afresh_for_each_row():
    """Which columns lack a value is found once per (table, columns); their defaults are
    still taken for each row (a callable one called each time), and a value given wins."""
    from itertools import count

    from sqlalchemy import Column, Integer, MetaData, String, Table

    from omniretail.db.batch import with_defaults

    numbers = count(1)
    table = Table(
        "defaults_probe",
        MetaData(),
        Column("id", Integer, primary_key=True, default=99),
        Column("kind", String, default="plain"),
        Column("serial", Integer, default=lambda: next(numbers)),
        Column("note", String),
    )
    first = with_defaults(table, {"note": "a"})
    second = with_defaults(table, {"note": "b"})
    given = with_defaults(table, {"note": "c", "kind": "special", "serial": 0})
    assert first == {"note": "a", "kind": "plain", "serial": 1}
    assert second == {"note": "b", "kind": "plain", "serial": 2}
    assert given == {"note": "c", "kind": "special", "serial": 0}
