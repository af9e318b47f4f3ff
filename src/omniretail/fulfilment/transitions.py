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
from datetime import timedelta
from typing import Any

from omniretail.db.uow import UnitOfWork
from omniretail.fulfilment import repository as repo
from omniretail.fulfilment.cancellation import cancel_lines
from omniretail.fulfilment.events import (
    Collected,
    Delivered,
    FulfilmentAccepted,
    FulfilmentEvent,
    FulfilmentPacked,
    FulfilmentPicking,
    FulfilmentRejected,
    PickupReminder,
    ReadyForPickup,
    Rerouted,
    ReroutedFulfilment,
    Shipped,
)
from omniretail.fulfilment.moves import (
    capture,
    copy_line,
    fulfil_lines,
    line_list,
    load,
    move,
    open_lines,
    receive_at_store,
    release_lines,
    send_to_store,
    settle,
    void_lines,
)
from omniretail.fulfilment.pickup_codes import handover_detail
from omniretail.fulfilment.refunds import split_line
from omniretail.fulfilment.schemas import CollectBody, RejectBody, ShipBody, SweepReport
from omniretail.inventory import service as inventory
from omniretail.inventory.schemas import SaleCreate, StockChange
from omniretail.kernel.ids import new_id
from omniretail.orders import service as orders
from omniretail.orders.events import OrderCancelled
from omniretail.orders.schemas import OrderRead
from omniretail.orders.service import FulfilmentStatus, LineStatus, allowed
from omniretail.routing import service as routing
from omniretail.routing.errors import OverCapacity
from omniretail.routing.service import (
    COLLECT_AT_SOURCE,
    FulfilmentMethod,
    Need,
    OrderPolicy,
    capacity_limited,
    local_day,
    promise,
)

S = FulfilmentStatus
M = FulfilmentMethod

_STEP_EVENTS: dict[FulfilmentStatus, type[FulfilmentEvent]] = {
    S.ACCEPTED: FulfilmentAccepted,
    S.PICKING: FulfilmentPicking,
    S.PACKED: FulfilmentPacked,
}


def accept(uow: UnitOfWork, fulfilment_id: str, *, actor: str) -> OrderRead:
    return _step(uow, fulfilment_id, S.ACCEPTED, actor)


def start_picking(uow: UnitOfWork, fulfilment_id: str, *, actor: str) -> OrderRead:
    return _step(uow, fulfilment_id, S.PICKING, actor)


def pack(uow: UnitOfWork, fulfilment_id: str, *, actor: str) -> OrderRead:
    return _step(uow, fulfilment_id, S.PACKED, actor)


def deliver(uow: UnitOfWork, fulfilment_id: str, *, actor: str) -> OrderRead:
    order, f = load(uow, fulfilment_id)
    row = move(uow, order, f, S.DELIVERED, actor)
    uow.record(Delivered.of(order, row))
    return settle(uow, order)


def _step(uow: UnitOfWork, fulfilment_id: str, to: FulfilmentStatus, actor: str) -> OrderRead:
    order, f = load(uow, fulfilment_id)
    row = move(uow, order, f, to, actor)
    uow.record(_STEP_EVENTS[to].of(order, row))
    return settle(uow, order)


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
    order, f = load(uow, fulfilment_id)
    lines = open_lines(uow, order, f.id)
    values: dict[str, Any] = {"carrier": body.carrier, "tracking_number": body.tracking_number}
    if f.method == M.SHIP_TO_STORE.value:
        values["transfer_id"] = send_to_store(uow, order, f, lines, actor)
        row = move(uow, order, f, S.SHIPPED, actor, values)
    else:
        row = move(uow, order, f, S.SHIPPED, actor, values)
        fulfil_lines(uow, lines, actor)
        capture(uow, order, f.id, lines, actor)
    uow.record(Shipped.of(order, row, lines=line_list(lines)))
    return settle(uow, order)


def ready_for_pickup(
    uow: UnitOfWork, fulfilment_id: str, *, policy: OrderPolicy, actor: str
) -> OrderRead:
    """Click & collect packed at the store, a ship-to-store parcel arrived (the transfer is
    received and the units allocated to the order there), or a locker delivery made: a pickup
    code is issued and the collection deadline starts."""
    order, f = load(uow, fulfilment_id)
    lines = open_lines(uow, order, f.id)
    if (
        f.method == M.SHIP_TO_STORE.value
        and f.status == S.SHIPPED.value
        and allowed(M.SHIP_TO_STORE, S.SHIPPED, S.READY_FOR_PICKUP)
    ):
        receive_at_store(uow, order, f, lines, actor)
    code = f"{secrets.randbelow(1_000_000):06d}"
    values = {
        "pickup_code_enc": orders.seal_pickup_code(uow.vault, code),
        "ready_at": uow.now,
        "collect_by": uow.now + timedelta(days=policy.pickup_hold_days),
        "reminders_sent": 0,
        "pickup_code_tries": 0,
    }
    row = move(uow, order, f, S.READY_FOR_PICKUP, actor, values)
    uow.record(
        ReadyForPickup.of(
            order,
            row,
            arrived_at_store=f.method == M.SHIP_TO_STORE.value,
            collect_by=row.collect_by.isoformat(),
            lines=line_list(lines),
        )
    )
    return settle(uow, order)


