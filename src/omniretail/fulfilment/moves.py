"""The steps every fulfilment change is made of: load under the order's lock, move by a
conditional UPDATE with its audit log row, settle the order's status, fulfil or release the
lines' stock, capture or void their value, and the event a change records."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from omniretail.db.uow import UnitOfWork
from omniretail.fulfilment import repository as repo
from omniretail.fulfilment.errors import IllegalTransition, UnknownFulfilment
from omniretail.fulfilment.refunds import line_amount
from omniretail.inventory import service as inventory
from omniretail.inventory import service as inventory_service
from omniretail.inventory.errors import HoldNotActive, UnknownHold
from omniretail.inventory.schemas import SaleCreate, TransferCreate, TransferLineIn
from omniretail.orders.schemas import OrderRead
from omniretail.orders.service import (
    FulfilmentStatus,
    LineStatus,
    PaymentAction,
    allowed,
    derive_order_status,
    next_steps,
    order_read,
    request_payment,
)
from omniretail.routing.service import FulfilmentMethod

S = FulfilmentStatus
M = FulfilmentMethod


def load(uow: UnitOfWork, fulfilment_id: str) -> tuple[Any, Any]:
    found = repo.get_fulfilment(uow.session, fulfilment_id)
    if found is None:
        raise UnknownFulfilment(f"no fulfilment with id {fulfilment_id!r}", field="id")
    order = repo.lock_order_by_id(uow.session, found.order_id)
    f = repo.get_fulfilment(uow.session, fulfilment_id)  # current under the order's lock
    return order, f


def move(
    uow: UnitOfWork,
    order: Any,
    f: Any,
    to: FulfilmentStatus,
    actor: str,
    values: dict[str, Any] | None = None,
    *,
    detail: dict[str, Any] | None = None,
) -> Any:
    method, current = M(f.method), S(f.status)
    if not allowed(method, current, to):
        raise illegal(f.id, method, current, to)
    row = repo.transition_fulfilment(
        uow.session, f.id, expected=current, to=to, values={"updated_at": uow.now, **(values or {})}
    )
    if row is None:  # another change won the race
        latest = repo.get_fulfilment(uow.session, f.id)
        now_status = S(latest.status) if latest is not None else current
        raise illegal(f.id, method, now_status, to)
    repo.insert_log(
        uow.session,
        [
            repo.log_row(
                uow.now,
                order.id,
                f.id,
                "transition",
                actor,
                detail or {},
                from_status=current.value,
                to_status=to.value,
            )
        ],
    )
    return row


def illegal(
    fid: str, method: FulfilmentMethod, current: FulfilmentStatus, to: FulfilmentStatus
) -> IllegalTransition:
    steps = [s.value for s in next_steps(method, current)]
    return IllegalTransition(
        f"fulfilment {fid} ({method.value}) is {current.value}; it cannot become {to.value}."
        + (f" Next steps: {', '.join(steps)}" if steps else " It is finished."),
        field="status",
        current_status=current.value,
        next_steps=steps,
    )


def settle(uow: UnitOfWork, order: Any) -> OrderRead:
    """Recomputes the order's status from its fulfilments (under the order's row lock)."""
    fulfilments = repo.fulfilments_of_order(uow.session, order.id)
    status = derive_order_status([(M(f.method), S(f.status)) for f in fulfilments])
    if status.value != order.status:
        repo.update_order(uow.session, order.id, {"status": status.value, "updated_at": uow.now})
    fresh = repo.get_order_by_id(uow.session, order.id)
    return order_read(uow, fresh)


def open_lines(uow: UnitOfWork, order: Any, fulfilment_id: str) -> list[Any]:
    return [
        ln
        for ln in repo.lines_of_order(uow.session, order.id)
        if ln.fulfilment_id == fulfilment_id and ln.status == LineStatus.OPEN.value
    ]


def fulfil_lines(uow: UnitOfWork, lines: Sequence[Any], actor: str) -> None:
    for ln in lines:
        if ln.hold_id is not None:
            inventory.fulfil_allocation(uow, ln.hold_id, actor=actor)
    repo.set_line_status(uow.session, [ln.id for ln in lines], LineStatus.FULFILLED.value)


def release_lines(uow: UnitOfWork, lines: Sequence[Any], actor: str) -> None:
    for ln in lines:
        if ln.hold_id is None:
            continue
        try:
            inventory.release_allocation(uow, ln.hold_id, actor=actor)
        except (HoldNotActive, UnknownHold):
            continue  # nothing held any more (e.g. the units are in transit)
        repo.update_order_line(uow.session, ln.id, {"hold_id": None})


def send_to_store(uow: UnitOfWork, order: Any, f: Any, lines: Sequence[Any], actor: str) -> str:
    """The order's allocation at the source becomes a transfer to the pickup store."""
    release_lines(uow, lines, actor)
    totals: dict[str, int] = {}
    for ln in lines:
        totals[ln.sku_code] = totals.get(ln.sku_code, 0) + ln.quantity
    transfer = inventory_service.request_transfer(
        uow,
        TransferCreate(
            from_location=f.location_code,
            to_location=f.pickup_location_code,
            lines=[TransferLineIn(sku=sku, quantity=q) for sku, q in sorted(totals.items())],
            reference=order.number,
        ),
        actor=actor,
    )
    inventory_service.ship_transfer(uow, transfer.id, actor=actor)
    return transfer.id


