"""The only place that builds queries over the loyalty tables.

Counters change only by conditional UPDATE (``apply_to_account``) or under row locks
(``lock_accounts``, ``lock_spendable_lots``); the CHECK constraints refuse any negative result.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import BigInteger, Row, Table, and_, any_, bindparam, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from omniretail.loyalty.models import (
    Account,
    Coupon,
    CouponStatus,
    Entry,
    Lot,
    LotStatus,
    Programme,
    Redemption,
)

accounts = cast(Table, Account.__table__)
lots = cast(Table, Lot.__table__)
entries = cast(Table, Entry.__table__)
coupons = cast(Table, Coupon.__table__)


def _dialect_insert(session: Session) -> Any:
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


# --- programme -------------------------------------------------------------------------------


def active_programme(session: Session) -> Programme | None:
    return session.scalars(select(Programme).where(Programme.active.is_(True))).first()


def latest_version(session: Session) -> int:
    return int(session.scalar(select(func.coalesce(func.max(Programme.version), 0))) or 0)


def add_programme(session: Session, programme: Programme) -> None:
    session.execute(update(Programme).where(Programme.active.is_(True)).values(active=False))
    session.add(programme)
    session.flush()


def list_programmes(session: Session) -> list[Programme]:
    return list(session.scalars(select(Programme).order_by(Programme.version.desc())))


# --- accounts --------------------------------------------------------------------------------


def create_account_if_missing(session: Session, customer_id: int, tier: str, now: datetime) -> bool:
    """INSERT ... ON CONFLICT DO NOTHING; True when this call created it."""
    stmt = (
        _dialect_insert(session)(accounts)
        .values(
            customer_id=customer_id,
            available=0,
            pending=0,
            owed=0,
            tier=tier,
            tier_changed_at=now,
            enrolled_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=[accounts.c.customer_id])
        .returning(accounts.c.customer_id)
    )
    return session.execute(stmt).first() is not None


def get_accounts(session: Session, customer_ids: Sequence[int]) -> list[Account]:
    return list(
        session.scalars(
            select(Account)
            .where(Account.customer_id.in_(list(customer_ids)))
            .order_by(Account.customer_id)
        )
    )


def lock_accounts(session: Session, customer_ids: Sequence[int]) -> list[Account]:
    """SELECT ... FOR UPDATE in id order: concurrent redemptions on one person queue here."""
    return list(
        session.scalars(
            select(Account)
            .where(Account.customer_id.in_(list(customer_ids)))
            .order_by(Account.customer_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    )


def apply_to_account(
    session: Session,
    customer_id: int,
    now: datetime,
    *,
    available: int = 0,
    pending: int = 0,
    owed: int = 0,
) -> bool:
    """One conditional UPDATE: refused (False) if a counter would go below zero."""
    result = session.execute(
        update(accounts)
        .where(
            accounts.c.customer_id == customer_id,
            accounts.c.available + available >= 0,
            accounts.c.pending + pending >= 0,
            accounts.c.owed + owed >= 0,
        )
        .values(
            available=accounts.c.available + available,
            pending=accounts.c.pending + pending,
            owed=accounts.c.owed + owed,
            updated_at=now,
        )
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def set_tier(session: Session, customer_id: int, tier: str, now: datetime) -> None:
    session.execute(
        update(accounts)
        .where(accounts.c.customer_id == customer_id)
        .values(tier=tier, tier_changed_at=now)
    )


def all_account_ids(session: Session) -> list[int]:
    return list(session.scalars(select(accounts.c.customer_id).order_by(accounts.c.customer_id)))


def set_counters(
    session: Session, customer_id: int, available: int, pending: int, owed: int
) -> None:
    """Recompute only: the ledger's sums replace drifted counters (rows locked by the caller)."""
    session.execute(
        update(accounts)
        .where(accounts.c.customer_id == customer_id)
        .values(available=available, pending=pending, owed=owed)
    )


# --- lots ------------------------------------------------------------------------------------


def add_lot(session: Session, lot: Lot) -> Lot:
    session.add(lot)
    session.flush()
    return lot


def get_lot_by_key(session: Session, source_key: str) -> Lot | None:
    return session.scalars(select(Lot).where(Lot.source_key == source_key)).first()


