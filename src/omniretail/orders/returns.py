"""Returns anywhere (BORIS included): an order bought on any channel is returned at any
location that accepts returns (a store counter, or the returns desk of a warehouse for
parcels sent back by post).

Sellable items are restocked at the receiving location; damaged ones are received and written
off there (so the ledger shows both). The refund goes to the original payment. A line can be
returned up to its fulfilled quantity, inside the return window counted from its delivery or
handover; ``quantity_returned`` only grows by a conditional UPDATE, so two desks returning the
same item at once cannot both succeed. Each return is logged (``fulfilment_log``, action
``returned``) and emits ``orders.refunded``.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from omniretail.db.uow import UnitOfWork
from omniretail.inventory import service as inventory
from omniretail.inventory.schemas import StockChange
from omniretail.kernel.ids import new_id
from omniretail.orders import planning
from omniretail.orders import repository as repo
from omniretail.orders.errors import NotReturnable, UnknownOrder
from omniretail.orders.events import order_event
from omniretail.orders.lookup import order_read
from omniretail.orders.models import FulfilmentStatus, LineStatus
from omniretail.orders.payments import PaymentProvider
from omniretail.orders.schemas import OrderRead, ReturnCreate

S = FulfilmentStatus
# The moment a line's return window starts: it reached the customer.
_HANDED_OVER = (S.DELIVERED.value, S.COLLECTED.value, S.SHIPPED.value)


def return_items(
    uow: UnitOfWork,
    number: str,
    data: ReturnCreate,
    *,
    window_days: int,
    payments: PaymentProvider,
    actor: str,
) -> OrderRead:
    order = repo.lock_order(uow.session, number)
    if order is None or order.tracking_token is None:
        raise UnknownOrder(f"no live order with number {number!r}", field="number")
    receiving = planning.locations(uow).get(data.location)
    if receiving is None or not receiving.capabilities.accepts_returns:
        raise NotReturnable(
            f"{data.location} does not accept returns; choose a store or returns desk that does",
            field="location",
        )
    lines = {ln.line_no: ln for ln in repo.lines_of_order(uow.session, order.id)}
    fulfilments = {f.id: f for f in repo.fulfilments_of_order(uow.session, order.id)}
    seen: set[int] = set()
    for item in data.lines:
        _check_returnable(uow, item.line_no, item.quantity, lines, fulfilments, window_days, seen)

    return_id = new_id()
    refunded = Decimal("0.00")
    log_rows: list[dict[str, Any]] = []
    returned: list[dict[str, Any]] = []
    for item in data.lines:
        line = lines[item.line_no]
        if not repo.add_returned_if_within(uow.session, line.id, item.quantity):
            raise NotReturnable(
                f"line {item.line_no}: only {line.quantity - line.quantity_returned} left to"
                " return (returned meanwhile)",
                field="lines",
            )
        change = StockChange(
            sku=line.sku_code,
            location=data.location,
            quantity=item.quantity,
            reason=f"return of {number}" + (f": {item.reason}" if item.reason else ""),
            reference=return_id,
        )
        inventory.restock_return(uow, change, actor=actor)
        if item.condition == "damaged":
            inventory.write_off(uow, change, actor=actor)
        amount = (Decimal(line.unit_price) * item.quantity).quantize(Decimal("0.01"))
        refunded += amount
        entry = {
            "return_id": return_id,
            "line_no": item.line_no,
            "sku": line.sku_code,
            "quantity": item.quantity,
            "condition": item.condition,
            "location": data.location,
            "amount": str(amount),
            "reason": item.reason,
        }
        returned.append(entry)
        log_rows.append(
            {
                "order_id": order.id,
                "fulfilment_id": line.fulfilment_id,
                "action": "returned",
                "from_status": None,
                "to_status": None,
                "actor": actor,
                "detail": entry,
                "created_at": uow.now,
            }
        )
    repo.insert_log(uow.session, log_rows)
    if refunded and order.payment_reference:
        payments.refund(order.payment_reference, refunded)
    uow.record(
        order_event(
            "refunded",
            number,
            tracking_token=order.tracking_token,
            contact_email=order.contact_email,
            customer_id=order.customer_id,
            return_id=return_id,
            location=data.location,
            amount=str(refunded),
            reason=data.lines[0].reason if len(data.lines) == 1 else None,
            lines=returned,
        )
    )
    fresh = repo.get_order_by_id(uow.session, order.id)
    return order_read(uow, fresh)


def _check_returnable(
    uow: UnitOfWork,
    line_no: int,
    quantity: int,
    lines: dict[int, Any],
    fulfilments: dict[str, Any],
    window_days: int,
    seen: set[int],
) -> None:
    if line_no in seen:
        raise NotReturnable(
            f"line {line_no} appears twice; give its total quantity once", field="lines"
        )
    seen.add(line_no)
    line = lines.get(line_no)
    if line is None or line.sku_code is None:
        raise NotReturnable(f"the order has no product line {line_no}", field="lines")
    if line.status != LineStatus.FULFILLED.value:
        raise NotReturnable(
            f"line {line_no} is {line.status}: only shipped or collected items can be returned",
            field="lines",
        )
    left = line.quantity - line.quantity_returned
    if left <= 0:
        raise NotReturnable(f"line {line_no} was already returned in full", field="lines")
    if quantity > left:
        raise NotReturnable(
            f"line {line_no}: {quantity} asked, only {left} of {line.quantity} left to return",
            field="lines",
            returnable=left,
        )
    f = fulfilments.get(line.fulfilment_id)
    if f is not None and f.status in _HANDED_OVER:
        closes = f.updated_at + timedelta(days=window_days)
        if uow.now > closes:
            raise NotReturnable(
                f"line {line_no}: the {window_days}-day return window closed on {closes:%Y-%m-%d}",
                field="lines",
            )
