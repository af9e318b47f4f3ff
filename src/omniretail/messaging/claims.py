"""Claiming due deliveries (``claim_due``): the statements that lock and lease a batch, and
bury deliveries whose relay died on their last attempt. On PostgreSQL ``SELECT ... FOR UPDATE
SKIP LOCKED``, so concurrent relays take disjoint rows; on SQLite ``BEGIN IMMEDIATE``
serialises writers. ``add_claimed``: on PostgreSQL, when nothing is due, a pass's planned
deliveries inserted already claimed. Outcomes are ``repository``'s."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    Integer,
    SmallInteger,
    String,
    Text,
    bindparam,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session

from omniretail.db.base import JSONType, UTCDateTime
from omniretail.db.outbox import OutboxMessage
from omniretail.db.sql import is_postgres, matches, statement
from omniretail.messaging.models import (
    BACKGROUND_LANE,
    DUE,
    DUE_STATUSES,
    FOREGROUND_LANE,
    Delivery,
    DeliveryStatus,
)
from omniretail.messaging.repository import delivery_arrays, planned_deliveries


def claim_due(
    session: Session,
    *,
    now: datetime,
    limit: int,
    token: str,
    lease_until: datetime,
    max_attempts: int,
    lost_lease: str,
) -> tuple[list[Any], int]:
    """Claim up to ``limit`` due deliveries under ``token`` (``lock_due_deliveries``'s order
    and lanes, then ``claim_deliveries``); those whose lease ran out on their last attempt
    are dead-lettered with the error ``lost_lease`` instead (``bury_deliveries``). Returns
    the claims, ``lock_due_deliveries``'s columns with ``attempts`` the attempt this claim
    makes, and how many were buried. On PostgreSQL one statement built once."""
    if is_postgres(session):
        rows = list(
            session.connection().execute(
                _PG_CLAIM_DUE,
                {
                    "now": now,
                    "limit": limit,
                    "foreground_limit": limit - limit // 10,
                    "token": token,
                    "lease_until": lease_until,
                    "max_attempts": max_attempts,
                    "lost_lease": lost_lease,
                },
            )
        )
        claimed = [row for row in rows if row.status == DeliveryStatus.SENDING]
        return claimed, len(rows) - len(claimed)
    due = lock_due_deliveries(session, now, limit)
    spent = {d.id for d in due if d.status == DeliveryStatus.SENDING and d.attempts >= max_attempts}
    bury_deliveries(session, list(spent), error=lost_lease, now=now)
    take = [d for d in due if d.id not in spent]
    attempts = claim_deliveries(
        session, [d.id for d in take], token=token, lease_until=lease_until, now=now
    )
    return [
        _Claimed(d.id, d.message_id, d.handler, d.status, attempts[d.id], *d[5:10]) for d in take
    ], len(spent)


def add_claimed(
    session: Session,
    plans: Sequence[tuple[Any, Sequence[str]]],
    *,
    now: datetime,
    background: Collection[str],
    limit: int,
    token: str,
    lease_until: datetime,
) -> list[Any]:
    """PostgreSQL: ``repository.add_deliveries_of`` for a pass that claims next. When no
    delivery is due (none waits from before, no lease ran out), the deliveries ``claim_due``
    would take (its lanes and limits, in event order) are inserted claimed under ``token``, so
    each is written once before its outcome instead of inserted and then updated (a row
    version, its index entries and a foreign-key check each). Returns them as ``claim_due``'s
    rows; none when something was due (the rest is pending: ``claim_due`` takes it, in order)."""
    pairs, lanes = planned_deliveries(plans, background)
    if not pairs:
        return []
    takes, room = [], limit - limit // 10
    for lane in lanes:
        takes.append(lane == FOREGROUND_LANE and room > 0)
        room -= takes[-1]
    room = limit - sum(takes)
    for at, lane in enumerate(lanes):
        if lane == BACKGROUND_LANE and room > 0:
            takes[at], room = True, room - 1
    return list(
        session.connection().execute(
            _PG_ADD_CLAIMED,
            {
                **delivery_arrays(pairs, lanes),
                "takes": takes,
                "now": now,
                "token": token,
                "lease_until": lease_until,
            },
        )
    )


_TAKEN = "u.take AND idle.yes"
_PG_ADD_CLAIMED = (
    text(
        "WITH idle AS MATERIALIZED (SELECT NOT EXISTS (SELECT 1 FROM deliveries"
        f" WHERE {DUE} AND next_attempt_at <= :now) AS yes), "
        "added AS (INSERT INTO deliveries (message_id, position, handler, lane, status, attempts,"
        " next_attempt_at, claim_token, created_at, updated_at) "
        "SELECT u.message_id, u.position, u.handler, u.lane,"
        f" CASE WHEN {_TAKEN} THEN 'sending' ELSE 'pending' END,"
        f" CASE WHEN {_TAKEN} THEN 1 ELSE 0 END,"
        f" CASE WHEN {_TAKEN} THEN :lease_until ELSE :now END,"
        f" CASE WHEN {_TAKEN} THEN :token END, :now, :now "
        "FROM unnest(CAST(:message_ids AS text[]), CAST(:positions AS bigint[]),"
        " CAST(:handlers AS text[]), CAST(:lanes AS smallint[]), CAST(:takes AS boolean[]))"
        " WITH ORDINALITY AS u(message_id, position, handler, lane, take, n) CROSS JOIN idle "
        "ORDER BY u.n ON CONFLICT (message_id, handler) DO NOTHING"
        " RETURNING id, message_id, handler, status, attempts, lane, position) "
        "SELECT a.id, a.message_id, a.handler, a.status, a.attempts,"
        " o.type, o.source, o.subject, o.time, o.data "
        "FROM added AS a JOIN outbox AS o ON o.id = a.message_id WHERE a.status = 'sending'"
        " ORDER BY a.lane, a.position, a.id"
    )
    .bindparams(
        bindparam("message_ids", type_=ARRAY(Text())),
        bindparam("positions", type_=ARRAY(BigInteger())),
        bindparam("handlers", type_=ARRAY(Text())),
        bindparam("lanes", type_=ARRAY(SmallInteger())),
        bindparam("takes", type_=ARRAY(Boolean())),
        bindparam("now", type_=UTCDateTime()),
        bindparam("lease_until", type_=UTCDateTime()),
        bindparam("token", type_=String()),
    )
    .columns(time=UTCDateTime(), data=JSONType)
)


class _Claimed(NamedTuple):
    id: int
    message_id: str
    handler: str
    status: str
    attempts: int
    type: str
    source: str
    subject: str
    time: datetime
    data: Any


# ``lock_due_deliveries`` (each lane from ``ix_deliveries_lane_due``, the background's the
# rest of the batch), the spent ones buried and the others claimed, in event order.
_PG_CLAIM_DUE = (
    text(
        "WITH foreground AS (SELECT id, status = 'sending' AND attempts >= :max_attempts AS spent"
        f" FROM deliveries WHERE lane = {FOREGROUND_LANE} AND {DUE} AND next_attempt_at <= :now"
        " ORDER BY position, id LIMIT :foreground_limit FOR UPDATE SKIP LOCKED), "
        "background AS (SELECT id, status = 'sending' AND attempts >= :max_attempts AS spent"
        f" FROM deliveries WHERE lane = {BACKGROUND_LANE} AND {DUE} AND next_attempt_at <= :now"
        " ORDER BY position, id LIMIT :limit - (SELECT count(*) FROM foreground)"
        " FOR UPDATE SKIP LOCKED), "
        "due AS (SELECT * FROM foreground UNION ALL SELECT * FROM background), "
        "taken AS (UPDATE deliveries AS d SET"
        " status = CASE WHEN due.spent THEN 'dead' ELSE 'sending' END,"
        " attempts = CASE WHEN due.spent THEN d.attempts ELSE d.attempts + 1 END,"
        " next_attempt_at = CASE WHEN due.spent THEN d.next_attempt_at ELSE :lease_until END,"
        " claim_token = CASE WHEN due.spent THEN NULL ELSE :token END,"
        " last_error = CASE WHEN due.spent THEN :lost_lease ELSE d.last_error END,"
        " updated_at = :now FROM due WHERE d.id = due.id"
        " RETURNING d.id, d.message_id, d.handler, d.status, d.attempts, d.lane, d.position) "
        "SELECT t.id, t.message_id, t.handler, t.status, t.attempts,"
        " o.type, o.source, o.subject, o.time, o.data "
        "FROM taken AS t JOIN outbox AS o ON o.id = t.message_id ORDER BY t.lane, t.position, t.id"
    )
    .bindparams(
        bindparam("now", type_=UTCDateTime()),
        bindparam("lease_until", type_=UTCDateTime()),
        bindparam("limit", type_=BigInteger()),
        bindparam("foreground_limit", type_=BigInteger()),
        bindparam("max_attempts", type_=Integer()),
        bindparam("token", type_=String()),
        bindparam("lost_lease", type_=Text()),
    )
    .columns(time=UTCDateTime(), data=JSONType)
)


def lock_due_deliveries(session: Session, now: datetime, limit: int) -> list[Any]:
    """Due deliveries (pending, or a lease ran out) in event order, the foreground lane's
    first, locked so that a concurrent relay skips them: rows of ``id``, ``message_id``,
    ``handler``, ``status``, ``attempts`` and the event's ``type``, ``source``, ``subject``,
    ``time``, ``data``; each lane read in order from ``ix_deliveries_lane_due``. The
    background lane keeps a tenth of a batch: delayed by a foreground backlog, never starved."""
    claim = statement(session, "deliveries.lock_due", _lock_due)
    lane = {"now": now, "limit": limit - limit // 10, "lane": FOREGROUND_LANE}
    rows = list(session.execute(claim, lane))
    if rest := limit - len(rows):
        rows += session.execute(claim, {**lane, "limit": rest, "lane": BACKGROUND_LANE})
    return rows


def _lock_due(_postgres: bool) -> Any:
    return (
        select(
            Delivery.id,
            Delivery.message_id,
            Delivery.handler,
            Delivery.status,
            Delivery.attempts,
            OutboxMessage.type,
            OutboxMessage.source,
            OutboxMessage.subject,
            OutboxMessage.time,
            OutboxMessage.data,
        )
        .join(OutboxMessage, OutboxMessage.id == Delivery.message_id)
        .where(
            Delivery.lane == bindparam("lane"),
            Delivery.status.in_(DUE_STATUSES),
            Delivery.next_attempt_at <= bindparam("now", type_=UTCDateTime()),
        )
        .order_by(Delivery.position, Delivery.id)
        .limit(bindparam("limit"))
        .with_for_update(skip_locked=True, of=Delivery.__table__)
    )


def claim_deliveries(
    session: Session, ids: Sequence[int], *, token: str, lease_until: datetime, now: datetime
) -> dict[int, int]:
    """Take a lease on the (locked) deliveries; returns id -> attempt number of this claim."""
    if not ids:
        return {}
    rows = session.execute(
        statement(session, "deliveries.claim", _claim),
        {"ids": list(ids), "token": token, "lease_until": lease_until, "now": now},
    )
    return {row[0]: row[1] for row in rows}


def _claim(postgres: bool) -> Any:
    return (
        update(Delivery)
        .where(matches(Delivery.id, "ids", postgres))
        .values(
            status=DeliveryStatus.SENDING.value,
            attempts=Delivery.attempts + 1,
            next_attempt_at=bindparam("lease_until"),
            claim_token=bindparam("token"),
            updated_at=bindparam("now"),
        )
        .returning(Delivery.id, Delivery.attempts)
        .execution_options(synchronize_session=False)
    )


def bury_deliveries(session: Session, ids: Sequence[int], *, error: str, now: datetime) -> None:
    """Dead-letter deliveries that used up their attempts without reporting back."""
    if not ids:
        return
    session.execute(
        update(Delivery)
        .where(Delivery.id.in_(ids))
        .values(
            status=DeliveryStatus.DEAD.value, claim_token=None, last_error=error, updated_at=now
        )
        .execution_options(synchronize_session=False)
    )