def lock_lot(session: Session, lot_id: int) -> Lot | None:
    return session.scalars(
        select(Lot)
        .where(Lot.id == lot_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()


def lock_spendable_lots(session: Session, customer_ids: Sequence[int], now: datetime) -> list[Lot]:
    """Available, unexpired lots with points left, soonest expiry first (the spending order)."""
    return list(
        session.scalars(
            select(Lot)
            .where(
                Lot.customer_id.in_(list(customer_ids)),
                Lot.status == LotStatus.AVAILABLE.value,
                Lot.remaining > 0,
                Lot.expires_at > now,
            )
            .order_by(Lot.expires_at, Lot.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    )


def take_from_lot(session: Session, lot_id: int, points: int) -> None:
    session.execute(
        update(lots)
        .where(lots.c.id == lot_id, lots.c.remaining >= points)
        .values(remaining=lots.c.remaining - points)
    )
    session.execute(
        update(lots)
        .where(lots.c.id == lot_id, lots.c.remaining == 0)
        .values(status=LotStatus.CLOSED.value)
    )


def lock_matured_lots(session: Session, now: datetime, limit: int) -> list[Lot]:
    return list(
        session.scalars(
            select(Lot)
            .where(Lot.status == LotStatus.PENDING.value, Lot.available_at <= now)
            .order_by(Lot.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )


def lock_expired_lots(session: Session, now: datetime, limit: int) -> list[Lot]:
    return list(
        session.scalars(
            select(Lot)
            .where(
                Lot.status == LotStatus.AVAILABLE.value,
                Lot.expires_at <= now,
                Lot.remaining > 0,
            )
            .order_by(Lot.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )


def lots_of(session: Session, customer_ids: Sequence[int]) -> list[Lot]:
    return list(
        session.scalars(
            select(Lot)
            .where(Lot.customer_id.in_(list(customer_ids)))
            .order_by(Lot.expires_at, Lot.id)
        )
    )


def lot_sums(session: Session) -> dict[tuple[int, str], int]:
    rows = session.execute(
        select(lots.c.customer_id, lots.c.status, func.sum(lots.c.remaining)).group_by(
            lots.c.customer_id, lots.c.status
        )
    )
    return {(int(r[0]), str(r[1])): int(r[2] or 0) for r in rows}


_STATEMENTS: dict[tuple[str, str], Any] = {}


def _statement(session: Session, name: str, build: Callable[[bool], Any]) -> Any:
    """A hot-path statement built once per dialect with named parameters (building it anew on
    every call costs more than running it)."""
    key = (session.get_bind().dialect.name, name)
    stmt = _STATEMENTS.get(key)
    if stmt is None:
        stmt = _STATEMENTS[key] = build(key[0] == "postgresql")
    return stmt


def _matches(column: Any, name: str, postgres: bool) -> Any:
    """``column IN :name``; ``= ANY(:name)`` on PostgreSQL (one parameter, a stable text)."""
    if postgres:
        return column == any_(bindparam(name, type_=ARRAY(BigInteger())))
    return column.in_(bindparam(name, expanding=True))


def account_summary(
    session: Session, customer_ids: Sequence[int], now: datetime, since: datetime
) -> list[Row[Any]]:
    """The accounts of these profiles with, on each row, the cluster's qualifying spend since
    ``since`` and its next expiry (date and points): one statement for the account status.
    No row: not enrolled (lots and entries exist only with an account)."""

    def build(pg: bool) -> Any:
        spendable = and_(
            _matches(lots.c.customer_id, "ids", pg),
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
                _matches(entries.c.customer_id, "ids", pg),
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
            .where(_matches(accounts.c.customer_id, "ids", pg))
            .order_by(accounts.c.customer_id)
        )

    stmt = _statement(session, "account_summary", build)
    return list(session.execute(stmt, {"ids": list(customer_ids), "now": now, "since": since}))


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
    wanted = list(keys)
    found: set[str] = set()
    for start in range(0, len(wanted), 5000):
        chunk = wanted[start : start + 5000]
        found |= set(
            session.scalars(select(entries.c.source_key).where(entries.c.source_key.in_(chunk)))
        )
    return found


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


def add_entry(session: Session, entry: Entry) -> Entry:
    session.add(entry)
    session.flush()
    return entry


def clawbacks_for_line(session: Session, order_reference: str, line_id: int) -> list[Entry]:
    return [
        e
        for e in session.scalars(
            select(Entry).where(Entry.kind == "clawback", Entry.reference == order_reference)
        )
        if int(e.data.get("order_line_id", -1)) == line_id
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
    value = session.scalar(
        select(func.coalesce(func.sum(entries.c.spend), 0)).where(
            entries.c.customer_id.in_(list(customer_ids)), entries.c.effective_at > since
        )
    )
    return Decimal(value or 0)


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


# --- redemptions and coupons -----------------------------------------------------------------


def add_redemption(session: Session, redemption: Redemption) -> None:
    session.add(redemption)
    session.flush()


def get_redemption_by_reference(session: Session, reference: str) -> Redemption | None:
    return session.scalars(select(Redemption).where(Redemption.reference == reference)).first()


def lock_redemption(session: Session, redemption_id: str) -> Redemption | None:
    return session.scalars(
        select(Redemption).where(Redemption.id == redemption_id).with_for_update()
    ).first()


def add_coupon_if_new(session: Session, coupon: Coupon) -> Coupon | None:
    existing = session.scalars(select(Coupon).where(Coupon.source_key == coupon.source_key)).first()
    if existing is not None:
        return None
    session.add(coupon)
    session.flush()
    return coupon


def redeem_coupon_if_issued(
    session: Session,
    code: str,
    customer_ids: Sequence[int] | None,
    now: datetime,
    channel: str,
    reference: str | None,
) -> Coupon | None:
    """One conditional UPDATE: a coupon is redeemed once, in whichever channel asks first."""
    stmt = (
        update(coupons)
        .where(
            coupons.c.code == code,
            coupons.c.status == CouponStatus.ISSUED.value,
            coupons.c.valid_until >= now,
        )
        .values(
            status=CouponStatus.REDEEMED.value,
            redeemed_at=now,
            redeemed_channel=channel,
            redeemed_reference=reference,
        )
        .returning(coupons.c.code)
    )
    if customer_ids is not None:
        stmt = stmt.where(
            coupons.c.customer_id.is_(None) | coupons.c.customer_id.in_(list(customer_ids))
        )
    if session.execute(stmt).first() is None:
        return None
    return session.get(Coupon, code, populate_existing=True)


def get_coupon(session: Session, code: str) -> Coupon | None:
    return session.get(Coupon, code)


def list_coupons(session: Session, customer_ids: Sequence[int]) -> list[Coupon]:
    return list(
        session.scalars(
            select(Coupon)
            .where(Coupon.customer_id.in_(list(customer_ids)))
            .order_by(Coupon.issued_at.desc())
        )
    )


# --- order history (read-only) ---------------------------------------------------------------
# The backfill reads the imported order history directly: loyalty sits above orders, and the
# orders service offers no bulk history listing yet. Read-only, never written here.


def history_orders(session: Session) -> list[Any]:
    from omniretail.orders.models import Order

    return list(
        session.execute(
            select(
                Order.id,
                Order.number,
                Order.kind,
                Order.channel_code,
                Order.customer_id,
                Order.total,
                Order.placed_at,
            )
            .where(Order.customer_id.is_not(None))
            .order_by(Order.placed_at, Order.id)
        )
    )


def history_lines(session: Session) -> list[Any]:
    from omniretail.catalog.models import Product, Sku
    from omniretail.orders.models import Order, OrderLine

    return list(
        session.execute(
            select(
                OrderLine.order_id,
                OrderLine.id,
                OrderLine.quantity,
                OrderLine.unit_price,
                OrderLine.cancels_line_id,
                Product.category,
            )
            .join(Order, Order.id == OrderLine.order_id)
            .outerjoin(Sku, Sku.code == OrderLine.sku_code)
            .outerjoin(Product, Product.code == Sku.product_code)
            .where(Order.customer_id.is_not(None))
        )
    )


def lot_ids_by_key(session: Session, keys: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for start in range(0, len(keys), 5000):
        chunk = keys[start : start + 5000]
        rows = session.execute(
            select(lots.c.source_key, lots.c.id).where(lots.c.source_key.in_(chunk))
        )
        found.update({r[0]: int(r[1]) for r in rows})
    return found
