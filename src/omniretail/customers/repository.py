"""The only place that builds queries over the customer tables."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Row, Table, and_, delete, false, func, insert, or_, select, update
from sqlalchemy.orm import Session

from omniretail.customers.models import (
    Activity,
    AnonymousLink,
    Consent,
    ConsentEvent,
    Customer,
    CustomerStatus,
    Identity,
    Merge,
    MergeReview,
    PrivacyRequest,
)

customers = cast(Table, Customer.__table__)
activity = cast(Table, Activity.__table__)


# --- profiles and clusters -----------------------------------------------------------------


def get_customer(session: Session, customer_id: int) -> Customer | None:
    return session.get(Customer, customer_id)


def add_customer(session: Session, customer: Customer) -> Customer:
    session.add(customer)
    session.flush()
    return customer


def root_of(session: Session, customer_id: int) -> int | None:
    """The surviving profile an id leads to (aliases point straight at their root)."""
    row = session.execute(
        select(customers.c.id, customers.c.merged_into_id).where(customers.c.id == customer_id)
    ).one_or_none()
    if row is None:
        return None
    return int(row.merged_into_id or row.id)


def cluster_ids(session: Session, root_id: int) -> list[int]:
    """The root and every profile merged into it, root first."""
    aliases = session.scalars(
        select(customers.c.id).where(customers.c.merged_into_id == root_id).order_by(customers.c.id)
    )
    return [root_id, *aliases]


def lock_customers(session: Session, ids: Sequence[int]) -> list[Customer]:
    """SELECT ... FOR UPDATE in id order, so two merges never deadlock."""
    return list(
        session.scalars(
            select(Customer)
            .where(Customer.id.in_(list(ids)))
            .order_by(Customer.id)
            .with_for_update()
        )
    )


def repoint_aliases(session: Session, from_root: int, to_root: int) -> list[int]:
    rows = session.scalars(
        update(customers)
        .where(customers.c.merged_into_id == from_root)
        .values(merged_into_id=to_root)
        .returning(customers.c.id)
    )
    return sorted(int(r) for r in rows)


def restore_aliases(session: Session, ids: Sequence[int], *, from_root: int, to_root: int) -> None:
    """Undo of ``repoint_aliases``: only rows still pointing where the merge left them."""
    if ids:
        session.execute(
            update(customers)
            .where(customers.c.id.in_(list(ids)), customers.c.merged_into_id == from_root)
            .values(merged_into_id=to_root)
        )


def existing_ids(session: Session, ids: Iterable[int]) -> set[int]:
    wanted = list(set(ids))
    if not wanted:
        return set()
    return set(session.scalars(select(customers.c.id).where(customers.c.id.in_(wanted))))


def roots_of(session: Session, ids: Iterable[int]) -> dict[int, int]:
    wanted = list(set(ids))
    if not wanted:
        return {}
    rows = session.execute(
        select(customers.c.id, customers.c.merged_into_id).where(customers.c.id.in_(wanted))
    )
    return {int(r.id): int(r.merged_into_id or r.id) for r in rows}


def find_by_name_postcode(session: Session, index: str, exclude: Sequence[int]) -> list[int]:
    return list(
        session.scalars(
            select(customers.c.id)
            .where(
                customers.c.name_postcode_index == index,
                customers.c.status == CustomerStatus.ACTIVE.value,
                customers.c.id.not_in(list(exclude)),
            )
            .order_by(customers.c.id)
        )
    )


def by_birthday(
    session: Session, month_day: str, store_codes: Sequence[str] | None
) -> list[tuple[int, str | None]]:
    """Active customers born on ``month_day``; ``store_codes`` None means "no home store"."""
    stmt = select(customers.c.id, customers.c.home_store).where(
        customers.c.birthday == month_day, customers.c.status == CustomerStatus.ACTIVE.value
    )
    if store_codes is None:
        stmt = stmt.where(customers.c.home_store.is_(None))
    else:
        stmt = stmt.where(customers.c.home_store.in_(list(store_codes)))
    return [(int(r.id), r.home_store) for r in session.execute(stmt.order_by(customers.c.id))]


def list_customer_ids(session: Session, *, after: int = 0, limit: int = 1000) -> list[int]:
    return list(
        session.scalars(
            select(customers.c.id)
            .where(customers.c.id > after, customers.c.status == CustomerStatus.ACTIVE.value)
            .order_by(customers.c.id)
            .limit(limit)
        )
    )


def ids_by_customer_number(session: Session, numbers: Iterable[int]) -> dict[int, int]:
    wanted = list(set(numbers))
    if not wanted:
        return {}
    rows = session.execute(
        select(customers.c.customer_number, customers.c.id).where(
            customers.c.customer_number.in_(wanted)
        )
    )
    return {int(r.customer_number): int(r.id) for r in rows}


# --- identities ------------------------------------------------------------------------------


def add_identity(session: Session, identity: Identity) -> Identity:
    session.add(identity)
    session.flush()
    return identity


def get_identity(session: Session, identity_id: int) -> Identity | None:
    return session.get(Identity, identity_id)


def list_identities(session: Session, customer_ids: Sequence[int]) -> list[Identity]:
    return list(
        session.scalars(
            select(Identity)
            .where(Identity.customer_id.in_(list(customer_ids)))
            .order_by(Identity.id)
        )
    )


def find_identities(session: Session, kind: str, scope: str, value_index: str) -> list[Identity]:
    return list(
        session.scalars(
            select(Identity)
            .where(
                Identity.kind == kind, Identity.scope == scope, Identity.value_index == value_index
            )
            .order_by(Identity.id)
        )
    )


def delete_identities(session: Session, customer_id: int) -> int:
    result = session.execute(delete(Identity).where(Identity.customer_id == customer_id))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


# --- consents --------------------------------------------------------------------------------


def list_consents(session: Session, customer_id: int) -> list[Consent]:
    return list(
        session.scalars(
            select(Consent)
            .where(Consent.customer_id == customer_id)
            .order_by(Consent.purpose, Consent.channel)
        )
    )


def get_consent(session: Session, customer_id: int, purpose: str, channel: str) -> Consent | None:
    return session.get(Consent, (customer_id, purpose, channel))


def record_consent(
    session: Session,
    *,
    customer_id: int,
    purpose: str,
    channel: str,
    granted: bool,
    now: datetime,
    source: str,
    method: str,
    actor: str,
    merge_id: int | None = None,
) -> ConsentEvent:
    """Appends the history row and moves the current answer to it."""
    event = ConsentEvent(
        customer_id=customer_id,
        purpose=purpose,
        channel=channel,
        granted=granted,
        occurred_at=now,
        source=source,
        method=method,
        actor=actor,
        merge_id=merge_id,
    )
    session.add(event)
    session.flush()
    current = get_consent(session, customer_id, purpose, channel)
    if current is None:
        session.add(
            Consent(
                customer_id=customer_id,
                purpose=purpose,
                channel=channel,
                granted=granted,
                updated_at=now,
                last_event_id=event.id,
            )
        )
    else:
        current.granted = granted
        current.updated_at = now
        current.last_event_id = event.id
    session.flush()
    return event


def consent_history(session: Session, customer_ids: Sequence[int]) -> list[ConsentEvent]:
    return list(
        session.scalars(
            select(ConsentEvent)
            .where(ConsentEvent.customer_id.in_(list(customer_ids)))
            .order_by(ConsentEvent.occurred_at.desc(), ConsentEvent.id.desc())
        )
    )


def consent_events_since(session: Session, customer_id: int, since_id: int) -> list[ConsentEvent]:
    return list(
        session.scalars(
            select(ConsentEvent)
            .where(ConsentEvent.customer_id == customer_id, ConsentEvent.id > since_id)
            .order_by(ConsentEvent.id)
        )
    )


def max_consent_event_id(session: Session) -> int:
    return int(session.scalar(select(func.coalesce(func.max(ConsentEvent.id), 0))) or 0)


def granted_among(
    session: Session, customer_ids: Sequence[int], purpose: str, channels: Sequence[str]
) -> set[int]:
    """Which of these (root) customers have granted ``purpose`` on one of ``channels``."""
    if not customer_ids:
        return set()
    return set(
        session.scalars(
            select(Consent.customer_id).where(
                Consent.customer_id.in_(list(customer_ids)),
                Consent.purpose == purpose,
                Consent.channel.in_(list(channels)),
                Consent.granted.is_(True),
            )
        )
    )


def strip_consent_provenance(session: Session, customer_id: int) -> None:
    """Erasure keeps what was answered and when (proof of lawful contact), not where from."""
    session.execute(
        update(ConsentEvent)
        .where(ConsentEvent.customer_id == customer_id)
        .values(source="erased", method="erased", actor="erased")
    )


# --- activity (timeline) ---------------------------------------------------------------------


def insert_activities(session: Session, rows: list[dict[str, Any]]) -> None:
    if rows:
        session.execute(insert(activity), rows)


def existing_source_keys(session: Session, keys: Sequence[str]) -> set[str]:
    if not keys:
        return set()
    return set(
        session.scalars(select(activity.c.source_key).where(activity.c.source_key.in_(keys)))
    )


def upsert_activity(session: Session, row: dict[str, Any]) -> None:
    """Insert, or update the status/amount of the row with the same ``source_key``."""
    updated = session.execute(
        update(activity)
        .where(activity.c.source_key == row["source_key"])
        .values(status=row.get("status"), amount=row.get("amount"), data=row.get("data", {}))
    )
    if not updated.rowcount:  # type: ignore[attr-defined]
        session.execute(insert(activity).values(**row))


def timeline(
    session: Session,
    customer_ids: Sequence[int],
    *,
    limit: int,
    before: datetime | None = None,
    kinds: Sequence[str] | None = None,
) -> list[Activity]:
    stmt = select(Activity).where(Activity.customer_id.in_(list(customer_ids)))
    if before is not None:
        stmt = stmt.where(Activity.occurred_at < before)
    if kinds:
        stmt = stmt.where(Activity.kind.in_(list(kinds)))
    return list(
        session.scalars(stmt.order_by(Activity.occurred_at.desc(), Activity.id.desc()).limit(limit))
    )


def open_returns(session: Session, customer_ids: Sequence[int]) -> list[Activity]:
    return list(
        session.scalars(
            select(Activity)
            .where(
                Activity.customer_id.in_(list(customer_ids)),
                Activity.kind == "return",
                Activity.status == "open",
            )
            .order_by(Activity.occurred_at.desc())
        )
    )


def spend_by_channel(
    session: Session, customer_ids: Sequence[int]
) -> list[tuple[str, int, Decimal]]:
    rows = session.execute(
        select(
            activity.c.channel,
            func.count().filter(activity.c.kind == "order"),
            func.coalesce(func.sum(activity.c.amount), 0),
        )
        .where(
            activity.c.customer_id.in_(list(customer_ids)), activity.c.kind.in_(["order", "return"])
        )
        .group_by(activity.c.channel)
        .order_by(activity.c.channel)
    )
    return [(r[0] or "unknown", int(r[1]), Decimal(r[2])) for r in rows]


def linked_customers(session: Session, anonymous_ids: Sequence[str]) -> dict[str, int]:
    if not anonymous_ids:
        return {}
    rows = session.execute(
        select(AnonymousLink.anonymous_id, AnonymousLink.customer_id).where(
            AnonymousLink.anonymous_id.in_(list(anonymous_ids))
        )
    )
    return {r.anonymous_id: int(r.customer_id) for r in rows}


def link_anonymous(session: Session, anonymous_id: str, customer_id: int, now: datetime) -> None:
    existing = session.get(AnonymousLink, anonymous_id)
    if existing is None:
        session.add(
            AnonymousLink(anonymous_id=anonymous_id, customer_id=customer_id, linked_at=now)
        )
        session.flush()


def stitch_anonymous(session: Session, anonymous_id: str, customer_id: int) -> int:
    result = session.execute(
        update(activity)
        .where(activity.c.anonymous_id == anonymous_id, activity.c.customer_id.is_(None))
        .values(customer_id=customer_id)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def erase_activity(session: Session, customer_id: int) -> dict[str, int]:
    """Behaviour, contacts and messages go; orders and returns stay with their amounts only."""
    anon = list(
        session.scalars(
            select(AnonymousLink.anonymous_id).where(AnonymousLink.customer_id == customer_id)
        )
    )
    behaviour = session.execute(
        delete(activity).where(
            or_(
                and_(
                    activity.c.customer_id == customer_id,
                    activity.c.kind.not_in(["order", "return"]),
                ),
                activity.c.anonymous_id.in_(anon) if anon else false(),
            )
        )
    )
    session.execute(
        update(activity)
        .where(activity.c.customer_id == customer_id)
        .values(anonymous_id=None, data={})
    )
    links = session.execute(delete(AnonymousLink).where(AnonymousLink.customer_id == customer_id))
    return {
        "activity_deleted": int(behaviour.rowcount or 0),  # type: ignore[attr-defined]
        "anonymous_links_deleted": int(links.rowcount or 0),  # type: ignore[attr-defined]
    }


def all_activity(session: Session, customer_ids: Sequence[int]) -> list[Activity]:
    return list(
        session.scalars(
            select(Activity)
            .where(Activity.customer_id.in_(list(customer_ids)))
            .order_by(Activity.occurred_at.desc(), Activity.id.desc())
        )
    )


def anonymous_ids_of(session: Session, customer_ids: Sequence[int]) -> list[str]:
    return list(
        session.scalars(
            select(AnonymousLink.anonymous_id)
            .where(AnonymousLink.customer_id.in_(list(customer_ids)))
            .order_by(AnonymousLink.anonymous_id)
        )
    )


# --- merges and reviews ----------------------------------------------------------------------


def add_merge(session: Session, merge: Merge) -> Merge:
    session.add(merge)
    session.flush()
    return merge


def get_merge(session: Session, merge_id: int) -> Merge | None:
    return session.get(Merge, merge_id)


def lock_merge(session: Session, merge_id: int) -> Merge | None:
    return session.scalars(select(Merge).where(Merge.id == merge_id).with_for_update()).first()


def list_merges(session: Session, customer_ids: Sequence[int]) -> list[Merge]:
    ids = list(customer_ids)
    return list(
        session.scalars(
            select(Merge)
            .where(or_(Merge.survivor_id.in_(ids), Merge.merged_id.in_(ids)))
            .order_by(Merge.id)
        )
    )


def add_review_if_new(session: Session, review: MergeReview) -> MergeReview | None:
    existing = session.scalars(
        select(MergeReview).where(
            MergeReview.customer_a == review.customer_a,
            MergeReview.customer_b == review.customer_b,
            MergeReview.rule == review.rule,
        )
    ).first()
    if existing is not None:
        return existing if existing.status == "open" else None
    session.add(review)
    session.flush()
    return review


def lock_review(session: Session, review_id: int) -> MergeReview | None:
    return session.scalars(
        select(MergeReview).where(MergeReview.id == review_id).with_for_update()
    ).first()


def list_reviews(session: Session, *, status: str | None, limit: int) -> list[MergeReview]:
    stmt = select(MergeReview).order_by(MergeReview.id).limit(limit)
    if status:
        stmt = stmt.where(MergeReview.status == status)
    return list(session.scalars(stmt))


def close_reviews_of(session: Session, customer_id: int, now: datetime, actor: str) -> None:
    session.execute(
        update(MergeReview)
        .where(
            or_(MergeReview.customer_a == customer_id, MergeReview.customer_b == customer_id),
            MergeReview.status == "open",
        )
        .values(status="rejected", decided_at=now, decided_by=actor, explanation="customer erased")
    )


# --- privacy ---------------------------------------------------------------------------------


def log_privacy(session: Session, request: PrivacyRequest) -> None:
    session.add(request)
    session.flush()


def privacy_log(session: Session, customer_ids: Sequence[int]) -> list[PrivacyRequest]:
    return list(
        session.scalars(
            select(PrivacyRequest)
            .where(PrivacyRequest.customer_id.in_(list(customer_ids)))
            .order_by(PrivacyRequest.id)
        )
    )


def rows_as_dicts(rows: Sequence[Row[Any]]) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in rows]
