"""Fulfilment use cases: the state machine per location, rejection with re-routing,
cancelling lines (``cancellation.py`` is the use case), click & collect handover and the
uncollected-order sweep. Captures and voids are recorded as payment instructions that the
outbox relay carries out after commit (``payment_instructions.py``).

Every change locks the order row (so the order's derived status is computed from a current
set of fulfilments), moves the fulfilment by a conditional UPDATE ``WHERE status = :expected``
(an illegal or lost race is a 409, never a silent change), writes the audit log, moves stock
through the inventory service and records the customer-visible event.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from omniretail.db.uow import UnitOfWork
from omniretail.inventory import service as inventory
from omniretail.inventory import service as order_holds
from omniretail.inventory import service as transfers
from omniretail.inventory.errors import HoldNotActive, UnknownHold
from omniretail.inventory.schemas import SaleCreate, StockChange, TransferCreate, TransferLineIn
from omniretail.kernel.ids import new_id
from omniretail.orders import contact, planning
from omniretail.orders import repository as repo
from omniretail.orders.errors import (
    IllegalTransition,
    OverCapacity,
    UnknownFulfilment,
    WrongPickupCode,
)
from omniretail.orders.events import order_event
from omniretail.orders.lookup import order_read
from omniretail.orders.models import (
    COLLECT_AT_SOURCE,
    FulfilmentMethod,
    FulfilmentStatus,
    LineStatus,
    allowed,
    derive_order_status,
    next_steps,
)
from omniretail.orders.payment_instructions import PaymentAction, request_payment
from omniretail.orders.promises import OrderPolicy, local_day, promise
from omniretail.orders.routing import Need, capacity_limited
from omniretail.orders.schemas import (
    CollectBody,
    OrderRead,
    RejectBody,
    ShipBody,
    SweepReport,
)

S = FulfilmentStatus
M = FulfilmentMethod


# --- the plain steps -------------------------------------------------------------------------


def accept(uow: UnitOfWork, fulfilment_id: str, *, actor: str) -> OrderRead:
    return _step(uow, fulfilment_id, S.ACCEPTED, actor)


def start_picking(uow: UnitOfWork, fulfilment_id: str, *, actor: str) -> OrderRead:
    return _step(uow, fulfilment_id, S.PICKING, actor)


def pack(uow: UnitOfWork, fulfilment_id: str, *, actor: str) -> OrderRead:
    return _step(uow, fulfilment_id, S.PACKED, actor)


def deliver(uow: UnitOfWork, fulfilment_id: str, *, actor: str) -> OrderRead:
    order, f = _load(uow, fulfilment_id)
    row = _move(uow, order, f, S.DELIVERED, actor)
    uow.record(_event("delivered", order, row))
    return settle(uow, order)


def _step(uow: UnitOfWork, fulfilment_id: str, to: FulfilmentStatus, actor: str) -> OrderRead:
    order, f = _load(uow, fulfilment_id)
    row = _move(uow, order, f, to, actor)
    uow.record(_event(f"fulfilment_{to.value}", order, row))
    return settle(uow, order)


# --- shipping, arrival, handover ---------------------------------------------------------------


def ship(
    uow: UnitOfWork,
    fulfilment_id: str,
    body: ShipBody,
    *,
    actor: str,
) -> OrderRead:
    """Home delivery and lockers: the units leave stock and their value is captured (after
    commit, through the outbox: ``payment_instructions``).
    Ship-to-store: the allocation becomes a transfer to the pickup store (in transit)."""
    order, f = _load(uow, fulfilment_id)
    lines = _open_lines(uow, order, f.id)
    values: dict[str, Any] = {"carrier": body.carrier, "tracking_number": body.tracking_number}
    if f.method == M.SHIP_TO_STORE.value:
        values["transfer_id"] = _send_to_store(uow, order, f, lines, actor)
        row = _move(uow, order, f, S.SHIPPED, actor, values)
    else:
        row = _move(uow, order, f, S.SHIPPED, actor, values)
        _fulfil_lines(uow, lines, actor)
        _capture(uow, order, f.id, lines, actor)
    uow.record(_event("shipped", order, row, lines=_line_list(lines)))
    return settle(uow, order)


def ready_for_pickup(
    uow: UnitOfWork, fulfilment_id: str, *, policy: OrderPolicy, actor: str
) -> OrderRead:
    """Click & collect packed at the store, a ship-to-store parcel arrived (the transfer is
    received and the units allocated to the order there), or a locker delivery made: a pickup
    code is issued and the collection deadline starts."""
    order, f = _load(uow, fulfilment_id)
    lines = _open_lines(uow, order, f.id)
    if (
        f.method == M.SHIP_TO_STORE.value
        and f.status == S.SHIPPED.value
        and allowed(M.SHIP_TO_STORE, S.SHIPPED, S.READY_FOR_PICKUP)
    ):
        _receive_at_store(uow, order, f, lines, actor)
    code = f"{secrets.randbelow(1_000_000):06d}"
    values = {
        "pickup_code": code,
        "ready_at": uow.now,
        "collect_by": uow.now + timedelta(days=policy.pickup_hold_days),
        "reminders_sent": 0,
    }
    row = _move(uow, order, f, S.READY_FOR_PICKUP, actor, values)
    uow.record(
        _event(
            "ready_for_pickup",
            order,
            row,
            pickup_code=code,
            arrived_at_store=f.method == M.SHIP_TO_STORE.value,
            collect_by=row.collect_by.isoformat(),
            lines=_line_list(lines),
        )
    )
    return settle(uow, order)


def collect(
    uow: UnitOfWork,
    fulfilment_id: str,
    body: CollectBody,
    *,
    actor: str,
) -> OrderRead:
    """Handover needs the pickup code, or an associate's override with a reason (logged)."""
    order, f = _load(uow, fulfilment_id)
    detail: dict[str, Any] = {}
    if body.pickup_code is not None:
        if f.pickup_code is None or not secrets.compare_digest(body.pickup_code, f.pickup_code):
            if body.override_reason is None:
                raise WrongPickupCode(
                    "the pickup code does not match; ask for the code from the customer's"
                    " message, or override with a reason after checking their identity",
                    field="pickup_code",
                )
            detail = {"override": True, "reason": body.override_reason}
        else:
            detail = {"override": False}
    else:
        detail = {"override": True, "reason": body.override_reason}
    lines = _open_lines(uow, order, f.id)
    row = _move(uow, order, f, S.COLLECTED, actor, {}, detail=detail)
    if detail["override"]:
        repo.insert_log(
            uow.session,
            [repo.log_row(uow.now, order.id, f.id, "handover_override", actor, detail)],
        )
    if f.method != M.LOCKER.value:  # locker units left stock when they were shipped
        _fulfil_lines(uow, lines, actor)
        _capture(uow, order, f.id, lines, actor)
    uow.record(_event("collected", order, row, override=detail["override"]))
    return settle(uow, order)


