"""Reading orders: by number (staff), by customer, by tracking token (the public page)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from omniretail.db.uow import UnitOfWork
from omniretail.kernel.money import fits_currency, round_money
from omniretail.orders import contact, payment_instructions
from omniretail.orders import repository as repo
from omniretail.orders.contact import is_live, tracking_link
from omniretail.orders.errors import UnknownOrder
from omniretail.orders.models import PICKUP_CODE_TRIES, FulfilmentStatus, LineStatus, next_steps
from omniretail.orders.schemas import (
    FulfilmentRead,
    LogEntryRead,
    OrderLineRead,
    OrderRead,
    PaymentRead,
    PendingPayment,
    TrackingFulfilment,
    TrackingLocation,
    TrackingRead,
)
from omniretail.routing import service as routing
from omniretail.routing.service import FulfilmentMethod


def money(value: Decimal, currency: str) -> Decimal:
    """In the currency's minor unit (two decimals for GBP, none for JPY) unless the
    (imported) amount needs the third the columns allow."""
    if not fits_currency(value, currency):
        return value
    return round_money(value, currency)


def _maybe(value: Decimal | None, currency: str) -> Decimal | None:
    return None if value is None else money(value, currency)


def get_order(uow: UnitOfWork, number: str) -> OrderRead:
    order = repo.get_order_by_number(uow.session, number)
    if order is None:
        raise UnknownOrder(f"no order with number {number!r}", field="number")
    return order_read(uow, order)


def pickup_codes(uow: UnitOfWork, number: str) -> dict[str, str]:
    """The pickup code of each of the order's fulfilments waiting to be collected, by
    fulfilment id: for its owner's eyes only (their account page, the assistant signed in;
    the emails read it at send time), never the tracking page nor staff."""
    order = repo.get_order_by_number(uow.session, number)
    if order is None:
        return {}
    codes = {}
    for f in repo.fulfilments_of_order(uow.session, order.id):
        code = contact.waiting_pickup_code(uow.vault, f)
        if code is not None:
            codes[f.id] = code
    return codes


def list_orders(uow: UnitOfWork, customer_id: int, limit: int = 50) -> list[OrderRead]:
    return [
        order_read(uow, o) for o in repo.list_orders_of_customer(uow.session, customer_id, limit)
    ]


def order_log(uow: UnitOfWork, number: str) -> list[LogEntryRead]:
    order = repo.get_order_by_number(uow.session, number)
    if order is None:
        raise UnknownOrder(f"no order with number {number!r}", field="number")
    return [LogEntryRead.model_validate(e) for e in repo.log_of_order(uow.session, order.id)]


def get_orders(
    uow: UnitOfWork,
    numbers: Sequence[str],
    *,
    payment_log: bool = True,
    fulfilments: bool = True,
) -> dict[str, OrderRead]:
    """The orders of ``numbers`` that exist, by number, in four reads whatever their count
    (the relay's notifiers read a batch's orders at once); one fewer without
    ``payment_log`` (``payment.refunded`` None and ``pending`` empty, as for an untracked
    order), and one fewer without ``fulfilments`` (``fulfilments`` empty: for a reader of
    the lines only, as the loyalty earn)."""
    found = repo.get_orders_by_numbers(uow.session, sorted(set(numbers)))
    ids = [o.id for o in found]
    lines = _by_order(repo.lines_of_orders(uow.session, ids))
    fulfilment_rows = _by_order(repo.fulfilments_of_orders(uow.session, ids) if fulfilments else [])
    tracked = [o.id for o in found if is_live(o)] if payment_log else []
    logs = _by_order(repo.logs_of_orders(uow.session, tracked))
    return {
        o.number: _order_read(
            uow,
            o,
            lines.get(o.id, []),
            fulfilment_rows.get(o.id, []),
            logs.get(o.id, []) if is_live(o) and payment_log else None,
        )
        for o in found
    }


def _by_order(rows: Iterable[Any]) -> dict[int, list[Any]]:
    grouped: dict[int, list[Any]] = {}
    for row in rows:
        grouped.setdefault(row.order_id, []).append(row)
    return grouped


def order_read(uow: UnitOfWork, order: Any) -> OrderRead:
    lines = repo.lines_of_order(uow.session, order.id)
    fulfilments = repo.fulfilments_of_order(uow.session, order.id)
    log = repo.log_of_order(uow.session, order.id) if is_live(order) else None
    return _order_read(uow, order, lines, fulfilments, log)


def _order_read(
    uow: UnitOfWork, order: Any, lines: list[Any], fulfilments: list[Any], log: list[Any] | None
) -> OrderRead:
    return OrderRead(
        number=order.number,
        status=order.status,
        channel=order.channel_code,
        customer_id=order.customer_id,
        currency=order.currency,
        total=money(order.total, order.currency),
        placed_at=order.placed_at,
        tracking_url=tracking_link(uow.vault, order),
        contact_email=contact.contact_email(uow.vault, order),
        delivery=contact.delivery(uow.vault, order),
        payment=PaymentRead(
            provider=order.payment_provider,
            reference=order.payment_reference,
            authorised=order.amount_authorised,
            captured=order.amount_captured,
            voided=order.amount_voided,
            refunded=_refunded(log) if log is not None else None,
            pending=[PendingPayment(**p) for p in payment_instructions.pending(log or [])],
        ),
        routing_version=order.routing_version,
        lines=[_line_read(ln, order.currency) for ln in lines],
        fulfilments=[fulfilment_read(f) for f in fulfilments],
        fee=order.fee,
    )


def _refunded(log: list[Any]) -> Decimal:
    """Money given back: the order's ``refund`` log entries (returns, exchanges)."""
    return sum(
        (Decimal(e.detail["amount"]) for e in log if e.action == "refund"),
        Decimal("0.00"),
    )


