"""With ``claims`` (taking due deliveries), the only place that builds queries on the relay's
tables (deliveries, and outbox reads).

Planning locks with ``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL, so concurrent relays
take disjoint rows; on SQLite the clause is not rendered and ``BEGIN IMMEDIATE`` serialises
writers.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    SmallInteger,
    String,
    Text,
    bindparam,
    case,
    exists,
    func,
    literal,
    literal_column,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from omniretail.db.base import UTCDateTime
from omniretail.db.outbox import OutboxMessage
from omniretail.db.sql import is_postgres, matches, rowcount, statement
from omniretail.messaging.models import (
    BACKGROUND_LANE,
    DONE_STATUSES,
    DUE_STATUSES,
    FOREGROUND_LANE,
    Delivery,
    DeliveryStatus,
)

# --- plans ---------------------------------------------------------------------------------


def plan_for_tables_as_they_are(session: Session) -> None:
    """PostgreSQL: this transaction's statements are planned on each run (no cached generic
    plan). The relay's statements are prepared on the server; a generic plan made while
    ``deliveries`` or ``outbox`` was nearly empty (a fresh database, a relay started after a
    prune) scans the whole table in every pass until ANALYZE invalidates it, which a growing
    table can outrun. Each of them costs well under a millisecond to plan."""
    if is_postgres(session):
        session.execute(_CUSTOM_PLANS)


_CUSTOM_PLANS = text("SET LOCAL plan_cache_mode = force_custom_plan")


# --- planning: outbox message -> one delivery per handler ----------------------------------


def lock_unplanned_messages(session: Session, limit: int, now: datetime) -> list[Any]:
    """Messages not planned yet (``planned_at`` and ``published_at`` null), oldest first,
    locked (PostgreSQL): rows of ``id``, ``position``, ``type`` and ``guest`` (true when the
    event's ``customer_id`` is null; null when it has none). ``ix_outbox_unplanned``
    holds only these rows. No cursor: a late commit's older position is still found here.

    A concurrent relay's committed ``planned_at`` is seen by the lock (READ COMMITTED checks
    the condition again on the newer version); one still being planned is skipped. A relay of
    the release before ``planned_at`` (a rolling upgrade) may have left deliveries on a row
    without it: planning it again could deadlock with relays finishing them, so the locked
    messages are checked for deliveries in a fresh statement, and those are marked planned
    and left out."""
    messages = list(
        session.execute(
            statement(session, "outbox.lock_unplanned", _lock_unplanned), {"limit": limit}
        )
    )
    if not messages or not is_postgres(session):
        return messages  # SQLite: one writer at a time, the snapshot is current
    done = set(
        session.scalars(
            statement(session, "deliveries.planned_of", _planned_of),
            {"ids": [m.id for m in messages]},
        )
    )
    if not done:
        return messages
    mark_messages_planned(
        session,
        [m.position for m in messages if m.id in done],
        published=[],
        now=now,
    )
    return [m for m in messages if m.id not in done]


def _planned_of(_postgres: bool) -> Any:
    """Which ``ids`` have deliveries, an index probe each (``IN`` scanned every delivery)."""
    wanted = func.unnest(bindparam("ids", type_=ARRAY(String()))).table_valued("id")
    wanted = wanted.render_derived(name="m")
    return select(wanted.c.id).where(exists().where(Delivery.message_id == wanted.c.id))


def _lock_unplanned(postgres: bool) -> Any:
    if postgres:
        kind = func.jsonb_typeof(OutboxMessage.data.op("->")(literal_column("'customer_id'")))
    else:
        kind = func.json_type(OutboxMessage.data, literal_column("'$.customer_id'"))
    return (
        select(
            OutboxMessage.id,
            OutboxMessage.position,
            OutboxMessage.type,
            (kind == literal_column("'null'")).label("guest"),
        )
        .where(OutboxMessage.planned_at.is_(None), OutboxMessage.published_at.is_(None))
        .order_by(OutboxMessage.position)
        .limit(bindparam("limit"))
        .with_for_update(skip_locked=True)
    )


def mark_messages_planned(
    session: Session, positions: Sequence[int], *, published: Sequence[int], now: datetime
) -> None:
    """``planned_at`` for these (locked) messages; ``published`` (wanted by none) published."""
    if not positions:
        return
    session.execute(
        statement(session, "outbox.mark_planned", _mark_planned),
        {"positions": list(positions), "published": list(published), "now": now},
    )


def _mark_planned(postgres: bool) -> Any:
    now = bindparam("now", type_=UTCDateTime())
    return (
        update(OutboxMessage)
        .where(matches(OutboxMessage.position, "positions", postgres))
        .values(
            planned_at=now,
            published_at=case(
                (matches(OutboxMessage.position, "published", postgres), now),
                else_=OutboxMessage.published_at,
            ),
        )
        .execution_options(synchronize_session=False)
    )


def planned_deliveries(
    plans: Sequence[tuple[Any, Sequence[str]]], background: Collection[str]
) -> tuple[list[tuple[Any, str]], list[int]]:
    """A pass's plans as (message, handler) pairs in event order, and each pair's lane."""
    pairs = [(message, name) for message, handlers in plans for name in handlers]
    lanes = [BACKGROUND_LANE if name in background else FOREGROUND_LANE for _, name in pairs]
    return pairs, lanes


def delivery_arrays(pairs: Sequence[tuple[Any, str]], lanes: list[int]) -> dict[str, list[Any]]:
    """The pairs as the arrays a PostgreSQL INSERT of deliveries unnests."""
    return {
        "message_ids": [m.id for m, _ in pairs],
        "positions": [m.position for m, _ in pairs],
        "handlers": [name for _, name in pairs],
        "lanes": lanes,
    }


def add_deliveries_of(
    session: Session,
    plans: Sequence[tuple[Any, Sequence[str]]],
    now: datetime,
    background: Collection[str] = (),
) -> None:
    """The deliveries of many messages (message, handler names) in one statement built once:
    on PostgreSQL an INSERT from four arrays (its text never changes, so the server keeps it
    prepared), on SQLite one executemany; ``background`` handlers' in the background lane."""
    pairs, lanes = planned_deliveries(plans, background)
    if not pairs:
        return
    connection = session.connection()
    if is_postgres(session):
        connection.execute(_PG_ADD_DELIVERIES, {**delivery_arrays(pairs, lanes), "now": now})
        return
    connection.execute(
        statement(session, "deliveries.add", _add_deliveries),
        [
            {
                "message_id": message.id,
                "position": message.position,
                "handler": name,
                "lane": lane,
                "status": DeliveryStatus.PENDING.value,
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
                "updated_at": now,
            }
            for (message, name), lane in zip(pairs, lanes, strict=True)
        ],
    )


