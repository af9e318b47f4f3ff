"""Running the programme over the imported history: every real customer gets a timeline of
their orders, a points balance and a tier.

The backfill computes from scratch, so it works in memory and bulk-inserts lots and entries
(tens of thousands of rows in a few statements) instead of running the live use cases per
order; it writes the same ledger they would (earn, release, clawback, welcome), keyed the
same way, so running it twice changes nothing and live events afterwards stay idempotent.
Simplification: purchases earn at the base tier's rate (tiers are evaluated once, as of now
or the end of a history that runs past now), where live earning uses the tier of the moment.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from omniretail.customers import service as customers
from omniretail.customers.schemas import OrderActivity
from omniretail.db.uow import UnitOfWork
from omniretail.loyalty import repository as repo
from omniretail.loyalty.models import EntryKind, LotStatus
from omniretail.loyalty.schemas import BackfillReport, OrderEarn, OrderLineEarn
from omniretail.loyalty.service.earn import points_for_order
from omniretail.loyalty.service.rules import rules
from omniretail.loyalty.service.tiers import tier_progress


@dataclass
class _Account:
    available: int = 0
    pending: int = 0
    owed: int = 0
    enrolled_at: datetime | None = None


@dataclass
class _Plan:
    lots: list[dict[str, Any]] = field(default_factory=list)
    entries: list[dict[str, Any]] = field(default_factory=list)
    accounts: dict[int, _Account] = field(default_factory=lambda: defaultdict(_Account))


def backfill_history(
    uow: UnitOfWork, *, as_of: datetime | None = None, actor: str
) -> BackfillReport:
    session = uow.session
    programme = rules(uow)
    orders = repo.history_orders(session)
    if not orders:
        return BackfillReport(
            customers=0,
            orders_projected=0,
            orders_earned=0,
            clawbacks=0,
            points_earned=0,
            accounts=0,
            tiers={},
            as_of=as_of or uow.now,
        )
    # As of now (a history in the past: tiers count the last year's purchases, as they are
    # shown), or just after a history that runs into the future.
    as_of = as_of or max(uow.now, max(o.placed_at for o in orders) + timedelta(seconds=1))
    lines_by_order: dict[int, list[Any]] = defaultdict(list)
    for line in repo.history_lines(session):
        lines_by_order[line.order_id].append(line)
    projected = _project_timeline(uow, orders, lines_by_order)

    existing = repo.existing_entry_keys(session, [f"earn:order:{o.number}" for o in orders])
    known_accounts = set(repo.all_account_ids(session))
    plan = _Plan()
    lot_of_line: dict[int, tuple[int, str, int, int, Decimal, Any]] = {}
    lot_index: dict[str, int] = {}
    earned = clawbacks = points_total = 0
    customers_seen: set[int] = set()
    for order in orders:
        customers_seen.add(order.customer_id)
        if order.customer_id not in known_accounts:
            _welcome(plan, order.customer_id, order.placed_at, programme, uow.now, actor)
            known_accounts.add(order.customer_id)
        if order.kind == "sale" and f"earn:order:{order.number}" not in existing:
            points_total += _earn(
                plan,
                order,
                lines_by_order[order.id],
                programme,
                as_of,
                uow.now,
                actor,
                lot_of_line,
                lot_index,
            )
            earned += 1
        elif order.kind == "cancellation":
            clawbacks += _claw_back(
                plan, order, lines_by_order[order.id], lot_of_line, lot_index, uow.now, actor
            )
    _write(uow, plan, known_accounts)
    tiers: dict[str, int] = defaultdict(int)
    for customer_id in sorted(customers_seen):
        progress = tier_progress(_AsOf(uow, as_of), [customer_id], programme)  # type: ignore[arg-type]
        repo.set_tier(session, customer_id, progress.tier, as_of)
        tiers[progress.tier] += 1
    return BackfillReport(
        customers=len(customers_seen),
        orders_projected=projected,
        orders_earned=earned,
        clawbacks=clawbacks,
        points_earned=points_total,
        accounts=len(plan.accounts),
        tiers=dict(tiers),
        as_of=as_of,
    )


class _AsOf:
    """A unit-of-work view whose ``now`` is the backfill's as-of time (tier windows)."""

    def __init__(self, uow: UnitOfWork, now: datetime) -> None:
        self.session = uow.session
        self.now = now