def fulfilment_read(f: Any) -> FulfilmentRead:
    method = FulfilmentMethod(f.method)
    return FulfilmentRead(
        id=f.id,
        method=method,
        status=f.status,
        location=f.location_code,
        pickup_location=f.pickup_location_code,
        promised_date=f.promised_date,
        ready_at=f.ready_at,
        collect_by=f.collect_by,
        reminders_sent=f.reminders_sent,
        carrier=f.carrier,
        tracking_number=f.tracking_number,
        transfer_id=f.transfer_id,
        reason=f.reason,
        next_steps=[s.value for s in next_steps(method, FulfilmentStatus(f.status))],
        pickup_code_tries=f.pickup_code_tries,
        pickup_code_tries_left=(
            max(0, PICKUP_CODE_TRIES - f.pickup_code_tries)
            if f.status == FulfilmentStatus.READY_FOR_PICKUP.value
            else None
        ),
    )


def _line_read(ln: Any, currency: str) -> OrderLineRead:
    fulfilled = ln.status == LineStatus.FULFILLED.value
    return OrderLineRead(
        line_no=ln.line_no,
        sku=ln.sku_code,
        name=ln.description or ln.sku_name,
        quantity=ln.quantity,
        unit_price=money(ln.unit_price, currency),
        status=ln.status,
        fulfilment_id=ln.fulfilment_id,
        quantity_returned=ln.quantity_returned,
        returnable=ln.quantity - ln.quantity_returned if fulfilled else 0,
        net=_maybe(ln.net_amount, currency),
        tax=_maybe(ln.tax_amount, currency),
        pricing=ln.pricing,
    )


def tracking_read(uow: UnitOfWork, token: str) -> TrackingRead:
    """What the customer's unguessable link shows: state, the pickup location's address and
    hours, the carrier's tracking number. Never the pickup code: whoever holds the link (it is
    forwarded; staff see it on the order) is not the customer at the counter."""
    order = repo.get_order_by_token(uow.session, token)
    if order is None:
        raise UnknownOrder("no order with this tracking link", field="token")
    return tracking_of(uow, order)


