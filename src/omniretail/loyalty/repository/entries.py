"""Queries over the ledger entries and account summaries."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy import Integer, String, Table, and_, bindparam, func, insert, select
from sqlalchemy.orm import Session

from omniretail.db.sql import (
    insert_returning_id,
    listed,
    listed_statement,
    listed_values,
    matches,
    statement,
)
from omniretail.loyalty.models import (
    Entry,
    LotStatus,
)
from omniretail.loyalty.repository.programmes import accounts, entries, lots


class AccountSummary(NamedTuple):
    """One account of a cluster, with the cluster's qualifying spend and next expiry."""

    customer_id: int
    available: int
    pending: int
    owed: int
    tier: str
    qualifying_spend: Decimal | int | str
    next_expiry: datetime | None
    next_expiry_points: int


def account_summary(
    session: Session, customer_ids: Sequence[int], now: datetime, since: datetime
) -> list[AccountSummary]:
    """The accounts of these profiles with, on each row, the cluster's qualifying spend since
    ``since`` and its next expiry (date and points): one statement for the account status.
    No row: not enrolled (lots and entries exist only with an account)."""

    def build(pg: bool) -> Any:
        spendable = and_(
            matches(lots.c.customer_id, "ids", pg),
            lots.c.status == LotStatus.AVAILABLE.value,
            lots.c.remaining > 0,
            lots.c.expires_at > bindparam("now", type_=lots.c.expires_at.type),
        )
        first_expiry = select(func.min(lots.c.expires_at)).where(spendable).scalar_subquery()
        expiring = (
            select(func.coalesce(func.sum(lots.c.remaining), 0))
            .where(spendable, lots.c.expires_at == first_expiry)
            .scalar_subquery()
        )
        spend = (
            select(func.coalesce(func.sum(entries.c.spend), 0))
            .where(
                matches(entries.c.customer_id, "ids", pg),
                entries.c.effective_at > bindparam("since", type_=entries.c.effective_at.type),
            )
            .scalar_subquery()
        )
        return (
            select(
                accounts.c.customer_id,
                accounts.c.available,
                accounts.c.pending,
                accounts.c.owed,
                accounts.c.tier,
                spend.label("qualifying_spend"),
                first_expiry.label("next_expiry"),
                expiring.label("next_expiry_points"),
            )
            .where(matches(accounts.c.customer_id, "ids", pg))
            .order_by(accounts.c.customer_id)
        )

    stmt = statement(session, "account_summary", build)
    rows = session.execute(stmt, {"ids": list(customer_ids), "now": now, "since": since})
    return [AccountSummary(*row) for row in rows]


def next_expiry(
    session: Session, customer_ids: Sequence[int], now: datetime
) -> tuple[datetime | None, int]:
    row = session.execute(
        select(lots.c.expires_at, func.sum(lots.c.remaining))
        .where(
            lots.c.customer_id.in_(list(customer_ids)),
            lots.c.status == LotStatus.AVAILABLE.value,
            lots.c.remaining > 0,
            lots.c.expires_at > now,
        )
        .group_by(lots.c.expires_at)
        .order_by(lots.c.expires_at)
        .limit(1)
    ).first()
    return (row[0], int(row[1])) if row else (None, 0)


# --- ledger ----------------------------------------------------------------------------------


def entry_exists(session: Session, source_key: str) -> bool:
    return (
        session.scalar(select(entries.c.id).where(entries.c.source_key == source_key)) is not None
    )


def existing_entry_keys(session: Session, keys: Iterable[str]) -> set[str]:
    """The keys among ``keys`` that have an entry (a statement kept per count of keys, up to
    5,000 a statement)."""
    wanted = list(keys)
    found: set[str] = set()
    for start in range(0, len(wanted), 5000):
        chunk = wanted[start : start + 5000]
        stmt = listed_statement(session, "loyalty.entry_keys", len(chunk), _entry_keys)
        found |= set(session.scalars(stmt, listed_values("keys", chunk)))
    return found


