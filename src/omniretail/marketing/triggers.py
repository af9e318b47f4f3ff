"""Retail trigger sources: each records a customer-scoped event journeys start on.

- ``marketing.back_in_stock``: a waiting stock alert whose SKU became available at its store
  (after a receipt, restock, transfer receipt, positive adjustment or count); once per alert.
- ``marketing.price_dropped``: a channel's price of a SKU went below the last price seen, for
  each customer with it in an active cart on that channel or who viewed it in the last 30
  days; once per customer, SKU and new price.
- ``marketing.browse_abandoned``: ``browse_sweep`` over identified product views with no cart
  line or order of that SKU since; once per customer, SKU and day.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, func, or_, select, update

from omniretail.carts.models import Cart, CartLine
from omniretail.catalog import service as catalog
from omniretail.customers import service as customers
from omniretail.customers.models import Activity, ActivityKind
from omniretail.db.sql import insert_ignore
from omniretail.db.uow import UnitOfWork
from omniretail.inventory import service as inventory
from omniretail.kernel.money import round_money
from omniretail.marketing.errors import UnknownStockAlert
from omniretail.marketing.events import BackInStock, BrowseAbandoned, PriceDropped
from omniretail.marketing.schemas import StockAlertCreate, StockAlertRead
from omniretail.marketing.triggers_models import SeenPrice, StockAlert, TriggerMark
from omniretail.orders.models import Order, OrderLine
from omniretail.pricing import service as pricing

WAITING, NOTIFIED, CANCELLED = "waiting", "notified", "cancelled"
VIEW_DAYS = 30
BROWSE_AFTER = timedelta(hours=1)
BROWSE_LOOKBACK = timedelta(days=2)
ACTIVE_CART = "active"


# --- back in stock -------------------------------------------------------------------------


def _alert_read(row: StockAlert) -> StockAlertRead:
    return StockAlertRead(
        id=row.id,
        customer_id=row.customer_id,
        sku=row.sku_code,
        store=row.location_code,
        status=row.status,
        created_at=row.created_at,
        notified_at=row.notified_at,
    )


def create_stock_alert(uow: UnitOfWork, customer_id: int, data: StockAlertCreate) -> StockAlertRead:
    """The customer's waiting alert for the SKU at the store (their home store by default);
    asking twice returns the same alert."""
    catalog.require_sku(uow, data.sku)
    store = data.store or customers.get_customer(uow, customer_id, vault=uow.vault).home_store
    if not store:
        raise UnknownStockAlert("the customer has no store; name one", field="store")
    catalog.require_location(uow, store, field="store")
    found = uow.session.scalar(
        select(StockAlert).where(
            StockAlert.customer_id == customer_id,
            StockAlert.sku_code == data.sku,
            StockAlert.location_code == store,
            StockAlert.status == WAITING,
        )
    )
    if found is None:
        found = StockAlert(
            customer_id=customer_id,
            sku_code=data.sku,
            location_code=store,
            status=WAITING,
            created_at=uow.now,
        )
        uow.session.add(found)
        uow.session.flush()
    return _alert_read(found)


def stock_alerts(
    uow: UnitOfWork,
    *,
    customer_id: int | None = None,
    sku: str | None = None,
    store: str | None = None,
    status: str | None = None,
    limit: int = 100,
) -> list[StockAlertRead]:
    query = select(StockAlert).order_by(StockAlert.id.desc()).limit(limit)
    if customer_id is not None:
        query = query.where(StockAlert.customer_id == customer_id)
    if sku:
        query = query.where(StockAlert.sku_code == sku)
    if store:
        query = query.where(StockAlert.location_code == store)
    if status:
        query = query.where(StockAlert.status == status)
    return [_alert_read(r) for r in uow.session.scalars(query)]


def waiting_alert(uow: UnitOfWork, customer_id: int, sku: str, store: str) -> bool:
    return (
        uow.session.scalar(
            select(StockAlert.id).where(
                StockAlert.customer_id == customer_id,
                StockAlert.sku_code == sku,
                StockAlert.location_code == store,
                StockAlert.status == WAITING,
            )
        )
        is not None
    )


def cancel_stock_alert(uow: UnitOfWork, customer_id: int, alert_id: int) -> None:
    row = uow.session.get(StockAlert, alert_id)
    if row is None or row.customer_id != customer_id:
        raise UnknownStockAlert(f"no stock alert {alert_id}", field="alert_id")
    if row.status == WAITING:
        row.status = CANCELLED
        uow.session.flush()


def notify_back_in_stock(
    uow: UnitOfWork, pairs: Iterable[tuple[str, str]], *, locations: Sequence[str] = ()
) -> int:
    """Alerts waiting on (sku, store) ``pairs`` (or on any SKU at ``locations``) whose SKU is
    available there now: each marked notified and one ``marketing.back_in_stock`` recorded.
    The rows are claimed by an UPDATE on their status, so a redelivery fires nothing twice."""
    wanted = sorted(set(pairs))
    conditions = [
        and_(StockAlert.sku_code == s, StockAlert.location_code == loc) for s, loc in wanted
    ]
    if locations:
        conditions.append(StockAlert.location_code.in_(sorted(set(locations))))
    if not conditions:
        return 0
    rows = uow.session.execute(
        select(StockAlert.id, StockAlert.customer_id, StockAlert.sku_code, StockAlert.location_code)
        .where(StockAlert.status == WAITING, or_(*conditions))
        .order_by(StockAlert.id)
    ).all()
    if not rows:
        return 0
    available: dict[tuple[str, str], int] = {}
    for read in inventory.availability(
        uow, sorted({r.sku_code for r in rows}), locations=sorted({r.location_code for r in rows})
    ):
        for loc in read.locations:
            available[(read.sku, loc.location)] = loc.available
    fired = 0
    for r in rows:
        if available.get((r.sku_code, r.location_code), 0) <= 0:
            continue
        claimed = uow.session.execute(
            update(StockAlert)
            .where(StockAlert.id == r.id, StockAlert.status == WAITING)
            .values(status=NOTIFIED, notified_at=uow.now)
        )
        if claimed.rowcount:  # type: ignore[attr-defined]
            uow.record(
                BackInStock(customer_id=r.customer_id, sku=r.sku_code, store=r.location_code)
            )
            fired += 1
    return fired


# --- price drops ---------------------------------------------------------------------------


def _mark(uow: UnitOfWork, keys: Sequence[str]) -> set[str]:
    """The keys not marked before, marked now."""
    if not keys:
        return set()
    before = set(uow.session.scalars(select(TriggerMark.key).where(TriggerMark.key.in_(keys))))
    fresh = [k for k in dict.fromkeys(keys) if k not in before]
    if fresh:
        uow.session.execute(
            insert_ignore(
                uow.session,
                TriggerMark,
                [{"key": k, "created_at": uow.now} for k in fresh],
                ["key"],
            )
        )
    return set(fresh)


def interested_customers(uow: UnitOfWork, sku: str, channel: str) -> list[int]:
    """Customers with ``sku`` in an active cart on ``channel`` or who viewed it (signed in)
    in the last ``VIEW_DAYS`` days."""
    carts = (
        select(Cart.customer_id)
        .join(CartLine, CartLine.cart_id == Cart.id)
        .where(
            Cart.status == ACTIVE_CART,
            Cart.customer_id.is_not(None),
            CartLine.sku_code == sku,
            CartLine.channel_code == channel,
        )
    )
    views = select(Activity.customer_id).where(
        Activity.customer_id.is_not(None),
        Activity.kind == ActivityKind.PRODUCT_VIEW.value,
        Activity.occurred_at >= uow.now - timedelta(days=VIEW_DAYS),
        Activity.data["sku"].as_string() == sku,
    )
    found = set(uow.session.scalars(carts)) | set(uow.session.scalars(views))
    return sorted(i for i in found if i is not None)


def price_changed(uow: UnitOfWork, sku: str, channel: str) -> int:
    """Compare the SKU's shelf price on ``channel`` now with the last one seen (first time:
    the catalog price); on a drop, ``marketing.price_dropped`` for each interested customer
    not told about this price yet. Returns the number recorded."""
    currency, prices = pricing.shelf_prices(uow, channel, [sku])
    new = prices.get(sku)
    if new is None:
        return 0
    seen = uow.session.get(SeenPrice, (sku, channel))
    old: Decimal | None
    if seen is not None and seen.currency == currency:
        old = seen.price
        seen.price, seen.updated_at = new, uow.now
    else:
        old = catalog.get_sku(uow, sku).price if currency == "GBP" else None
        if seen is None:
            uow.session.add(
                SeenPrice(
                    sku_code=sku,
                    channel_code=channel,
                    price=new,
                    currency=currency,
                    updated_at=uow.now,
                )
            )
        else:
            seen.price, seen.currency, seen.updated_at = new, currency, uow.now
    uow.session.flush()
    if old is None or new >= old:
        return 0
    old = round_money(old, currency)
    ids = interested_customers(uow, sku, channel)
    keys = {f"price:{c}:{sku}:{new}:{currency}": c for c in ids}
    fresh = _mark(uow, list(keys))
    for key in sorted(fresh):
        uow.record(
            PriceDropped(
                customer_id=keys[key],
                sku=sku,
                old_price=str(old),
                new_price=str(new),
                currency=currency,
                channel=channel,
            )
        )
    return len(fresh)


# --- browse abandonment --------------------------------------------------------------------


def browse_sweep(uow: UnitOfWork, *, now: datetime | None = None, batch: int = 500) -> int:
    """Identified product views between ``BROWSE_LOOKBACK`` and ``BROWSE_AFTER`` ago whose
    SKU the customer has not put in a cart or ordered since: one
    ``marketing.browse_abandoned`` per customer, SKU and (UTC) day, for the latest view.
    Customers are taken ``batch`` at a time, in id order."""
    now = now or uow.now
    window = (
        Activity.customer_id.is_not(None),
        Activity.kind == ActivityKind.PRODUCT_VIEW.value,
        Activity.occurred_at >= now - BROWSE_LOOKBACK,
        Activity.occurred_at <= now - BROWSE_AFTER,
    )
    recorded, after = 0, 0
    while True:
        ids = list(
            uow.session.scalars(
                select(Activity.customer_id)
                .where(*window, Activity.customer_id > after)
                .group_by(Activity.customer_id)
                .order_by(Activity.customer_id)
                .limit(batch)
            )
        )
        if not ids:
            return recorded
        recorded += _browse_batch(uow, [i for i in ids if i is not None], window)
        after = max(i for i in ids if i is not None)


def _browse_batch(uow: UnitOfWork, customer_ids: list[int], window: tuple[Any, ...]) -> int:
    sku = Activity.data["sku"].as_string()
    views = uow.session.execute(
        select(Activity.customer_id, sku.label("sku"), func.max(Activity.occurred_at))
        .where(*window, Activity.customer_id.in_(customer_ids), sku.is_not(None))
        .group_by(Activity.customer_id, sku)
    ).all()
    if not views:
        return 0
    ids = sorted({v[0] for v in views})
    skus = sorted({v[1] for v in views})
    carted: dict[tuple[int, str], datetime] = {}
    cart_rows = uow.session.execute(
        select(Cart.customer_id, CartLine.sku_code, func.max(CartLine.created_at))
        .join(CartLine, CartLine.cart_id == Cart.id)
        .where(Cart.customer_id.in_(ids), CartLine.sku_code.in_(skus))
        .group_by(Cart.customer_id, CartLine.sku_code)
    )
    order_rows = uow.session.execute(
        select(Order.customer_id, OrderLine.sku_code, func.max(Order.placed_at))
        .join(OrderLine, OrderLine.order_id == Order.id)
        .where(Order.customer_id.in_(ids), OrderLine.sku_code.in_(skus))
        .group_by(Order.customer_id, OrderLine.sku_code)
    )
    for customer_id, code, at in [*cart_rows, *order_rows]:
        if customer_id is not None and at is not None:
            pair = (customer_id, code)
            carted[pair] = max(at, carted.get(pair, at))
    candidates: dict[str, tuple[int, str, datetime]] = {}
    for customer_id, code, viewed in views:
        since = carted.get((customer_id, code))
        if since is not None and since >= viewed:
            continue
        candidates[f"browse:{customer_id}:{code}:{viewed.date().isoformat()}"] = (
            customer_id,
            code,
            viewed,
        )
    fresh = _mark(uow, list(candidates))
    for key in sorted(fresh):
        customer_id, code, viewed = candidates[key]
        uow.record(BrowseAbandoned(customer_id=customer_id, sku=code, viewed_at=viewed.isoformat()))
    return len(fresh)
