"""Enrolment, points for an order, and clawback of cancelled or returned lines."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from omniretail.customers import service as customers
from omniretail.db.uow import UnitOfWork
from omniretail.loyalty import repository as repo
from omniretail.loyalty.errors import (
    UnknownOrderEarn,
)
from omniretail.loyalty.events import (
    ClawedBack,
    Earned,
)
from omniretail.loyalty.models import (
    Entry,
    EntryKind,
    Lot,
    LotStatus,
)
from omniretail.loyalty.schemas import (
    EntryRead,
    ExtraPoints,
    OrderEarn,
    OrderLineRef,
    ProgrammeRules,
    ReturnLine,
)
from omniretail.loyalty.service.awards import _ensure_account
from omniretail.loyalty.service.reads import entry_read
from omniretail.loyalty.service.rules import rules
from omniretail.loyalty.service.tiers import evaluate_tier, settle_tier, tier_multiplier

# --- enrolment and earning -----------------------------------------------------------------


def earn_for_order(uow: UnitOfWork, order: OrderEarn, *, actor: str) -> EntryRead | None:
    """Points for a purchase, pending until its return window closes. Keyed by the order, so
    a replayed event earns nothing twice. Returns None when already earned."""
    key = _earn_key(order)
    if repo.entry_exists(uow.session, key):
        return None
    ids = customers.cluster(uow, order.customer_id)  # raises for an unknown or erased id
    return _earn(uow, order, key, ids, actor=actor)


def earn_for_orders(uow: UnitOfWork, orders: Sequence[OrderEarn], *, actor: str) -> dict[str, str]:
    """``earn_for_order`` for many orders in the caller's transaction, one after another,
    with the earned keys and the buyers' clusters read once for all. Returns the orders
    refused (order reference -> why: the customer is unknown or erased); they wrote
    nothing."""
    earned = repo.existing_entry_keys(uow.session, [_earn_key(o) for o in orders])
    clusters, refused = customers.clusters(uow, {o.customer_id for o in orders})
    for order in orders:
        key = _earn_key(order)
        if order.customer_id in refused or key in earned:
            continue
        earned.add(key)  # the same order twice in a batch earns once
        _earn(uow, order, key, clusters[order.customer_id], actor=actor)
    return {
        o.order_reference: f"customer {o.customer_id}: {refused[o.customer_id]}"
        for o in orders
        if o.customer_id in refused
    }


def _earn_key(order: OrderEarn) -> str:
    return f"earn:order:{order.order_reference}"


def _earn(uow: UnitOfWork, order: OrderEarn, key: str, ids: list[int], *, actor: str) -> EntryRead:
    """The earn of an order not earned yet, by a live buyer whose cluster is ``ids``."""
    programme = rules(uow)
    # the accounts of the buyer and of the surviving profile, read once for the whole earn
    tiers = {
        a.customer_id: a.tier
        for a in repo.get_accounts(uow.session, sorted({order.customer_id, ids[0]}))
    }
    if order.customer_id not in tiers:
        if _ensure_account(uow, order.customer_id, actor=actor, checked=True):
            tiers[order.customer_id] = programme.tiers[0].name
        else:  # enrolled by a concurrent transaction since the read
            tiers.update((a.customer_id, a.tier) for a in repo.get_accounts(uow.session, ids[:1]))
    multiplier = tier_multiplier(programme, tiers.get(ids[0]))
    per_line, spend, bonus = points_for_order(order, programme, multiplier)
    points = sum(per_line.values()) + bonus
    entry = _add_pending(
        uow,
        order,
        key=key,
        points=points,
        spend=spend,
        actor=actor,
        programme=programme,
        data={
            "lines": {str(k): v for k, v in per_line.items()},
            "line_amounts": {str(ln.line_id): str(ln.amount) for ln in order.lines},
            "line_quantities": {str(ln.line_id): ln.quantity for ln in order.lines},
            "line_skus": {str(ln.line_id): ln.sku for ln in order.lines if ln.sku},
            "excluded": order.excluded_line_ids,
            "bonus": bonus,
            "multiplier": str(multiplier),
        },
    )
    uow.record(Earned(customer_id=order.customer_id, points=points, order=order.order_reference))
    for number, extra in enumerate(order.extra_points, start=1):
        _earn_extra(uow, order, extra, number, programme, actor=actor)
    settle_tier(uow, ids, programme, tiers.get(ids[0]))
    return entry_read(entry)


def _earn_extra(
    uow: UnitOfWork,
    order: OrderEarn,
    extra: ExtraPoints,
    number: int,
    programme: ProgrammeRules,
    *,
    actor: str,
) -> None:
    """A points promotion's points: an entry of their own that says why ("Double points
    weekend: +120"), pending like the purchase's. They are shared over the order's lines by
    what was paid for each (largest remainder), so a returned line gives back its share."""
    key = f"points:order:{order.order_reference}:{number}"
    if repo.entry_exists(uow.session, key):
        return
    paying = [ln for ln in order.lines if ln.amount > 0]
    shares = share_points(extra.points, [ln.amount for ln in paying])
    _add_pending(
        uow,
        order,
        key=key,
        points=extra.points,
        spend=Decimal(0),
        actor=actor,
        programme=programme,
        data={
            "reason": f"{extra.name}: +{extra.points}",
            "promotion": extra.source,
            "lines": {str(ln.line_id): p for ln, p in zip(paying, shares, strict=True)},
            "line_quantities": {str(ln.line_id): ln.quantity for ln in paying},
        },
    )
    uow.record(Earned(customer_id=order.customer_id, points=extra.points, order=key))


def _add_pending(
    uow: UnitOfWork,
    order: OrderEarn,
    *,
    key: str,
    points: int,
    spend: Decimal,
    actor: str,
    programme: ProgrammeRules,
    data: dict[str, Any],
) -> Entry:
    """Points of a purchase, pending until its return window closes: their lot (when there
    are any) on the account's pending counter, and the ledger's earn entry, keyed ``key``."""
    lot_id = None
    if points > 0:
        available_at = order.placed_at + timedelta(days=programme.return_window_days)
        lot_id = repo.insert_lot(
            uow.session,
            Lot(
                customer_id=order.customer_id,
                source_key=key,
                points=points,
                remaining=points,
                status=LotStatus.PENDING.value,
                available_at=available_at,
                expires_at=available_at + timedelta(days=programme.expiry_days),
                created_at=uow.now,
            ),
        )
        repo.apply_to_account(uow.session, order.customer_id, uow.now, pending=points)
    entry = Entry(
        customer_id=order.customer_id,
        kind=EntryKind.EARN.value,
        points=0,
        pending_delta=points,
        owed_delta=0,
        spend=spend,
        lot_id=lot_id,
        source_key=key,
        reference=order.order_reference,
        channel=order.channel,
        actor=actor,
        created_at=uow.now,
        effective_at=order.placed_at,
        data=data,
    )
    repo.insert_entry(uow.session, entry)
    return entry


def share_points(points: int, weights: Sequence[Decimal]) -> list[int]:
    """``points`` shared in proportion to ``weights``, adding up exactly (largest remainder;
    ties to the earlier line). Nothing to share over: nothing shared."""
    total = sum(weights, Decimal(0))
    if not weights or total <= 0:
        return [0] * len(weights)
    exact = [Decimal(points) * w / total for w in weights]
    floors = [int(x.to_integral_value(ROUND_FLOOR)) for x in exact]
    left = points - sum(floors)
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in order[:left]:
        floors[i] += 1
    return floors


def points_for_order(
    order: OrderEarn, programme: ProgrammeRules, multiplier: Decimal
) -> tuple[dict[int, int], Decimal, int]:
    """Per line: amount x rate (category over channel over default) x tier multiplier x the
    campaigns running at the time of purchase, rounded down; plus campaign bonus points."""
    per_line: dict[int, int] = {}
    spend = Decimal(0)
    bonus = 0
    campaigns = [
        c
        for c in programme.campaigns
        if c.starts_at <= order.placed_at < c.ends_at
        and (not c.channels or order.channel in c.channels)
    ]
    for line in order.lines:
        if line.amount <= 0:
            continue
        spend += line.amount
        rate = programme.points_per_unit_by_category.get(
            line.category or "",
            programme.points_per_unit_by_channel.get(order.channel, programme.points_per_unit),
        )
        factor = rate * multiplier
        for campaign in campaigns:
            if not campaign.categories or (line.category in campaign.categories):
                factor *= campaign.multiplier
        per_line[line.line_id] = int((line.amount * factor).to_integral_value(ROUND_FLOOR))
    for campaign in campaigns:
        bonus += campaign.bonus_points if spend > 0 else 0
    return per_line, spend, bonus


def claw_back_return(uow: UnitOfWork, line: ReturnLine, *, actor: str) -> EntryRead | None:
    """A returned line gives back exactly the points it earned (in proportion to the units
    returned; the last unit takes the remainder). Taken from the purchase's lot (still pending
    inside the return window), then from other points, and any rest is owed. The line's share
    of a points promotion's points goes back the same way, as an entry of its own. Keyed by
    the return line: a replay changes nothing."""
    key = f"clawback:{line.return_line_key}"
    if repo.entry_exists(uow.session, key):
        return None
    earn = repo.get_entry(uow.session, f"earn:order:{line.order_reference}")
    line_key = str(line.order_line_id)
    if earn is None or line_key not in earn.data.get("lines", {}):
        raise UnknownOrderEarn(
            f"order {line.order_reference} line {line.order_line_id} earned no points",
            field="order_line_id",
        )
    entry = _claw_back(uow, earn, line, key, actor=actor, spend_back=True)
    for extra in repo.extra_earns_of_order(uow.session, line.order_reference):
        if int(extra.data.get("lines", {}).get(line_key, 0)) > 0:
            _claw_back(uow, extra, line, f"{key}:x{extra.id}", actor=actor, spend_back=False)
    evaluate_tier(uow, earn.customer_id)
    return entry_read(entry)


def _claw_back(
    uow: UnitOfWork, earn: Entry, line: ReturnLine, key: str, *, actor: str, spend_back: bool
) -> Entry:
    """The returned units' share of what ``earn`` gave the line."""
    line_key = str(line.order_line_id)
    extra = None if spend_back else earn.id
    line_points = int(earn.data["lines"][line_key])
    line_qty = int(earn.data["line_quantities"][line_key])
    before = repo.clawbacks_for_line(
        uow.session, line.order_reference, line.order_line_id, extra=extra
    )
    returned_before = sum(int(e.data.get("quantity", 0)) for e in before)
    returned = min(line_qty, returned_before + line.quantity)
    points = line_points * returned // line_qty - sum(int(e.data.get("points", 0)) for e in before)
    spend = Decimal(0)
    if spend_back:
        line_amount = Decimal(earn.data["line_amounts"][line_key])
        spend = (line_amount * returned / line_qty) - (line_amount * returned_before / line_qty)
    owner = earn.customer_id
    repo.lock_accounts(uow.session, [owner])
    taken_pending = taken_available = 0
    lots_used: list[list[int]] = []
    lot = repo.lock_lot(uow.session, earn.lot_id) if earn.lot_id else None
    if lot is not None and points > 0:
        take = min(points, lot.remaining)
        if take:
            repo.take_from_lot(uow.session, lot.id, take)
            lots_used.append([lot.id, take])
            if lot.status == LotStatus.PENDING.value:
                taken_pending = take
            else:
                taken_available = take
    rest = points - taken_pending - taken_available
    if rest > 0:
        for other in repo.lock_spendable_lots(uow.session, [owner], uow.now):
            take = min(rest, other.remaining)
            repo.take_from_lot(uow.session, other.id, take)
            lots_used.append([other.id, take])
            taken_available += take
            rest -= take
            if rest == 0:
                break
    ok = repo.apply_to_account(
        uow.session, owner, uow.now, available=-taken_available, pending=-taken_pending, owed=rest
    )
    assert ok, "points taken from lots are on the account"
    data: dict[str, Any] = {
        "order_line_id": line.order_line_id,
        "quantity": line.quantity,
        "points": points,
        "lots": lots_used,
    }
    if extra is not None:
        data |= {"extra": extra, "reason": f"{earn.data.get('reason', 'promotion')} returned"}
    entry = repo.add_entry(
        uow.session,
        Entry(
            customer_id=owner,
            kind=EntryKind.CLAWBACK.value,
            points=-taken_available,
            pending_delta=-taken_pending,
            owed_delta=rest,
            spend=-spend,
            lot_id=earn.lot_id,
            source_key=key,
            reference=line.order_reference,
            channel=earn.channel,
            actor=actor,
            created_at=uow.now,
            effective_at=earn.effective_at,
            data=data,
        ),
    )
    uow.record(ClawedBack(customer_id=owner, points=points, order=line.order_reference, owed=rest))
    return entry