def tracking_of(uow: UnitOfWork, order: Any) -> TrackingRead:
    """``tracking_read`` of an order row already read (the assistant's, for its owner)."""
    lines = repo.lines_of_order(uow.session, order.id)
    known = routing.locations(uow)
    fulfilments = []
    for f in repo.fulfilments_of_order(uow.session, order.id):
        if f.status == FulfilmentStatus.REJECTED.value:
            continue  # replaced by the re-routed fulfilment; not the customer's concern
        pickup = known.get(f.pickup_location_code) if f.pickup_location_code else None
        fulfilments.append(
            TrackingFulfilment(
                method=f.method,
                status=f.status,
                promised_date=f.promised_date,
                collect_by=f.collect_by,
                carrier=f.carrier,
                tracking_number=f.tracking_number,
                pickup_location=(
                    TrackingLocation(
                        code=pickup.code,
                        name=pickup.name,
                        address=pickup.address,
                        opening_hours=dict(pickup.opening_hours),
                    )
                    if pickup
                    else None
                ),
                lines=[
                    {
                        "sku": ln.sku_code,
                        "name": ln.description,
                        "quantity": ln.quantity,
                        "status": ln.status,
                    }
                    for ln in lines
                    if ln.fulfilment_id == f.id
                ],
            )
        )
    return TrackingRead(
        number=order.number,
        status=order.status,
        placed_at=order.placed_at,
        total=money(order.total, order.currency),
        currency=order.currency,
        fulfilments=fulfilments,
    )


# --- console reads: work queues and overviews --------------------------------------------------

OPEN_FULFILMENT_STATES = (
    FulfilmentStatus.CREATED.value,
    FulfilmentStatus.ACCEPTED.value,
    FulfilmentStatus.PICKING.value,
    FulfilmentStatus.PACKED.value,
    FulfilmentStatus.SHIPPED.value,
    FulfilmentStatus.READY_FOR_PICKUP.value,
)


def orders_for_location(uow: UnitOfWork, location: str, limit: int = 100) -> list[OrderRead]:
    """A location's open work: orders with a fulfilment it sends, or hands over at its counter,
    that is not finished yet (earliest promise first)."""
    rows = repo.orders_with_fulfilments_at(uow.session, location, OPEN_FULFILMENT_STATES, limit)
    return [order_read(uow, o) for o in rows]


def recent_orders(
    uow: UnitOfWork,
    *,
    status: str | None = None,
    channel: str | None = None,
    limit: int = 25,
    offset: int = 0,
) -> list[OrderRead]:
    """Orders newest first, optionally of one status or channel (history included)."""
    rows = repo.recent_orders(
        uow.session, status=status, channel=channel, limit=limit, offset=offset
    )
    return [order_read(uow, o) for o in rows]


@dataclass(frozen=True)
class OrderSummary:
    """An order as a list or an export shows it: no lines, no contact details (nothing to
    decrypt), its fulfilments."""

    number: str
    placed_at: datetime
    channel: str
    status: str
    total: Decimal
    currency: str
    fulfilments: list[FulfilmentRead]


def order_summaries(
    uow: UnitOfWork,
    *,
    status: str | None = None,
    channel: str | None = None,
    limit: int = 200,
    offset: int = 0,
) -> list[OrderSummary]:
    """``recent_orders`` in two reads a page (the orders, then their fulfilments) instead
    of three reads and two decryptions an order."""
    rows = repo.recent_orders(
        uow.session, status=status, channel=channel, limit=limit, offset=offset
    )
    by_order: dict[int, list[FulfilmentRead]] = {o.id: [] for o in rows}
    for f in repo.fulfilments_of_orders(uow.session, list(by_order)):
        by_order[f.order_id].append(fulfilment_read(f))
    return [
        OrderSummary(
            number=o.number,
            placed_at=o.placed_at,
            channel=o.channel_code,
            status=o.status,
            total=money(o.total, o.currency),
            currency=o.currency,
            fulfilments=by_order[o.id],
        )
        for o in rows
    ]


def count_orders_by_status(uow: UnitOfWork) -> dict[str, int]:
    return repo.count_orders_by_status(uow.session)


def overdue_pickups(uow: UnitOfWork, limit: int = 50) -> list[OrderRead]:
    """Pickups past their collect-by time, or not ready although promised for an earlier day."""
    now = uow.now
    rows = repo.orders_with_overdue_pickups(uow.session, now, now.date(), limit)
    return [order_read(uow, o) for o in rows]