def _add_deliveries(_postgres: bool) -> Any:
    return sqlite_insert(Delivery).on_conflict_do_nothing(index_elements=["message_id", "handler"])


_PG_ADD_DELIVERIES = text(
    "INSERT INTO deliveries (message_id, position, handler, lane, status, attempts,"
    " next_attempt_at, created_at, updated_at) "
    "SELECT u.message_id, u.position, u.handler, u.lane, 'pending', 0, :now, :now, :now "
    "FROM unnest(CAST(:message_ids AS text[]), CAST(:positions AS bigint[]),"
    " CAST(:handlers AS text[]), CAST(:lanes AS smallint[]))"
    " WITH ORDINALITY AS u(message_id, position, handler, lane, n) "
    "ORDER BY u.n ON CONFLICT (message_id, handler) DO NOTHING"
).bindparams(
    bindparam("message_ids", type_=ARRAY(Text())),
    bindparam("positions", type_=ARRAY(BigInteger())),
    bindparam("handlers", type_=ARRAY(Text())),
    bindparam("lanes", type_=ARRAY(SmallInteger())),
    bindparam("now", type_=UTCDateTime()),
)


def publish_complete(session: Session, message_ids: Sequence[str], now: datetime) -> int:
    """Publish those of the messages whose every delivery is done, in two statements: their
    outbox rows are locked in position order (two relays finishing batches never wait on each
    other in a cycle), then those without an unfinished delivery are published; returns how
    many.

    The second statement takes its snapshot after the locks are held, so of two relays
    finishing a message's last two deliveries at once, the one that waited for the lock sees
    the other's outcome committed."""
    if not message_ids:
        return 0
    ids = list(set(message_ids))
    locked = session.scalars(
        statement(session, "outbox.lock_unpublished", _lock_unpublished), {"ids": ids}
    ).all()
    if not locked:
        return 0
    published = session.scalars(
        statement(session, "outbox.publish_complete", _publish_complete),
        {"ids": list(locked), "now": now},
    ).all()
    return len(published)


def _lock_unpublished(postgres: bool) -> Any:
    return (
        select(OutboxMessage.id)
        .where(
            matches(OutboxMessage.id, "ids", postgres, String()),
            OutboxMessage.published_at.is_(None),
        )
        .order_by(OutboxMessage.position)
        .with_for_update()
    )


def _publish_complete(postgres: bool) -> Any:
    unfinished = (
        select(Delivery.id)
        .where(
            Delivery.message_id == OutboxMessage.id,
            # one parameter a status: a list would be an expanding IN, rendered on every call
            Delivery.status.not_in([literal(s.value) for s in DONE_STATUSES]),
        )
        .exists()
    )
    return (
        update(OutboxMessage)
        .where(
            matches(OutboxMessage.id, "ids", postgres, String()),
            OutboxMessage.published_at.is_(None),
            ~unfinished,
        )
        .values(published_at=bindparam("now"))
        .returning(OutboxMessage.position)
        .execution_options(synchronize_session=False)
    )