def claw_back_lines(
    uow: UnitOfWork, order_reference: str, lines: Sequence[OrderLineRef], *, key: str, actor: str
) -> list[EntryRead] | None:
    """Cancelled or returned order lines, as the orders domain's events name them, give back
    what they earned: each is clawed back under ``<key>:<line_no>``, so a replayed event
    changes nothing. A line is looked up in the order's earn and in the earns of its
    exchanges (``<order>#<exchange>``). A line split from an earned one after the order earned
    (a re-routing moves units to a new line) is found by its SKU, or by the ``from_line_no``
    a partial cancellation names; a line already cancelled
    when the order earned, or one that earned nothing, gives nothing back. None when the order
    has not earned (yet)."""
    earns = repo.earns_of_order(uow.session, order_reference)
    main = next((e for e in earns if e.reference == order_reference), None)
    if main is None:
        return None
    entries = []
    for line in lines:
        line_id = str(line.line_no)
        earn = next((e for e in earns if line_id in line_id_keys(e.data)), None)
        if earn is None and any(
            line_id in {str(n) for n in e.data.get("excluded", [])} for e in earns
        ):
            continue  # already cancelled when the order earned: it earned nothing
        if earn is None and line.from_line_no is not None:  # units cancelled off that line
            line_id = str(line.from_line_no)
            earn = next((e for e in earns if line_id in line_id_keys(e.data)), None)
        if earn is None:  # a line split off after the order earned: its SKU's earned line
            skus: dict[str, str] = main.data.get("line_skus", {})
            earn = main
            line_id = next((k for k, sku in sorted(skus.items()) if sku == line.sku), "")
        if line_id in {str(n) for n in earn.data.get("excluded", [])}:
            continue
        if line_id not in earn.data.get("lines", {}):
            continue
        entry = claw_back_return(
            uow,
            ReturnLine(
                return_line_key=f"{key}:{line.line_no}",
                order_reference=str(earn.reference),
                order_line_id=int(line_id),
                quantity=line.quantity,
            ),
            actor=actor,
        )
        if entry is not None:
            entries.append(entry)
    return entries


def known_order_lines(uow: UnitOfWork, order_reference: str) -> set[int]:
    """The line numbers the order's earns (its own and its exchanges') already account for."""
    return {
        int(n)
        for e in repo.earns_of_order(uow.session, order_reference)
        for n in line_id_keys(e.data) | {str(x) for x in e.data.get("excluded", [])}
    }


def line_id_keys(earn_data: dict[str, Any]) -> set[str]:
    """Every line the earn knew of (earning or not)."""
    return set(earn_data.get("line_quantities", {})) | set(earn_data.get("lines", {}))
