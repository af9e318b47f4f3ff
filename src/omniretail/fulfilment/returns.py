"""Returns and exchanges anywhere (BORIS included): an order bought on any channel is returned
at any location that accepts returns (a store counter, or the returns desk of a warehouse for
parcels sent back by post); an exchange is a return plus new items handed over at the counter,
the price difference charged to the original payment method's token or refunded to it.

Sellable items are restocked at the receiving location; damaged ones are received and written
off there (so the ledger shows both). The refund goes to the original payment. A line can be
returned up to its fulfilled quantity, inside the return window counted from its delivery or
handover; ``quantity_returned`` only grows by a conditional UPDATE, so two desks returning the
same item at once cannot both succeed. Each returned line, refund and charge is logged
(``fulfilment_log``: ``returned``, ``refund``, ``charge``); refunds emit ``orders.refunded``,
exchanges ``orders.exchanged``. Refunds and the capture of an exchange's charge are payment
instructions carried out after commit (``payment_instructions``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from decimal import Decimal
from typing import Any

from omniretail.db.uow import UnitOfWork
from omniretail.fulfilment import refunds
from omniretail.fulfilment import repository as repo
from omniretail.fulfilment.errors import NotReturnable
from omniretail.fulfilment.schemas import ExchangeCreate, ReturnCreate, ReturnLine
from omniretail.inventory import service as inventory
from omniretail.inventory.schemas import SaleCreate, StockChange
from omniretail.kernel.ids import new_id
from omniretail.kernel.money import round_money
from omniretail.orders.errors import PaymentDeclined, PaymentUnavailable, UnknownOrder
from omniretail.orders.events import OrderExchanged, OrderRefunded
from omniretail.orders.schemas import OrderRead
from omniretail.orders.service import (
    Declined,
    FulfilmentStatus,
    LineStatus,
    PaymentAction,
    PaymentProvider,
    ProviderTimeout,
    is_live,
    order_read,
    payment_token,
    request_payment,
)
from omniretail.pricing import service as pricing
from omniretail.pricing.service import LineRequest
from omniretail.routing import service as routing
from omniretail.routing.service import FulfilmentMethod, local_day

S = FulfilmentStatus
# The moment a line's return window starts: it reached the customer.
_HANDED_OVER = (S.DELIVERED.value, S.COLLECTED.value, S.SHIPPED.value)


def return_items(
    uow: UnitOfWork,
    number: str,
    data: ReturnCreate,
    *,
    window_days: int,
    actor: str,
    return_id: str | None = None,
) -> OrderRead:
    """``return_id``: the return's id when the caller needs to know it (a return request)."""
    order = _lock_live_order(uow, number)
    return_id = return_id or new_id()
    computed, returned = _book_returns(uow, order, data, return_id, window_days, actor)
    _refund(
        uow,
        order,
        computed.amount,
        return_id,
        actor,
        {**computed.detail(), "kind": "return", "location": data.location},
    )
    uow.record(
        _refunded_event(order, return_id, data.location, computed.amount, data.lines, returned)
    )
    fresh = repo.get_order_by_id(uow.session, order.id)
    return order_read(uow, fresh)


def exchange_items(
    uow: UnitOfWork,
    number: str,
    data: ExchangeCreate,
    *,
    window_days: int,
    payments: PaymentProvider,
    actor: str,
) -> OrderRead:
    """Return plus new items handed over at the same counter: the returned items are booked
    as a return, the new ones leave the store's stock now and join the order as collected
    lines; the price difference is charged to the original payment method (its provider
    token) or refunded to it. The difference is authorised now (a refusal is reported at
    once; the caller voids it by ``compensating`` if the transaction does not commit) and
    captured after commit, as the refund is, through the outbox."""
    order = _lock_live_order(uow, number)
    exchange_id = new_id()
    credit, returned = _book_returns(
        uow,
        order,
        ReturnCreate(location=data.location, lines=data.returns),
        exchange_id,
        window_days,
        actor,
    )
    channel = data.channel or order.channel_code
    context = pricing.context_for(
        uow, channel, customer_id=order.customer_id, location=data.location
    )
    priced = pricing.price_cart(
        uow,
        context,
        [LineRequest(str(i), n.sku, n.quantity) for i, n in enumerate(data.new_lines)],
    )
    new_rows: list[dict[str, Any]] = []
    fulfilment_id = new_id()
    next_no = repo.max_line_no(uow.session, order.id)
    new_value = Decimal("0.00")
    for i, item in enumerate(data.new_lines):
        line = priced.line(str(i))
        if line.name is None:
            raise NotReturnable(f"no SKU with code {item.sku!r}", field="new_lines")
        if line.unit_price is None or line.gross is None or not line.active:
            raise NotReturnable(f"{item.sku} is not for sale on {channel}", field="new_lines")
        inventory.sell_stock(
            uow,
            SaleCreate(
                sku=item.sku,
                location=data.location,
                channel=channel,
                quantity=item.quantity,
                reference=exchange_id,
            ),
            actor=actor,
        )
        next_no += 1
        new_value += line.gross
        new_rows.append(
            {
                "order_id": order.id,
                "line_no": next_no,
                "sku_code": item.sku,
                "description": line.name,
                "quantity": item.quantity,
                "unit_price": line.unit_price,
                "net_amount": line.net,
                "tax_amount": line.tax,
                "pricing": {
                    **pricing.breakdown(
                        line,
                        {
                            "net": line.net or Decimal(0),
                            "tax": line.tax or Decimal(0),
                            "gross": line.gross,
                        },
                        context.currency,
                    ),
                    refunds.EXCHANGE_KEY: exchange_id,  # priced on its own, not with the sale
                },
                "fulfilment_id": fulfilment_id,
                "hold_id": None,
                "status": LineStatus.FULFILLED.value,
                "quantity_returned": 0,
            }
        )
    known = routing.locations(uow)
    repo.insert_fulfilments(
        uow.session,
        [
            {
                "id": fulfilment_id,
                "order_id": order.id,
                "method": FulfilmentMethod.PICKUP_IN_STORE.value,
                "status": S.COLLECTED.value,
                "location_code": data.location,
                "pickup_location_code": data.location,
                "promised_date": local_day(uow.now, known[data.location].timezone),
                "reason": f"exchange {exchange_id}",
                "reminders_sent": 0,
                "created_at": uow.now,
                "updated_at": uow.now,
            }
        ],
    )
    repo.insert_order_lines(uow.session, new_rows)
    difference = round_money(new_value - credit.amount, order.currency)
    if difference > 0:
        _charge(uow, order, difference, exchange_id, payments, actor)
    elif difference < 0:
        detail = {
            **credit.detail(),
            "kind": "exchange",
            "location": data.location,
            "credit": str(credit.amount),
            "new_items": str(new_value),
        }
        _refund(uow, order, -difference, exchange_id, actor, detail)
    uow.record(
        OrderExchanged(
            order=order.number,
            customer_id=order.customer_id,
            exchange_id=exchange_id,
            location=data.location,
            returned=returned,
            new_lines=[{"sku": r["sku_code"], "quantity": r["quantity"]} for r in new_rows],
            difference=str(difference),
        )
    )
    if difference < 0:
        uow.record(
            _refunded_event(order, exchange_id, data.location, -difference, data.returns, returned)
        )
    fresh = repo.get_order_by_id(uow.session, order.id)
    return order_read(uow, fresh)