def _project_timeline(uow: UnitOfWork, orders: list[Any], lines: dict[int, list[Any]]) -> int:
    projected = 0
    batch: list[OrderActivity] = []
    for order in orders:
        batch.append(
            OrderActivity(
                customer_id=order.customer_id,
                number=order.number,
                channel=order.channel_code,
                placed_at=order.placed_at,
                total=Decimal(order.total),
                kind="order" if order.kind == "sale" else "return",
                status="completed" if order.kind == "sale" else "closed",
                lines=len(lines.get(order.id, [])),
                source_key=f"order:{order.number}",
            )
        )
        if len(batch) == 2000:
            projected += customers.record_orders(uow, batch)
            batch = []
    if batch:
        projected += customers.record_orders(uow, batch)
    return projected


def _entry(
    customer_id: int,
    kind: EntryKind,
    key: str,
    now: datetime,
    effective: datetime,
    actor: str,
    **values: Any,
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "customer_id": customer_id,
        "kind": kind.value,
        "points": 0,
        "pending_delta": 0,
        "owed_delta": 0,
        "spend": Decimal(0),
        "lot_id": None,
        "source_key": key,
        "reference": None,
        "channel": None,
        "actor": actor,
        "created_at": now,
        "effective_at": effective,
        "data": {},
    }
    row.update(values)
    return row


def _welcome(
    plan: _Plan, customer_id: int, at: datetime, programme: Any, now: datetime, actor: str
) -> None:
    account = plan.accounts[customer_id]
    account.enrolled_at = at
    if not programme.welcome_points:
        return
    key = f"welcome:{customer_id}"
    plan.lots.append(
        {
            "customer_id": customer_id,
            "source_key": key,
            "points": programme.welcome_points,
            "remaining": programme.welcome_points,
            "status": LotStatus.AVAILABLE.value,
            "available_at": at,
            "expires_at": at + timedelta(days=programme.expiry_days),
            "created_at": now,
        }
    )
    plan.entries.append(
        _entry(
            customer_id,
            EntryKind.REWARD,
            key,
            now,
            at,
            actor,
            points=programme.welcome_points,
            reference="welcome",
            data={"lot_key": key},
        )
    )
    account.available += programme.welcome_points


def _earn(
    plan: _Plan,
    order: Any,
    lines: list[Any],
    programme: Any,
    as_of: datetime,
    now: datetime,
    actor: str,
    lot_of_line: dict[int, Any],
    lot_index: dict[str, int],
) -> int:
    earn = OrderEarn(
        customer_id=order.customer_id,
        order_reference=order.number,
        channel=order.channel_code,
        placed_at=order.placed_at,
        lines=[
            OrderLineEarn(
                line_id=ln.id,
                amount=Decimal(ln.unit_price) * ln.quantity,
                quantity=ln.quantity,
                category=ln.category,
            )
            for ln in lines
            if ln.quantity > 0
        ],
    )
    per_line, spend, bonus = points_for_order(earn, programme, Decimal(1))
    points = sum(per_line.values()) + bonus
    key = f"earn:order:{order.number}"
    available_at = order.placed_at + timedelta(days=programme.return_window_days)
    matured = available_at <= as_of
    account = plan.accounts[order.customer_id]
    if points > 0:
        lot_index[key] = len(plan.lots)
        plan.lots.append(
            {
                "customer_id": order.customer_id,
                "source_key": key,
                "points": points,
                "remaining": points,
                "status": LotStatus.AVAILABLE.value if matured else LotStatus.PENDING.value,
                "available_at": available_at,
                "expires_at": available_at + timedelta(days=programme.expiry_days),
                "created_at": now,
            }
        )
    plan.entries.append(
        _entry(
            order.customer_id,
            EntryKind.EARN,
            key,
            now,
            order.placed_at,
            actor,
            pending_delta=points,
            spend=spend,
            reference=order.number,
            channel=order.channel_code,
            data={
                "lot_key": key if points else None,
                "lines": {str(k): v for k, v in per_line.items()},
                "line_amounts": {str(ln.line_id): str(ln.amount) for ln in earn.lines},
                "line_quantities": {str(ln.line_id): ln.quantity for ln in earn.lines},
                "bonus": bonus,
                "multiplier": "1",
            },
        )
    )
    account.pending += points
    for ln in earn.lines:
        lot_of_line[ln.line_id] = (
            order.customer_id,
            order.number,
            per_line.get(ln.line_id, 0),
            ln.quantity,
            ln.amount,
            order.channel_code,
        )
    if matured and points > 0:
        plan.entries.append(
            _entry(
                order.customer_id,
                EntryKind.RELEASE,
                f"release:order:{order.number}",
                now,
                available_at,
                actor,
                points=points,
                pending_delta=-points,
                reference=order.number,
                data={"lot_key": key},
            )
        )
        account.pending -= points
        account.available += points
    return points


