"""The only place that builds queries on webhook subscriptions and notifications."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Select, Table, bindparam, delete, select, update
from sqlalchemy.orm import Session

from omniretail.db.bulk import insert_rows
from omniretail.db.sql import insert_ignore, matches, rowcount, statement
from omniretail.kernel.clock import Clock
from omniretail.notifications.models import Notification, NotificationStatus, WebhookSubscription

# --- webhook subscriptions -----------------------------------------------------------------


def add_subscription(session: Session, subscription: WebhookSubscription) -> WebhookSubscription:
    session.add(subscription)
    session.flush()
    return subscription


def get_subscription(session: Session, subscription_id: int) -> WebhookSubscription | None:
    return session.get(WebhookSubscription, subscription_id)


def list_subscriptions(session: Session, *, active_only: bool = False) -> list[WebhookSubscription]:
    query = select(WebhookSubscription).order_by(WebhookSubscription.id)
    if active_only:
        query = query.where(WebhookSubscription.active.is_(True))
    return list(session.scalars(query))


def delete_subscription(session: Session, subscription_id: int) -> bool:
    deleted = session.scalar(
        delete(WebhookSubscription)
        .where(WebhookSubscription.id == subscription_id)
        .returning(WebhookSubscription.id)
    )
    return deleted is not None


# --- notifications -------------------------------------------------------------------------


def add_notification_if_new(session: Session, row: dict[str, Any]) -> int | None:
    """Insert unless (source event, channel, kind) exists; returns the new id or None."""
    insert = insert_ignore(session, Notification, [row], ["source_event_id", "channel", "kind"])
    result: int | None = session.scalar(insert.returning(Notification.id))
    return result


def add_notifications_if_new(
    session: Session, rows: Sequence[dict[str, Any]]
) -> list[tuple[dict[str, Any], int]]:
    """Insert those whose (source event, channel, kind) is new: each with its new id."""
    table: Table = Notification.__table__  # type: ignore[assignment]
    unique = ["source_event_id", "channel", "kind"]
    added = {
        (r.source_event_id, r.channel, r.kind): r.id
        for r in insert_rows(session, table, rows, conflict=unique, returning=["id", *unique])
    }
    return [
        (row, added[key])
        for row in rows
        if (key := (row["source_event_id"], row["channel"], row["kind"])) in added
    ]


def notification_ids_by_source(
    session: Session, source_event_ids: Sequence[str]
) -> list[tuple[str, int]]:
    if not source_event_ids:
        return []
    rows = session.execute(
        select(Notification.source_event_id, Notification.id).where(
            Notification.source_event_id.in_(list(source_event_ids))
        )
    )
    return [(r[0], r[1]) for r in rows]


def get_notification(session: Session, notification_id: int) -> Notification | None:
    return session.get(Notification, notification_id)


def get_notification_by_source(
    session: Session, source_event_id: str, channel: str, kind: str
) -> Notification | None:
    return session.scalar(
        select(Notification).where(
            Notification.source_event_id == source_event_id,
            Notification.channel == channel,
            Notification.kind == kind,
        )
    )


def mark_notification_sent(session: Session, notification_id: int, now: datetime) -> bool:
    """Queued -> sent (False: it was not queued); one statement built once, run on the
    session's connection (the relay runs it after every send)."""
    updated = (
        session.connection()
        .execute(
            statement(session, "notifications.mark_sent", _mark_sent),
            {"notification_id": notification_id, "now": now},
        )
        .scalar()
    )
    return updated is not None


@contextmanager
def marking_sent(session: Session, clock: Clock) -> Iterator[Callable[[int], bool]]:
    """``mark(notification_id)``: queued -> sent (False: it was not queued), committed at
    once, each on its own: a crash after a send repeats at most that one send. On a
    connection of its own taken from the session's engine (the session holds none meanwhile),
    in autocommit on PostgreSQL: one round trip a send, no ORM session, no BEGIN or COMMIT;
    on SQLite a transaction each."""
    engine = session.get_bind().engine
    postgres = engine.dialect.name == "postgresql"
    mark_sent = statement(session, "notifications.mark_sent", _mark_sent)
    with engine.connect() as connection:
        if postgres:
            connection.execution_options(isolation_level="AUTOCOMMIT")

        def mark(notification_id: int) -> bool:
            params = {"notification_id": notification_id, "now": clock.now()}
            updated = connection.execute(mark_sent, params).scalar()
            if not postgres:
                connection.commit()
            return updated is not None

        yield mark


def _mark_sent(_postgres: bool) -> Any:
    return (
        update(Notification)
        .where(
            Notification.id == bindparam("notification_id"),
            Notification.status == NotificationStatus.QUEUED.value,
        )
        .values(status=NotificationStatus.SENT.value, sent_at=bindparam("now"))
        .returning(Notification.id)
    )


def notifications_to_send(session: Session, ids: Sequence[int]) -> list[Any]:
    """Rows of what sending needs (``id``, ``channel``, the sealed ``recipient``,
    ``subject``, ``body``, ``html_body``, ``status``, ``source_event_id``) of these
    notifications; one statement built once, no ORM objects."""
    if not ids:
        return []
    return list(
        session.execute(
            statement(session, "notifications.to_send", _to_send), {"ids": sorted(set(ids))}
        )
    )


def _to_send(postgres: bool) -> Any:
    columns = ("id", "channel", "recipient", "subject", "body", "html_body", "status")
    table: Table = Notification.__table__  # type: ignore[assignment]
    return select(*(table.c[c] for c in columns), table.c.source_event_id).where(
        matches(table.c.id, "ids", postgres)
    )


def get_notifications(session: Session, ids: Sequence[int]) -> dict[int, Notification]:
    if not ids:
        return {}
    found = session.scalars(select(Notification).where(Notification.id.in_(list(set(ids)))))
    return {n.id: n for n in found}


def delete_notifications_of(session: Session, customer_refs: Sequence[str]) -> int:
    """Erasure: the rendered messages (recipient, names, addresses) of these customers."""
    if not customer_refs:
        return 0
    result = session.execute(
        delete(Notification)
        .where(Notification.customer_ref.in_(list(customer_refs)))
        .execution_options(synchronize_session=False)
    )
    return rowcount(result)


def list_notifications(
    session: Session, *, customer_ref: str | None = None, limit: int = 100
) -> list[Notification]:
    query = select(Notification)
    if customer_ref is not None:
        query = query.where(Notification.customer_ref == customer_ref)
    return list(session.scalars(query.order_by(Notification.id.desc()).limit(limit)))


def find_notifications(
    session: Session,
    *,
    channel: str | None = None,
    kind: str | None = None,
    customer_ref: str | None = None,
    status: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    among: Select[int] | None = None,
    not_among: Sequence[Select[int]] = (),
    offset: int = 0,
    limit: int = 50,
) -> list[Notification]:
    """The message log's rows, newest first; ``among``/``not_among``: subqueries of ids."""
    query = select(Notification)
    if channel is not None:
        query = query.where(Notification.channel == channel)
    if kind is not None:
        query = query.where(Notification.kind == kind)
    if customer_ref is not None:
        query = query.where(Notification.customer_ref == customer_ref)
    if status is not None:
        query = query.where(Notification.status == status)
    if since is not None:
        query = query.where(Notification.created_at >= since)
    if until is not None:
        query = query.where(Notification.created_at < until)
    if among is not None:
        query = query.where(Notification.id.in_(among))
    for excluded in not_among:
        query = query.where(Notification.id.not_in(excluded))
    query = query.order_by(Notification.id.desc()).offset(offset).limit(limit)
    return list(session.scalars(query))
