"""Cancelling an order, some of its lines, or some units of a line, before they are shipped.

Everything asked is checked before anything is written: an unknown line, a line already
shipped, collected or cancelled, a fulfilment past the point of cancelling, or more units than
the line still has open is a 409 ``not-cancellable`` and changes nothing.

A whole line is cancelled in place (``fulfilment.cancel_lines``). Part of a line is split off:
the line keeps the remaining units (its allocation gives up the cancelled ones, so inventory's
counters and ledger say exactly what was released) and a new cancelled line, numbered after the
order's last, holds the cancelled units. Everything that reads lines (capture on shipment,
returns, the loyalty earn, the tracking page, notifications) then sees the open quantity
without knowing about cancellations. The cancelled event names the new line with its
``from_line_no``, so loyalty claws back from the line that earned.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from omniretail.db.uow import UnitOfWork
from omniretail.fulfilment import repository as repo
from omniretail.fulfilment.errors import (
    NotCancellable,
)
from omniretail.fulfilment.moves import move, release_lines, settle, void_lines
from omniretail.fulfilment.refunds import split_line
from omniretail.inventory import service as inventory
from omniretail.inventory.errors import HoldNotActive, UnknownHold
from omniretail.orders.errors import UnknownOrder
from omniretail.orders.events import OrderCancelled
from omniretail.orders.schemas import CancelBody, OrderRead
from omniretail.orders.service import FulfilmentStatus, LineStatus, allowed
from omniretail.routing.service import FulfilmentMethod

S = FulfilmentStatus
M = FulfilmentMethod


def cancel(uow: UnitOfWork, number: str, body: CancelBody, *, actor: str) -> OrderRead:
    """Cancels the whole order (no ``line_nos``/``lines``), whole lines, or ``quantity`` units
    of lines: their stock is released and their amount voided (after commit, through the
    outbox)."""
    order = repo.lock_order(uow.session, number)
    if order is None:
        raise UnknownOrder(f"no order with number {number!r}", field="number")
    lines = repo.lines_of_order(uow.session, order.id)
    field = "lines" if body.lines is not None else "line_nos"
    targets = _targets(number, body, lines, field)
    fulfilments = {f.id: f for f in repo.fulfilments_of_order(uow.session, order.id)}
    for ln, quantity in targets:
        _check(ln, quantity, fulfilments.get(ln.fulfilment_id), field)
    whole = [ln for ln, quantity in targets if quantity == ln.quantity]
    next_no = repo.max_line_no(uow.session, order.id)
    split_off = []
    for ln, quantity in targets:
        if quantity < ln.quantity:
            next_no += 1
            split_off.append(_split_off(uow, order, ln, quantity, next_no, actor))
    cancel_lines(
        uow,
        order,
        whole,
        actor,
        reason=body.reason,
        fulfilments=fulfilments,
        split_off=split_off,
    )
    return settle(uow, order)


def _targets(number: str, body: CancelBody, lines: list[Any], field: str) -> list[tuple[Any, int]]:
    """(line, units to cancel) for every line asked, each once."""
    by_no = {ln.line_no: ln for ln in lines}
    if body.lines is None and body.line_nos is None:
        found = [(ln, ln.quantity) for ln in lines if ln.status == LineStatus.OPEN.value]
        if not found:
            raise NotCancellable(f"order {number} has nothing left to cancel", field=field)
        return found
    asked: list[tuple[int, int | None]] = (
        [(item.line_no, item.quantity) for item in body.lines]
        if body.lines is not None
        else [(n, None) for n in sorted(set(body.line_nos or []))]
    )
    missing = sorted({n for n, _ in asked} - set(by_no))
    if missing:
        raise NotCancellable(f"order {number} has no line(s) {missing}", field=field)
    seen: set[int] = set()
    found = []
    for line_no, quantity in asked:
        if line_no in seen:
            raise NotCancellable(
                f"line {line_no} appears twice; give the units to cancel once", field=field
            )
        seen.add(line_no)
        ln = by_no[line_no]
        found.append((ln, ln.quantity if quantity is None else quantity))
    return found


def _check(ln: Any, quantity: int, f: Any, field: str) -> None:
    if ln.status != LineStatus.OPEN.value or f is None:
        raise NotCancellable(
            f"line {ln.line_no} is {ln.status or 'not a live order line'}"
            + (": shipped or handed over" if ln.status == LineStatus.FULFILLED.value else ""),
            field=field,
        )
    method, status = FulfilmentMethod(f.method), FulfilmentStatus(f.status)
    if not allowed(method, status, FulfilmentStatus.CANCELLED):
        raise NotCancellable(
            f"line {ln.line_no} cannot be cancelled: its fulfilment is {f.status}"
            " (only before shipment)",
            field=field,
            fulfilment_status=f.status,
        )
    if quantity > ln.quantity:
        raise NotCancellable(
            f"line {ln.line_no}: {quantity} to cancel asked, only {ln.quantity} open",
            field=field,
            cancellable=ln.quantity,
        )


def _split_off(
    uow: UnitOfWork, order: Any, ln: Any, quantity: int, line_no: int, actor: str
) -> SplitOff:
    """``quantity`` units leave open line ``ln`` (under the order's row lock) for a new
    cancelled line; its allocation gives them up."""
    if ln.hold_id is not None:
        # Nothing held any more is fine, as for whole lines.
        with suppress(HoldNotActive, UnknownHold):
            inventory.release_part_of_allocation(uow, ln.hold_id, quantity, actor=actor)
    staying, leaving = split_line(ln, [ln.quantity - quantity, quantity], order.currency)
    repo.update_order_line(uow.session, ln.id, {"quantity": ln.quantity - quantity, **staying})
    repo.insert_order_lines(
        uow.session,
        [
            {
                "order_id": order.id,
                "line_no": line_no,
                "sku_code": ln.sku_code,
                "description": ln.description,
                "quantity": quantity,
                "unit_price": ln.unit_price,
                "fulfilment_id": ln.fulfilment_id,
                "hold_id": None,
                "status": LineStatus.CANCELLED.value,
                "quantity_returned": 0,
                **leaving,
            }
        ],
    )
    return SplitOff(
        line_no=line_no,
        sku_code=ln.sku_code,
        quantity=quantity,
        unit_price=ln.unit_price,
        from_line_no=ln.line_no,
        net_amount=leaving.get("net_amount"),
        tax_amount=leaving.get("tax_amount"),
        pricing=leaving.get("pricing"),
    )


@dataclass(frozen=True)
class SplitOff:
    """Units cancelled off an open line: a new cancelled line (``line_no``) split from
    ``from_line_no``, which keeps the rest."""

    line_no: int
    sku_code: str
    quantity: int
    unit_price: Decimal
    from_line_no: int
    # What these units were paid (``fulfilment.refunds.split_line``; None without a breakdown).
    net_amount: Decimal | None = None
    tax_amount: Decimal | None = None
    pricing: dict[str, Any] | None = None


def cancel_lines(
    uow: UnitOfWork,
    order: Any,
    lines: Sequence[Any],
    actor: str,
    *,
    reason: str,
    fulfilments: dict[str, Any] | None = None,
    split_off: Sequence[SplitOff] = (),
) -> None:
    """Whole open ``lines`` are released and cancelled (a fulfilment left without open lines
    is cancelled too); ``split_off`` units were already taken off their lines and released.
    The value of both is voided and one ``cancelled`` event names them all."""
    release_lines(uow, lines, actor)
    repo.set_line_status(uow.session, [ln.id for ln in lines], LineStatus.CANCELLED.value)
    fulfilments = fulfilments or {f.id: f for f in repo.fulfilments_of_order(uow.session, order.id)}
    still_open = {
        ln.fulfilment_id
        for ln in repo.lines_of_order(uow.session, order.id)
        if ln.status == LineStatus.OPEN.value
    }
    for fid in sorted({ln.fulfilment_id for ln in lines}):
        f = fulfilments.get(fid)
        if f is None or fid in still_open or not allowed(M(f.method), S(f.status), S.CANCELLED):
            continue
        move(uow, order, f, S.CANCELLED, actor, {"reason": reason}, detail={"reason": reason})
        if f.capacity_day is not None:
            repo.give_back_capacity(uow.session, f.location_code, f.capacity_day)
    amount = void_lines(uow, order, [*lines, *split_off], actor, purpose=reason)
    uow.record(
        OrderCancelled(
            order=order.number,
            customer_id=order.customer_id,
            reason=reason,
            amount=str(amount),
            partial=bool(still_open),  # some of the order goes ahead
            lines=[
                *(
                    {"line_no": ln.line_no, "sku": ln.sku_code, "quantity": ln.quantity}
                    for ln in lines
                ),
                *(
                    {
                        "line_no": s.line_no,
                        "sku": s.sku_code,
                        "quantity": s.quantity,
                        "from_line_no": s.from_line_no,
                    }
                    for s in split_off
                ),
            ],
        )
    )