def _claw_back(
    plan: _Plan,
    order: Any,
    lines: list[Any],
    lot_of_line: dict[int, Any],
    lot_index: dict[str, int],
    now: datetime,
    actor: str,
) -> int:
    count = 0
    for line in lines:
        if line.cancels_line_id is None or line.cancels_line_id not in lot_of_line:
            continue
        owner, number, line_points, line_qty, amount, channel = lot_of_line[line.cancels_line_id]
        returned = min(line_qty, abs(line.quantity))
        points = line_points * returned // line_qty
        key = f"clawback:history:{line.id}"
        lot_key = f"earn:order:{number}"
        lot = plan.lots[lot_index[lot_key]] if lot_key in lot_index else None
        taken = min(points, lot["remaining"]) if lot else 0
        pending = lot is not None and lot["status"] == LotStatus.PENDING.value
        if lot is not None:
            lot["remaining"] -= taken
            if lot["remaining"] == 0:
                lot["status"] = LotStatus.CLOSED.value
        account = plan.accounts[owner]
        rest = points - taken
        if pending:
            account.pending -= taken
        else:
            account.available -= taken
        account.owed += rest
        plan.entries.append(
            _entry(
                owner,
                EntryKind.CLAWBACK,
                key,
                now,
                order.placed_at,
                actor,
                points=0 if pending else -taken,
                pending_delta=-taken if pending else 0,
                owed_delta=rest,
                spend=-(amount * returned / line_qty),
                reference=number,
                channel=channel,
                data={
                    "order_line_id": line.cancels_line_id,
                    "quantity": returned,
                    "points": points,
                    "lot_key": lot_key,
                    "cancellation": order.number,
                },
            )
        )
        count += 1
    return count


def _write(uow: UnitOfWork, plan: _Plan, known: set[int]) -> None:
    session = uow.session
    existing = set(repo.all_account_ids(session))
    new_accounts = [
        {
            "customer_id": cid,
            "available": a.available,
            "pending": a.pending,
            "owed": a.owed,
            "tier": rules(uow).tiers[0].name,
            "tier_changed_at": a.enrolled_at or uow.now,
            "enrolled_at": a.enrolled_at or uow.now,
            "updated_at": uow.now,
        }
        for cid, a in sorted(plan.accounts.items())
        if cid not in existing
    ]
    repo.bulk_insert(session, repo.accounts, new_accounts)
    for cid, a in sorted(plan.accounts.items()):
        if cid in existing:
            repo.apply_to_account(
                session, cid, uow.now, available=a.available, pending=a.pending, owed=a.owed
            )
    repo.bulk_insert(session, repo.lots, plan.lots)
    ids = repo.lot_ids_by_key(session, [lot["source_key"] for lot in plan.lots])
    for entry in plan.entries:
        lot_key = entry["data"].pop("lot_key", None)
        entry["lot_id"] = ids.get(lot_key) if lot_key else None
    repo.bulk_insert(session, repo.entries, plan.entries)
    del known