# --- rejection and re-routing -----------------------------------------------------------------


def reject(
    uow: UnitOfWork,
    fulfilment_id: str,
    body: RejectBody,
    *,
    policy: OrderPolicy,
    actor: str,
) -> OrderRead:
    """A location cannot serve (out of stock, damaged, over capacity): its allocations are
    released and the lines routed again, excluding every location that rejected this order.
    Lines no location can take are cancelled and their amount voided."""
    order, f = _load(uow, fulfilment_id)
    lines = _open_lines(uow, order, f.id)
    reason = body.reason + (f": {body.note}" if body.note else "")
    _move(uow, order, f, S.REJECTED, actor, {"reason": reason}, detail={"reason": reason})
    _release_lines(uow, lines, actor)
    if f.capacity_day is not None and body.reason != "over_capacity":
        repo.give_back_capacity(uow.session, f.location_code, f.capacity_day)
    uow.record(
        order_event(
            "fulfilment_rejected",
            order.number,
            fulfilment_id=f.id,
            location=f.location_code,
            reason=body.reason,
            note=body.note,
        )
    )
    excluded = {
        x.location_code
        for x in repo.fulfilments_of_order(uow.session, order.id)
        if x.status == S.REJECTED.value
    }
    _reroute(uow, order, f, lines, frozenset(excluded), policy, actor)
    return settle(uow, order)