def collect(
    uow: UnitOfWork,
    fulfilment_id: str,
    body: CollectBody,
    *,
    actor: str,
    tried: bool = False,
) -> OrderRead:
    """Handover needs the pickup code, or an associate's override with a reason (logged).
    ``tried``: the code was counted by ``try_pickup_code`` first (``pickup_codes``: after
    ``PICKUP_CODE_TRIES`` codes only an override hands it over)."""
    order, f = load(uow, fulfilment_id)
    detail = handover_detail(uow, f, body, tried=tried)
    lines = open_lines(uow, order, f.id)
    row = move(uow, order, f, S.COLLECTED, actor, {}, detail=detail)
    if detail["override"]:
        repo.insert_log(
            uow.session,
            [repo.log_row(uow.now, order.id, f.id, "handover_override", actor, detail)],
        )
    if f.method != M.LOCKER.value:  # locker units left stock when they were shipped
        fulfil_lines(uow, lines, actor)
        capture(uow, order, f.id, lines, actor)
    uow.record(Collected.of(order, row, override=bool(detail["override"])))
    return settle(uow, order)


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
    order, f = load(uow, fulfilment_id)
    lines = open_lines(uow, order, f.id)
    reason = body.reason + (f": {body.note}" if body.note else "")
    move(uow, order, f, S.REJECTED, actor, {"reason": reason}, detail={"reason": reason})
    release_lines(uow, lines, actor)
    if f.capacity_day is not None and body.reason != "over_capacity":
        repo.give_back_capacity(uow.session, f.location_code, f.capacity_day)
    uow.record(
        FulfilmentRejected(
            order=order.number,
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
    delivery = orders.delivery(uow.vault, order) or {}
    destination = (
        (delivery["latitude"], delivery["longitude"])
        if delivery.get("latitude") is not None and delivery.get("longitude") is not None
        else None
    )
    by_key = {str(ln.id): ln for ln in lines}
    version, decision = routing.plan(
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
    known = routing.locations(uow)
    _, rule_set = routing.rules_in_force(uow)
    sites = routing.sites(uow)
    new_rows: list[dict[str, Any]] = []
    line_changes: list[tuple[Any, bool, dict[str, Any]]] = []  # (line, its first take, row)
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
                line_changes.append((line, True, values))
            else:
                next_no += 1
                copied = {**copy_line(line), **values, "line_no": next_no}
                line_changes.append((line, False, copied))
    repo.insert_fulfilments(uow.session, new_rows)
    _share_amounts(line_changes, order.currency)
    for line, first, values in line_changes:
        if first:
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
        Rerouted(
            order=order.number,
            from_fulfilment=f.id,
            excluded=sorted(excluded),
            routing_version=version,
            fulfilments=[
                ReroutedFulfilment(
                    id=r["id"],
                    location=r["location_code"],
                    method=r["method"],
                    promised_date=r["promised_date"].isoformat(),
                )
                for r in new_rows
            ],
        )
    )


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
                PickupReminder.of(
                    order,
                    row,
                    reminder=due,
                    collect_by=row.collect_by.isoformat(),
                )
            )
            reminded += 1
    return SweepReport(reminded=reminded, returned_to_stock=returned)


def _return_uncollected(uow: UnitOfWork, row: Any, policy: OrderPolicy, actor: str) -> None:
    order, f = load(uow, row.id)
    lines = open_lines(uow, order, f.id)
    reason = f"not collected within {policy.pickup_hold_days} days"
    move(uow, order, f, S.RETURNED_TO_STOCK, actor, {"reason": reason}, detail={"reason": reason})
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
        release_lines(uow, lines, actor)
    repo.set_line_status(uow.session, [ln.id for ln in lines], LineStatus.CANCELLED.value)
    amount = void_lines(uow, order, lines, actor, purpose=reason)
    uow.record(
        OrderCancelled(
            order=order.number,
            customer_id=order.customer_id,
            fulfilment_id=f.id,
            method=f.method,
            location=f.location_code,
            pickup_location=f.pickup_location_code,
            carrier=f.carrier,
            tracking_number=f.tracking_number,
            reason=reason,
            amount=str(amount),
            lines=line_list(lines),
        )
    )
    settle(uow, order)


def _share_amounts(changes: list[tuple[Any, bool, dict[str, Any]]], currency: str) -> None:
    """A line re-routed over several fulfilments shares its paid amounts over the rows in
    proportion to their units (``fulfilment.refunds.split_line``)."""
    rows: dict[int, list[dict[str, Any]]] = {}
    lines: dict[int, Any] = {}
    for line, _first, values in changes:
        rows.setdefault(line.id, []).append(values)
        lines[line.id] = line
    for line_id, parts in rows.items():
        if len(parts) < 2:
            continue
        shares = split_line(lines[line_id], [p["quantity"] for p in parts], currency)
        for values, share in zip(parts, shares, strict=True):
            values.update(share)