def _entry_keys(postgres: bool, count: int) -> Any:
    return select(entries.c.source_key).where(
        listed(entries.c.source_key, "keys", count, postgres, String())
    )


def earns_of_order(session: Session, order_reference: str) -> list[Entry]:
    """The order's earn and the earns of its exchanges (``earn:order:<order>#<exchange>``)."""
    key = f"earn:order:{order_reference}"
    return list(
        session.scalars(
            select(Entry)
            .where(
                Entry.kind == "earn",
                (Entry.source_key == key) | Entry.source_key.startswith(key + "#", autoescape=True),
            )
            .order_by(Entry.id)
        )
    )


def get_entry(session: Session, source_key: str) -> Entry | None:
    return session.scalars(select(Entry).where(Entry.source_key == source_key)).first()


def insert_entry(session: Session, entry: Entry) -> int:
    """``add_entry`` without the unit of work's flush (one INSERT ... RETURNING id; the entry
    stays outside the session, its id set): a purchase's earn. Returns its id."""
    return insert_returning_id(session, entries, entry)


def add_entry(session: Session, entry: Entry) -> Entry:
    session.add(entry)
    session.flush()
    return entry


def extra_earns_of_order(session: Session, order_reference: str) -> list[Entry]:
    """The earns of the points promotions an order had (``points:order:<order>:<n>``)."""
    prefix = f"points:order:{order_reference}:"
    return list(
        session.scalars(
            select(Entry)
            .where(Entry.kind == "earn", Entry.source_key.startswith(prefix, autoescape=True))
            .order_by(Entry.id)
        )
    )


def clawbacks_for_line(
    session: Session, order_reference: str, line_id: int, *, extra: int | None = None
) -> list[Entry]:
    """The clawbacks of one order line: of its earn, or (``extra``) of that points
    promotion's earn entry."""
    return [
        e
        for e in session.scalars(
            select(Entry).where(Entry.kind == "clawback", Entry.reference == order_reference)
        )
        if int(e.data.get("order_line_id", -1)) == line_id and e.data.get("extra") == extra
    ]


def list_entries(
    session: Session, customer_ids: Sequence[int], *, limit: int, before_id: int | None
) -> list[Entry]:
    stmt = select(Entry).where(Entry.customer_id.in_(list(customer_ids)))
    if before_id is not None:
        stmt = stmt.where(Entry.id < before_id)
    return list(session.scalars(stmt.order_by(Entry.id.desc()).limit(limit)))


def ledger_sums(session: Session) -> dict[int, tuple[int, int, int]]:
    rows = session.execute(
        select(
            entries.c.customer_id,
            func.sum(entries.c.points),
            func.sum(entries.c.pending_delta),
            func.sum(entries.c.owed_delta),
        ).group_by(entries.c.customer_id)
    )
    return {int(r[0]): (int(r[1] or 0), int(r[2] or 0), int(r[3] or 0)) for r in rows}


def qualifying_spend(session: Session, customer_ids: Sequence[int], since: datetime) -> Decimal:
    stmt = listed_statement(session, "loyalty.spend", len(customer_ids), _qualifying_spend)
    value = session.scalar(stmt, {**listed_values("customer_ids", customer_ids), "since": since})
    return Decimal(value or 0)


def _qualifying_spend(postgres: bool, count: int) -> Any:
    return select(func.coalesce(func.sum(entries.c.spend), 0)).where(
        listed(entries.c.customer_id, "customer_ids", count, postgres, Integer()),
        entries.c.effective_at > bindparam("since", type_=entries.c.effective_at.type),
    )


def redeem_entries_since(
    session: Session, customer_ids: Sequence[int], since: datetime
) -> list[Entry]:
    return list(
        session.scalars(
            select(Entry)
            .where(
                Entry.customer_id.in_(list(customer_ids)),
                Entry.kind == "redeem",
                Entry.created_at >= since,
            )
            .order_by(Entry.id)
        )
    )


def bulk_insert(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), 5000):
        session.execute(insert(table), rows[start : start + 5000])