def _reroute(
    uow: UnitOfWork,
    order: Any,
    f: Any,
    lines: Sequence[Any],
    excluded: frozenset[str],
    policy: OrderPolicy,
    actor: str,
) -> None:
    method = M(f.method)
    if method in COLLECT_AT_SOURCE:
        method = M.SHIP_TO_STORE  # the pickup store cannot serve: send it there from elsewhere
    delivery = contact.delivery(uow.vault, order) or {}
    destination = (
        (delivery["latitude"], delivery["longitude"])
        if delivery.get("latitude") is not None and delivery.get("longitude") is not None
        else None
    )
    by_key = {str(ln.id): ln for ln in lines}
    version, decision = planning.plan(
        uow,
        [Need(key=k, sku=ln.sku_code, quantity=ln.quantity) for k, ln in by_key.items()],
        method=method,
        channel=order.channel_code,
        destination=destination,
        pickup_location=f.pickup_location_code,
        order_value=order.total,
        exclude=excluded,
    )
    if not decision.ok:
        cancel_lines(uow, order, lines, actor, reason=f"no location left: {decision.summary}")
        return
    known = planning.locations(uow)
    _, rule_set = planning.rules_in_force(uow)
    sites = planning.sites(uow)
    new_rows: list[dict[str, Any]] = []
    line_changes: list[tuple[Any, dict[str, Any]]] = []
    next_no = repo.max_line_no(uow.session, order.id)
    first_take: set[str] = set()
    for a in decision.assignments:
        fid = new_id()
        capacity_day = None
        if capacity_limited(rule_set, a.method, sites[a.location]):
            capacity_day = local_day(uow.now, known[a.location].timezone)
            if not repo.take_capacity_if_left(
                uow.session, a.location, capacity_day, sites[a.location].daily_capacity
            ):
                raise OverCapacity(f"{a.location} filled up while re-routing; retry", field="id")
        pickup = known.get(a.pickup_location) if a.pickup_location else None
        promised = promise(
            a.method,
            uow.now,
            policy,
            source_timezone=known[a.location].timezone,
            pickup_timezone=pickup.timezone if pickup else None,
            pickup_hours=dict(pickup.opening_hours) if pickup else None,
        )
        new_rows.append(
            {
                "id": fid,
                "order_id": order.id,
                "method": a.method.value,
                "status": S.CREATED.value,
                "location_code": a.location,
                "pickup_location_code": a.pickup_location,
                "promised_date": promised.date,
                "capacity_day": capacity_day,
                "reminders_sent": 0,
                "created_at": uow.now,
                "updated_at": uow.now,
            }
        )
        for take in a.takes:
            line = by_key[take.key]
            hold = inventory.allocate_stock(
                uow,
                SaleCreate(
                    sku=line.sku_code,
                    location=a.location,
                    channel=order.channel_code,
                    quantity=take.quantity,
                    reference=order.number,
                ),
                actor=actor,
            )
            values = {"fulfilment_id": fid, "hold_id": hold.id, "quantity": take.quantity}
            if take.key not in first_take:
                first_take.add(take.key)
                line_changes.append((line, values))
            else:
                next_no += 1
                line_changes.append((None, {**_copy_line(line), **values, "line_no": next_no}))
    repo.insert_fulfilments(uow.session, new_rows)
    for line, values in line_changes:
        if line is not None:
            repo.update_order_line(uow.session, line.id, values)
        else:
            repo.insert_order_lines(uow.session, [values])
    repo.insert_log(
        uow.session,
        [
            repo.log_row(
                uow.now,
                order.id,
                row["id"],
                "rerouted",
                actor,
                {"from": f.id},
                to_status=S.CREATED.value,
            )
            for row in new_rows
        ],
    )
    uow.record(
        order_event(
            "rerouted",
            order.number,
            from_fulfilment=f.id,
            excluded=sorted(excluded),
            routing_version=version,
            fulfilments=[
                {
                    "id": r["id"],
                    "location": r["location_code"],
                    "method": r["method"],
                    "promised_date": r["promised_date"].isoformat(),
                }
                for r in new_rows
            ],
        )
    )