def receive_at_store(uow: UnitOfWork, order: Any, f: Any, lines: Sequence[Any], actor: str) -> None:
    if f.transfer_id is not None:
        inventory_service.receive_transfer(uow, f.transfer_id, actor=actor)
    for ln in lines:
        hold = inventory_service.allocate_arrived(
            uow,
            SaleCreate(
                sku=ln.sku_code,
                location=f.pickup_location_code,
                channel=order.channel_code,
                quantity=ln.quantity,
                reference=order.number,
            ),
            actor=actor,
        )
        repo.update_order_line(uow.session, ln.id, {"hold_id": hold.id})


def amount_of(lines: Sequence[Any], currency: str) -> Decimal:
    """What the lines' units were paid (their recorded gross: promotions included), not
    unit price x quantity."""
    return sum((line_amount(ln, currency) for ln in lines), Decimal(0))


def capture(
    uow: UnitOfWork, order: Any, fulfilment_id: str, lines: Sequence[Any], actor: str
) -> None:
    amount = amount_of(lines, order.currency)
    if amount and order.payment_reference:
        repo.add_to_order_amounts(uow.session, order.id, captured=amount)
        request_payment(
            uow,
            order,
            PaymentAction.CAPTURE,
            amount,
            reference=order.payment_reference,
            purpose=f"fulfilment {fulfilment_id}",
            actor=actor,
            fulfilment_id=fulfilment_id,
        )


def void_lines(
    uow: UnitOfWork, order: Any, lines: Sequence[Any], actor: str, *, purpose: str
) -> Decimal:
    """The lines' value is released on the card (after commit, through the outbox)."""
    amount = amount_of(lines, order.currency)
    if amount and order.payment_reference:
        repo.add_to_order_amounts(uow.session, order.id, voided=amount)
        request_payment(
            uow,
            order,
            PaymentAction.VOID,
            amount,
            reference=order.payment_reference,
            purpose=purpose,
            actor=actor,
        )
    return amount


def copy_line(line: Any) -> dict[str, Any]:
    return {
        "order_id": line.order_id,
        "sku_code": line.sku_code,
        "description": line.description,
        "unit_price": line.unit_price,
        "status": LineStatus.OPEN.value,
        "quantity_returned": 0,
    }


def line_list(lines: Sequence[Any]) -> list[dict[str, Any]]:
    return [{"line_no": ln.line_no, "sku": ln.sku_code, "quantity": ln.quantity} for ln in lines]