def work_waiting(session: Session, now: datetime) -> bool:
    """A message not planned yet, or a delivery due by ``now``: the relay's idle probe,
    one statement on the indexes a pass uses."""
    return bool(
        session.scalar(statement(session, "relay.work_waiting", _work_waiting), {"now": now})
    )


def _work_waiting(_postgres: bool) -> Any:
    unplanned = select(OutboxMessage.position).where(
        OutboxMessage.planned_at.is_(None), OutboxMessage.published_at.is_(None)
    )
    due = select(Delivery.id).where(
        Delivery.status.in_(DUE_STATUSES),
        Delivery.next_attempt_at <= bindparam("now", type_=UTCDateTime()),
    )
    return select(or_(unplanned.exists(), due.exists()))


# --- outcomes ----------------------------------------------------------------------------


def finish_claim(
    session: Session,
    delivery_id: int,
    *,
    token: str,
    status: DeliveryStatus,
    now: datetime,
    error: str | None = None,
    next_attempt_at: datetime | None = None,
) -> bool:
    """Record the outcome of a claim; False if the claim was lost (its lease ran out and
    another relay took the delivery), in which case nothing is written."""
    values: dict[str, Any] = {
        "status": status.value,
        "claim_token": None,
        "last_error": error,
        "updated_at": now,
    }
    if next_attempt_at is not None:
        values["next_attempt_at"] = next_attempt_at
    if status is DeliveryStatus.DELIVERED:
        values["delivered_at"] = now
    updated = session.scalar(
        update(Delivery)
        .where(Delivery.id == delivery_id, Delivery.claim_token == token)
        .values(**values)
        .returning(Delivery.id)
        .execution_options(synchronize_session=False)
    )
    return updated is not None


def finish_claims(
    session: Session,
    ids: Sequence[int],
    *,
    token: str,
    status: DeliveryStatus,
    now: datetime,
    error: str | None = None,
) -> list[int]:
    """``finish_claim`` with one outcome (delivered, or skipped for one reason) for many
    claims of one token, in one statement built once; returns the ids recorded (a claim
    missing from it was lost: its lease ran out and another relay took it)."""
    if not ids:
        return []
    rows = session.scalars(
        statement(session, "deliveries.finish_claims", _finish_claims),
        {
            "ids": list(ids),
            "token": token,
            "outcome": status.value,
            "reason": error,
            "now": now,
            "delivered_time": now if status is DeliveryStatus.DELIVERED else None,
        },
    )
    return list(rows)


def _finish_claims(postgres: bool) -> Any:
    return (
        update(Delivery)
        .where(matches(Delivery.id, "ids", postgres), Delivery.claim_token == bindparam("token"))
        .values(
            status=bindparam("outcome"),
            claim_token=None,
            last_error=bindparam("reason"),
            updated_at=bindparam("now"),
            delivered_at=bindparam("delivered_time"),
        )
        .returning(Delivery.id)
        .execution_options(synchronize_session=False)
    )


def record_outcomes(
    session: Session,
    outcomes: Sequence[tuple[int, str, DeliveryStatus, str | None]],
    *,
    token: str,
    now: datetime,
) -> tuple[list[int], int]:
    """Delivered or skipped (delivery id, message id, status, reason) for claims of ``token``,
    and their messages published once complete; returns the ids recorded (a claim missing was
    lost) and how many messages were published. On PostgreSQL two statements: the outcomes
    written and the messages' outbox rows locked in position order (as ``publish_complete``),
    then the complete ones published."""
    if not outcomes:
        return [], 0
    if not is_postgres(session):
        groups: dict[tuple[DeliveryStatus, str | None], list[int]] = {}
        for delivery_id, _, status, reason in outcomes:
            groups.setdefault((status, reason), []).append(delivery_id)
        recorded = [
            delivery_id
            for (status, reason), ids in groups.items()
            for delivery_id in finish_claims(
                session, ids, token=token, status=status, now=now, error=reason
            )
        ]
        done = set(recorded)
        return recorded, publish_complete(session, [o[1] for o in outcomes if o[0] in done], now)
    rows = session.connection().execute(
        _PG_RECORD_OUTCOMES,
        {
            "ids": [o[0] for o in outcomes],
            "statuses": [o[2].value for o in outcomes],
            "reasons": [o[3] for o in outcomes],
            "token": token,
            "now": now,
            "delivered": DeliveryStatus.DELIVERED.value,
        },
    )
    recorded, locked = [], []
    for delivery_id, message_id in rows:
        if delivery_id is not None:
            recorded.append(delivery_id)
        else:
            locked.append(message_id)
    if not locked:
        return recorded, 0
    published = session.scalars(
        statement(session, "outbox.publish_complete", _publish_complete),
        {"ids": locked, "now": now},
    ).all()
    return recorded, len(published)