# --- cancellation (the use case is ``cancellation.cancel``) -----------------------------------


@dataclass(frozen=True)
class SplitOff:
    """Units cancelled off an open line: a new cancelled line (``line_no``) split from
    ``from_line_no``, which keeps the rest."""

    line_no: int
    sku_code: str
    quantity: int
    unit_price: Decimal
    from_line_no: int


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
    _release_lines(uow, lines, actor)
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
        _move(uow, order, f, S.CANCELLED, actor, {"reason": reason}, detail={"reason": reason})
        if f.capacity_day is not None:
            repo.give_back_capacity(uow.session, f.location_code, f.capacity_day)
    amount = void_lines(uow, order, [*lines, *split_off], actor, purpose=reason)
    uow.record(
        order_event(
            "cancelled",
            order.number,
            tracking_token=order.tracking_token,
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


# --- uncollected orders ----------------------------------------------------------------------


def sweep_pickups(
    uow: UnitOfWork,
    *,
    policy: OrderPolicy,
    actor: str,
    limit: int = 500,
) -> SweepReport:
    """Reminds customers whose pickup deadline is near (``pickup_reminder_days_before``) and
    returns uncollected orders to stock once it passed. Safe to run concurrently: reminders
    and transitions are conditional updates."""
    horizon = uow.now + timedelta(days=max(policy.pickup_reminder_days_before, default=0))
    reminded = returned = 0
    for row in repo.pickups_due(uow.session, horizon, limit):
        if row.collect_by <= uow.now:
            _return_uncollected(uow, row, policy, actor)
            returned += 1
            continue
        due = sum(
            1
            for d in policy.pickup_reminder_days_before
            if uow.now >= row.collect_by - timedelta(days=d)
        )
        if row.reminders_sent < due and repo.count_reminder(
            uow.session, row.id, row.reminders_sent, due, uow.now
        ):
            order = repo.get_order_by_id(uow.session, row.order_id)
            uow.record(
                _event(
                    "pickup_reminder",
                    order,
                    row,
                    reminder=due,
                    pickup_code=row.pickup_code,
                    collect_by=row.collect_by.isoformat(),
                )
            )
            reminded += 1
    return SweepReport(reminded=reminded, returned_to_stock=returned)


def _return_uncollected(uow: UnitOfWork, row: Any, policy: OrderPolicy, actor: str) -> None:
    order, f = _load(uow, row.id)
    lines = _open_lines(uow, order, f.id)
    reason = f"not collected within {policy.pickup_hold_days} days"
    _move(uow, order, f, S.RETURNED_TO_STOCK, actor, {"reason": reason}, detail={"reason": reason})
    if f.method == M.LOCKER.value:
        # The parcel left stock when shipped; the carrier brings it back to the sender.
        for ln in lines:
            inventory.restock_return(
                uow,
                StockChange(
                    sku=ln.sku_code,
                    location=f.location_code,
                    quantity=ln.quantity,
                    reason=reason,
                    reference=order.number,
                ),
                actor=actor,
            )
    else:
        _release_lines(uow, lines, actor)
    repo.set_line_status(uow.session, [ln.id for ln in lines], LineStatus.CANCELLED.value)
    amount = void_lines(uow, order, lines, actor, purpose=reason)
    uow.record(
        _event(
            "cancelled",
            order,
            f,
            reason=reason,
            amount=str(amount),
            lines=_line_list(lines),
        )
    )
    settle(uow, order)


# --- helpers ---------------------------------------------------------------------------------


def _load(uow: UnitOfWork, fulfilment_id: str) -> tuple[Any, Any]:
    found = repo.get_fulfilment(uow.session, fulfilment_id)
    if found is None:
        raise UnknownFulfilment(f"no fulfilment with id {fulfilment_id!r}", field="id")
    order = repo.lock_order_by_id(uow.session, found.order_id)
    f = repo.get_fulfilment(uow.session, fulfilment_id)  # current under the order's lock
    return order, f


def _move(
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
        raise _illegal(f.id, method, current, to)
    row = repo.transition_fulfilment(
        uow.session, f.id, expected=current, to=to, values={"updated_at": uow.now, **(values or {})}
    )
    if row is None:  # another change won the race
        latest = repo.get_fulfilment(uow.session, f.id)
        now_status = S(latest.status) if latest is not None else current
        raise _illegal(f.id, method, now_status, to)
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


def _illegal(
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


def _open_lines(uow: UnitOfWork, order: Any, fulfilment_id: str) -> list[Any]:
    return [
        ln
        for ln in repo.lines_of_order(uow.session, order.id)
        if ln.fulfilment_id == fulfilment_id and ln.status == LineStatus.OPEN.value
    ]


def _fulfil_lines(uow: UnitOfWork, lines: Sequence[Any], actor: str) -> None:
    for ln in lines:
        if ln.hold_id is not None:
            inventory.fulfil_allocation(uow, ln.hold_id, actor=actor)
    repo.set_line_status(uow.session, [ln.id for ln in lines], LineStatus.FULFILLED.value)


def _release_lines(uow: UnitOfWork, lines: Sequence[Any], actor: str) -> None:
    for ln in lines:
        if ln.hold_id is None:
            continue
        try:
            inventory.release_allocation(uow, ln.hold_id, actor=actor)
        except (HoldNotActive, UnknownHold):
            continue  # nothing held any more (e.g. the units are in transit)
        repo.update_order_line(uow.session, ln.id, {"hold_id": None})


def _send_to_store(uow: UnitOfWork, order: Any, f: Any, lines: Sequence[Any], actor: str) -> str:
    """The order's allocation at the source becomes a transfer to the pickup store."""
    _release_lines(uow, lines, actor)
    totals: dict[str, int] = {}
    for ln in lines:
        totals[ln.sku_code] = totals.get(ln.sku_code, 0) + ln.quantity
    transfer = transfers.request_transfer(
        uow,
        TransferCreate(
            from_location=f.location_code,
            to_location=f.pickup_location_code,
            lines=[TransferLineIn(sku=sku, quantity=q) for sku, q in sorted(totals.items())],
            reference=order.number,
        ),
        actor=actor,
    )
    transfers.ship_transfer(uow, transfer.id, actor=actor)
    return transfer.id


def _receive_at_store(
    uow: UnitOfWork, order: Any, f: Any, lines: Sequence[Any], actor: str
) -> None:
    if f.transfer_id is not None:
        transfers.receive_transfer(uow, f.transfer_id, actor=actor)
    for ln in lines:
        hold = order_holds.allocate_arrived(
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


def _amount(lines: Sequence[Any]) -> Decimal:
    return sum((Decimal(ln.unit_price) * ln.quantity for ln in lines), Decimal("0.00")).quantize(
        Decimal("0.01")
    )


def _capture(
    uow: UnitOfWork, order: Any, fulfilment_id: str, lines: Sequence[Any], actor: str
) -> None:
    amount = _amount(lines)
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
    amount = _amount(lines)
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


def _copy_line(line: Any) -> dict[str, Any]:
    return {
        "order_id": line.order_id,
        "sku_code": line.sku_code,
        "description": line.description,
        "unit_price": line.unit_price,
        "status": LineStatus.OPEN.value,
        "quantity_returned": 0,
    }


def _line_list(lines: Sequence[Any]) -> list[dict[str, Any]]:
    return [{"line_no": ln.line_no, "sku": ln.sku_code, "quantity": ln.quantity} for ln in lines]


def _event(name: str, order: Any, f: Any, **data: Any) -> Any:
    return order_event(
        name,
        order.number,
        tracking_token=order.tracking_token,
        customer_id=order.customer_id,
        fulfilment_id=f.id,
        method=f.method,
        location=f.location_code,
        pickup_location=f.pickup_location_code,
        carrier=f.carrier,
        tracking_number=f.tracking_number,
        **data,
    )