def _lock_live_order(uow: UnitOfWork, number: str) -> Any:
    order = repo.lock_order(uow.session, number)
    if order is None or not is_live(order):
        raise UnknownOrder(f"no order with number {number!r}", field="number")
    return order


def _book_returns(
    uow: UnitOfWork,
    order: Any,
    data: ReturnCreate,
    return_id: str,
    window_days: int,
    actor: str,
) -> tuple[refunds.Computed, list[dict[str, Any]]]:
    """Checks every line first, works out the refund (``fulfilment.refunds``), then books the
    units back and logs them; returns the refund and the log entries."""
    receiving = routing.locations(uow).get(data.location)
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
    computed = refunds.compute_refund(
        uow,
        order,
        list(lines.values()),
        {item.line_no: item.quantity for item in data.lines},
        refunds.credited_before(repo.log_of_order(uow.session, order.id)),
    )
    shares = {ln.line_no: ln.amount for ln in computed.lines}
    entries: list[dict[str, Any]] = []
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
            reason=f"return of {order.number}" + (f": {item.reason}" if item.reason else ""),
            reference=return_id,
        )
        inventory.restock_return(uow, change, actor=actor)
        if item.condition == "damaged":
            inventory.write_off(uow, change, actor=actor)
        amount = shares[item.line_no]
        entries.append(
            {
                "return_id": return_id,
                "line_no": item.line_no,
                "fulfilment_id": line.fulfilment_id,
                "sku": line.sku_code,
                "quantity": item.quantity,
                "condition": item.condition,
                "location": data.location,
                "amount": str(amount),
                "reason": item.reason,
            }
        )
    repo.insert_log(
        uow.session,
        [
            repo.log_row(uow.now, order.id, e.pop("fulfilment_id"), "returned", actor, e)
            for e in entries
        ],
    )
    return computed, entries


def _refund(
    uow: UnitOfWork,
    order: Any,
    amount: Decimal,
    reference: str,
    actor: str,
    breakdown: dict[str, Any],
) -> None:
    """Logs the refund with its breakdown (a return's even when it refunds nothing: the
    breakdown says why) and asks the provider to pay it back after commit."""
    repo.insert_log(
        uow.session,
        [
            repo.log_row(
                uow.now,
                order.id,
                None,
                "refund",
                actor,
                {"amount": str(amount), "for": reference, **breakdown},
            )
        ],
    )
    if amount > 0 and order.payment_reference:
        request_payment(
            uow,
            order,
            PaymentAction.REFUND,
            amount,
            reference=order.payment_reference,
            purpose=reference,
            actor=actor,
        )


def _charge(
    uow: UnitOfWork,
    order: Any,
    amount: Decimal,
    reference: str,
    payments: PaymentProvider,
    actor: str,
) -> None:
    token = payment_token(uow.vault, order)
    if not token:
        raise NotReturnable("the order has no stored payment token to charge", field="number")
    try:
        auth = payments.authorise(token, amount, order.currency, key=reference)
    except Declined as exc:
        raise PaymentDeclined(exc.reason, field="new_lines") from exc
    except ProviderTimeout as exc:
        raise PaymentUnavailable("the payment provider did not answer; try again") from exc
    repo.insert_log(
        uow.session,
        [
            repo.log_row(
                uow.now,
                order.id,
                None,
                "charge",
                actor,
                {"amount": str(amount), "for": reference, "authorisation": auth.reference},
            )
        ],
    )
    request_payment(
        uow,
        order,
        PaymentAction.CAPTURE,
        amount,
        reference=auth.reference,
        purpose=reference,
        actor=actor,
    )


def _refunded_event(
    order: Any,
    return_id: str,
    location: str,
    amount: Decimal,
    items: Sequence[ReturnLine],
    returned: list[dict[str, Any]],
) -> OrderRefunded:
    return OrderRefunded(
        order=order.number,
        customer_id=order.customer_id,
        return_id=return_id,
        location=location,
        amount=str(amount),
        reason=items[0].reason if len(items) == 1 else None,
        lines=returned,
    )


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