# The outcomes (``finish_claims``'s columns, one row each from the arrays), then the outbox rows
# of the messages recorded locked in position order: rows (delivery id, null) and (null,
# message id). ``publish_complete``'s next statement sees the deliveries finished here.
_PG_RECORD_OUTCOMES = text(
    "WITH finished AS ("
    "UPDATE deliveries AS d SET status = u.status, claim_token = NULL, last_error = u.reason,"
    " updated_at = :now,"
    " delivered_at = CASE WHEN u.status = :delivered THEN CAST(:now AS timestamptz) END "
    "FROM unnest(CAST(:ids AS bigint[]), CAST(:statuses AS text[]), CAST(:reasons AS text[]))"
    " AS u(id, status, reason) "
    "WHERE d.id = u.id AND d.claim_token = :token RETURNING d.id, d.message_id), "
    "locked AS (SELECT o.id FROM outbox AS o WHERE o.id IN (SELECT message_id FROM finished)"
    " AND o.published_at IS NULL ORDER BY o.position FOR UPDATE OF o) "
    "SELECT finished.id, CAST(NULL AS text) FROM finished "
    "UNION ALL SELECT CAST(NULL AS bigint), locked.id FROM locked"
).bindparams(
    bindparam("ids", type_=ARRAY(BigInteger())),
    bindparam("statuses", type_=ARRAY(Text())),
    bindparam("reasons", type_=ARRAY(Text())),
    bindparam("now", type_=UTCDateTime()),
)


def release_claims(session: Session, ids: Sequence[int], *, token: str, now: datetime) -> None:
    """Hand back claims that were never attempted: due now, the attempt not counted."""
    if not ids:
        return
    session.execute(
        update(Delivery)
        .where(Delivery.id.in_(ids), Delivery.claim_token == token)
        .values(
            status=DeliveryStatus.PENDING.value,
            attempts=Delivery.attempts - 1,
            next_attempt_at=now,
            claim_token=None,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )


def revive_dead_deliveries(session: Session, ids: Sequence[int], now: datetime) -> list[int]:
    """Dead -> pending with a fresh set of attempts; returns the ids that were dead."""
    if not ids:
        return []
    rows = session.scalars(
        update(Delivery)
        .where(Delivery.id.in_(ids), Delivery.status == DeliveryStatus.DEAD.value)
        .values(
            status=DeliveryStatus.PENDING.value,
            attempts=0,
            next_attempt_at=now,
            claim_token=None,
            updated_at=now,
        )
        .returning(Delivery.id)
        .execution_options(synchronize_session=False)
    )
    return list(rows)


# --- reading deliveries --------------------------------------------------------------------


def get_delivery(session: Session, delivery_id: int) -> tuple[Delivery, str] | None:
    row = session.execute(
        select(Delivery, OutboxMessage.type)
        .join(OutboxMessage, OutboxMessage.id == Delivery.message_id)
        .where(Delivery.id == delivery_id)
    ).first()
    return None if row is None else (row[0], row[1])


def list_deliveries(
    session: Session,
    *,
    status: str | None = None,
    handler: str | None = None,
    handler_prefix: str | None = None,
    message_id: str | None = None,
    limit: int = 100,
) -> list[tuple[Delivery, str]]:
    """Deliveries with their event type, newest first."""
    query = select(Delivery, OutboxMessage.type).join(
        OutboxMessage, OutboxMessage.id == Delivery.message_id
    )
    if status is not None:
        query = query.where(Delivery.status == status)
    if handler is not None:
        query = query.where(Delivery.handler == handler)
    if handler_prefix is not None:
        query = query.where(Delivery.handler.startswith(handler_prefix, autoescape=True))
    if message_id is not None:
        query = query.where(Delivery.message_id == message_id)
    query = query.order_by(Delivery.id.desc()).limit(limit)
    return [(row[0], row[1]) for row in session.execute(query)]


def renew_claims(session: Session, *, token: str, lease_until: datetime, now: datetime) -> int:
    """Extend the lease of deliveries still sent under ``token`` (a finished or handed-back
    claim has no token any more, so it is left alone)."""
    result = session.execute(
        update(Delivery)
        .where(Delivery.claim_token == token, Delivery.status == DeliveryStatus.SENDING.value)
        .values(next_attempt_at=lease_until, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return rowcount(result)
