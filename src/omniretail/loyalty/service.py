"""Loyalty use cases: the ledger, lots, redemption, clawback, tiers and rewards.

A person's points are the sum over the accounts of their profile cluster (a merged profile's
account keeps its own lots, so an undo of the merge is exact). Services never commit.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import timedelta
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from omniretail.customers import service as customers
from omniretail.db.uow import UnitOfWork
from omniretail.kernel.ids import new_id
from omniretail.loyalty import repository as repo
from omniretail.loyalty.errors import (
    CouponNotRedeemable,
    InsufficientPoints,
    RedemptionNotReversible,
    UnknownAction,
    UnknownCoupon,
    UnknownOrderEarn,
    UnknownRedemption,
)
from omniretail.loyalty.events import loyalty_event
from omniretail.loyalty.models import (
    Coupon,
    Entry,
    EntryKind,
    Lot,
    LotStatus,
    Programme,
    Redemption,
)
from omniretail.loyalty.schemas import (
    AccountRead,
    ActionCreate,
    AdjustmentCreate,
    CouponRead,
    CouponRedeem,
    EntryRead,
    LotRead,
    OrderEarn,
    OrderLineRef,
    ProgrammeRead,
    ProgrammeRules,
    RedemptionCreate,
    RedemptionRead,
    ReturnLine,
    TierProgress,
)

_RULES_KEY = "loyalty:rules"


# --- programme -----------------------------------------------------------------------------


def rules(uow: UnitOfWork) -> ProgrammeRules:
    """The active programme's rules (cached a few seconds; defaults until one is saved)."""
    cached = uow.cache.get(_RULES_KEY)
    if isinstance(cached, ProgrammeRules):
        return cached
    programme = repo.active_programme(uow.session)
    result = ProgrammeRules.model_validate(programme.rules) if programme else ProgrammeRules()
    uow.cache.put(_RULES_KEY, result)
    return result


def save_programme(uow: UnitOfWork, data: ProgrammeRules, *, actor: str) -> ProgrammeRead:
    """A new version of the rules becomes active; earlier versions stay for the record."""
    version = repo.latest_version(uow.session) + 1
    programme = Programme(
        version=version,
        rules=data.model_dump(mode="json"),
        active=True,
        created_at=uow.now,
        created_by=actor,
    )
    repo.add_programme(uow.session, programme)
    uow.cache.invalidate()
    uow.record(loyalty_event("programme_saved", 0, version=version))
    return programme_read(programme)


def get_programme(uow: UnitOfWork) -> ProgrammeRead:
    programme = repo.active_programme(uow.session)
    if programme is None:
        return ProgrammeRead(
            version=0, active=True, rules=ProgrammeRules(), created_at=uow.now, created_by="default"
        )
    return programme_read(programme)


def programme_read(p: Programme) -> ProgrammeRead:
    return ProgrammeRead(
        version=p.version,
        active=p.active,
        rules=ProgrammeRules.model_validate(p.rules),
        created_at=p.created_at,
        created_by=p.created_by,
    )


# --- enrolment and earning -----------------------------------------------------------------


def enrol(uow: UnitOfWork, customer_id: int, *, actor: str) -> AccountRead:
    """Opens the account (once) and gives the welcome points."""
    _ensure_account(uow, customer_id, actor=actor)
    return account_status(uow, customer_id)


def _ensure_account(uow: UnitOfWork, customer_id: int, *, actor: str) -> None:
    customers.require_root(uow, customer_id)
    programme = rules(uow)
    if not repo.create_account_if_missing(
        uow.session, customer_id, programme.tiers[0].name, uow.now
    ):
        return
    uow.record(loyalty_event("enrolled", customer_id))
    if programme.welcome_points:
        _reward(
            uow,
            customer_id,
            programme.welcome_points,
            f"welcome:{customer_id}",
            "welcome",
            actor=actor,
            programme=programme,
        )


def earn_for_order(uow: UnitOfWork, order: OrderEarn, *, actor: str) -> EntryRead | None:
    """Points for a purchase, pending until its return window closes. Keyed by the order, so
    a replayed event earns nothing twice. Returns None when already earned."""
    key = f"earn:order:{order.order_reference}"
    if repo.entry_exists(uow.session, key):
        return None
    _ensure_account(uow, order.customer_id, actor=actor)
    programme = rules(uow)
    multiplier = _tier_multiplier(uow, order.customer_id, programme)
    per_line, spend, bonus = points_for_order(order, programme, multiplier)
    points = sum(per_line.values()) + bonus
    lot_id = None
    if points > 0:
        available_at = order.placed_at + timedelta(days=programme.return_window_days)
        lot = repo.add_lot(
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
        lot_id = lot.id
        repo.apply_to_account(uow.session, order.customer_id, uow.now, pending=points)
    entry = repo.add_entry(
        uow.session,
        Entry(
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
            data={
                "lines": {str(k): v for k, v in per_line.items()},
                "line_amounts": {str(ln.line_id): str(ln.amount) for ln in order.lines},
                "line_quantities": {str(ln.line_id): ln.quantity for ln in order.lines},
                "line_skus": {str(ln.line_id): ln.sku for ln in order.lines if ln.sku},
                "excluded": order.excluded_line_ids,
                "bonus": bonus,
                "multiplier": str(multiplier),
            },
        ),
    )
    uow.record(
        loyalty_event("earned", order.customer_id, points=points, order=order.order_reference)
    )
    evaluate_tier(uow, order.customer_id)
    return entry_read(entry)


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
    inside the return window), then from other points, and any rest is owed. Keyed by the
    return line: a replay changes nothing."""
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
    line_points = int(earn.data["lines"][line_key])
    line_qty = int(earn.data["line_quantities"][line_key])
    line_amount = Decimal(earn.data["line_amounts"][line_key])
    before = repo.clawbacks_for_line(uow.session, line.order_reference, line.order_line_id)
    returned_before = sum(int(e.data.get("quantity", 0)) for e in before)
    returned = min(line_qty, returned_before + line.quantity)
    points = line_points * returned // line_qty - sum(int(e.data.get("points", 0)) for e in before)
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
            data={
                "order_line_id": line.order_line_id,
                "quantity": line.quantity,
                "points": points,
                "lots": lots_used,
            },
        ),
    )
    uow.record(
        loyalty_event("clawed_back", owner, points=points, order=line.order_reference, owed=rest)
    )
    evaluate_tier(uow, owner)
    return entry_read(entry)


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


# --- redemption ----------------------------------------------------------------------------


def redeem_points(
    uow: UnitOfWork, customer_id: int, data: RedemptionCreate, *, actor: str
) -> RedemptionRead:
    """Spends points at checkout in any channel. The cluster's accounts are locked first
    (SELECT ... FOR UPDATE), so concurrent redemptions queue and never spend a point twice;
    lots that expire soonest are spent first. A reference makes a retry return the same
    redemption."""
    session = uow.session
    if data.reference:
        existing = repo.get_redemption_by_reference(session, data.reference)
        if existing is not None:
            return redemption_read(existing)
    ids = customers.cluster(uow, customer_id)
    accounts = repo.lock_accounts(session, ids)
    available = sum(a.available for a in accounts)
    if available < data.points:
        raise InsufficientPoints(
            f"customer {customer_id} has {available} points available; {data.points} asked",
            field="points",
            available=available,
        )
    lots = repo.lock_spendable_lots(session, ids, uow.now)
    needed = data.points
    used: dict[int, list[list[int]]] = {}
    for lot in lots:
        take = min(needed, lot.remaining)
        repo.take_from_lot(session, lot.id, take)
        used.setdefault(lot.customer_id, []).append([lot.id, take])
        needed -= take
        if needed == 0:
            break
    if needed:
        raise InsufficientPoints(
            f"only {data.points - needed} points are in unexpired lots", field="points"
        )
    programme = rules(uow)
    redemption = Redemption(
        id=new_id(),
        customer_id=ids[0],
        points=data.points,
        value=(data.points * programme.point_value).quantize(Decimal("0.01")),
        channel=data.channel,
        reference=data.reference,
        status="applied",
        actor=actor,
        created_at=uow.now,
    )
    repo.add_redemption(session, redemption)
    for owner, taken in sorted(used.items()):
        points = sum(t for _, t in taken)
        if not repo.apply_to_account(session, owner, uow.now, available=-points):
            raise InsufficientPoints("the balance changed; retry", field="points")
        repo.add_entry(
            session,
            Entry(
                customer_id=owner,
                kind=EntryKind.REDEEM.value,
                points=-points,
                source_key=f"redeem:{redemption.id}:{owner}",
                reference=data.reference or redemption.id,
                channel=data.channel,
                actor=actor,
                created_at=uow.now,
                effective_at=uow.now,
                data={"lots": taken, "redemption_id": redemption.id, "redeemed_for": customer_id},
            ),
        )
    uow.record(
        loyalty_event(
            "redeemed",
            ids[0],
            points=data.points,
            redemption_id=redemption.id,
            channel=data.channel,
        )
    )
    return redemption_read(redemption)


def reverse_redemption(uow: UnitOfWork, redemption_id: str, *, actor: str) -> RedemptionRead:
    """A checkout that failed gives its points back, to the very lots they came from."""
    session = uow.session
    redemption = repo.lock_redemption(session, redemption_id)
    if redemption is None:
        raise UnknownRedemption(f"no redemption {redemption_id}", field="redemption_id")
    if redemption.status != "applied":
        raise RedemptionNotReversible(f"redemption {redemption_id} is {redemption.status}")
    for owner in sorted({redemption.customer_id, *_redeem_owners(uow, redemption_id)}):
        spent = repo.get_entry(session, f"redeem:{redemption_id}:{owner}")
        if spent is None:
            continue
        repo.lock_accounts(session, [owner])
        for lot_id, taken in spent.data["lots"]:
            lot = repo.lock_lot(session, int(lot_id))
            assert lot is not None
            lot.remaining += int(taken)
            lot.status = LotStatus.AVAILABLE.value
        session.flush()
        repo.apply_to_account(session, owner, uow.now, available=-spent.points)
        repo.add_entry(
            session,
            Entry(
                customer_id=owner,
                kind=EntryKind.REVERSE.value,
                points=-spent.points,
                source_key=f"reverse:{redemption_id}:{owner}",
                reference=spent.reference,
                channel=spent.channel,
                actor=actor,
                created_at=uow.now,
                effective_at=uow.now,
                data={"lots": spent.data["lots"], "redemption_id": redemption_id},
            ),
        )
    redemption.status = "reversed"
    session.flush()
    uow.record(
        loyalty_event("redemption_reversed", redemption.customer_id, redemption_id=redemption_id)
    )
    return redemption_read(redemption)


def _redeem_owners(uow: UnitOfWork, redemption_id: str) -> list[int]:
    prefix = f"redeem:{redemption_id}:"
    found = []
    for owner in customers.cluster(uow, _redemption_customer(uow, redemption_id)):
        if repo.entry_exists(uow.session, prefix + str(owner)):
            found.append(owner)
    return found


def _redemption_customer(uow: UnitOfWork, redemption_id: str) -> int:
    redemption = repo.lock_redemption(uow.session, redemption_id)
    assert redemption is not None
    return redemption.customer_id


# --- rewards, adjustments, expiry ----------------------------------------------------------


def award_action(
    uow: UnitOfWork, customer_id: int, data: ActionCreate, *, actor: str
) -> AccountRead:
    """Points for an action (review, app install, referral), once per action and reference
    (an app install counts once per customer)."""
    programme = rules(uow)
    points = programme.actions.get(data.action)
    if points is None:
        raise UnknownAction(
            f"no points for {data.action!r}; known: {', '.join(sorted(programme.actions))}",
            field="action",
        )
    _ensure_account(uow, customer_id, actor=actor)
    reference = "" if data.action == "app_install" else (data.reference or "")
    root = customers.resolve_id(uow, customer_id)
    key = f"action:{data.action}:{root}:{reference}"
    if points and not repo.entry_exists(uow.session, key):
        _reward(uow, customer_id, points, key, data.action, actor=actor, programme=programme)
    return account_status(uow, customer_id)


def adjust_points(
    uow: UnitOfWork, customer_id: int, data: AdjustmentCreate, *, actor: str
) -> AccountRead:
    """Goodwill credits (a new lot) or corrections (debited like a redemption)."""
    _ensure_account(uow, customer_id, actor=actor)
    key = f"adjust:{new_id()}"
    if data.points > 0:
        _reward(
            uow,
            customer_id,
            data.points,
            key,
            "adjustment",
            actor=actor,
            programme=rules(uow),
            kind=EntryKind.ADJUST,
            reason=data.reason,
        )
    else:
        redemption = redeem_points(
            uow,
            customer_id,
            RedemptionCreate(points=-data.points, channel="adjustment"),
            actor=actor,
        )
        del redemption
    return account_status(uow, customer_id)


def _reward(
    uow: UnitOfWork,
    customer_id: int,
    points: int,
    key: str,
    what: str,
    *,
    actor: str,
    programme: ProgrammeRules,
    kind: EntryKind = EntryKind.REWARD,
    reason: str | None = None,
) -> None:
    lot = repo.add_lot(
        uow.session,
        Lot(
            customer_id=customer_id,
            source_key=key,
            points=points,
            remaining=points,
            status=LotStatus.AVAILABLE.value,
            available_at=uow.now,
            expires_at=uow.now + timedelta(days=programme.expiry_days),
            created_at=uow.now,
        ),
    )
    repo.apply_to_account(uow.session, customer_id, uow.now, available=points)
    repo.add_entry(
        uow.session,
        Entry(
            customer_id=customer_id,
            kind=kind.value,
            points=points,
            lot_id=lot.id,
            source_key=key,
            reference=what,
            actor=actor,
            created_at=uow.now,
            effective_at=uow.now,
            data={"reason": reason} if reason else {},
        ),
    )
    uow.record(loyalty_event("rewarded", customer_id, points=points, reward=what))


def release_matured_points(uow: UnitOfWork, *, actor: str, limit: int = 1000) -> int:
    """Purchases whose return window has closed: their pending points become available (and
    first pay back any points owed)."""
    count = 0
    for lot in repo.lock_matured_lots(uow.session, uow.now, limit):
        repo.lock_accounts(uow.session, [lot.customer_id])
        accounts = repo.get_accounts(uow.session, [lot.customer_id])
        owed = accounts[0].owed if accounts else 0
        settle = min(owed, lot.remaining)
        released = lot.remaining - settle
        lot.remaining = released
        lot.status = LotStatus.AVAILABLE.value if released else LotStatus.CLOSED.value
        uow.session.flush()
        repo.apply_to_account(
            uow.session,
            lot.customer_id,
            uow.now,
            available=released,
            pending=-(released + settle),
            owed=-settle,
        )
        repo.add_entry(
            uow.session,
            Entry(
                customer_id=lot.customer_id,
                kind=EntryKind.RELEASE.value,
                points=released,
                pending_delta=-(released + settle),
                owed_delta=-settle,
                lot_id=lot.id,
                source_key=f"release:lot:{lot.id}",
                actor=actor,
                created_at=uow.now,
                effective_at=uow.now,
                data={"settled_owed": settle},
            ),
        )
        count += 1
    return count


def expire_points(uow: UnitOfWork, *, actor: str, limit: int = 1000) -> int:
    count = 0
    for lot in repo.lock_expired_lots(uow.session, uow.now, limit):
        repo.lock_accounts(uow.session, [lot.customer_id])
        points = lot.remaining
        lot.remaining = 0
        lot.status = LotStatus.CLOSED.value
        uow.session.flush()
        repo.apply_to_account(uow.session, lot.customer_id, uow.now, available=-points)
        repo.add_entry(
            uow.session,
            Entry(
                customer_id=lot.customer_id,
                kind=EntryKind.EXPIRE.value,
                points=-points,
                lot_id=lot.id,
                source_key=f"expire:lot:{lot.id}",
                actor=actor,
                created_at=uow.now,
                effective_at=uow.now,
            ),
        )
        uow.record(loyalty_event("expired", lot.customer_id, points=points, lot_id=lot.id))
        count += 1
    return count


# --- tiers ---------------------------------------------------------------------------------


def evaluate_tier(uow: UnitOfWork, customer_id: int) -> TierProgress:
    """Qualifying spend over the period decides the tier, stored on the surviving profile's
    account; a change is an event (``loyalty.tier_changed``)."""
    programme = rules(uow)
    ids = customers.cluster(uow, customer_id)
    progress = tier_progress(uow, ids, programme)
    accounts = repo.get_accounts(uow.session, ids[:1])
    if not accounts:
        repo.create_account_if_missing(uow.session, ids[0], progress.tier, uow.now)
    elif accounts[0].tier != progress.tier:
        previous = accounts[0].tier
        repo.set_tier(uow.session, ids[0], progress.tier, uow.now)
        uow.record(loyalty_event("tier_changed", ids[0], previous=previous, tier=progress.tier))
    return progress


def tier_progress(uow: UnitOfWork, ids: Sequence[int], programme: ProgrammeRules) -> TierProgress:
    since = uow.now - timedelta(days=programme.qualification_days)
    return progress_for(repo.qualifying_spend(uow.session, ids, since), programme)


def progress_for(spend: Decimal, programme: ProgrammeRules) -> TierProgress:
    """The tier a qualifying spend reaches and what is left to the next ("£38 to Gold")."""
    current = programme.tiers[0]
    following = None
    for tier in programme.tiers:
        if spend >= tier.threshold:
            current = tier
        elif following is None:
            following = tier
    if following is None:
        text = f"{current.name}: the top tier"
        to_next = None
    else:
        to_next = (following.threshold - spend).quantize(Decimal("0.01"))
        text = f"{_money(to_next, programme.currency)} to {following.name}"
    return TierProgress(
        tier=current.name,
        multiplier=current.multiplier,
        qualifying_spend=spend.quantize(Decimal("0.01")),
        next_tier=following.name if following else None,
        to_next_tier=to_next,
        progress=text,
    )


def _tier_multiplier(uow: UnitOfWork, customer_id: int, programme: ProgrammeRules) -> Decimal:
    root = customers.resolve_id(uow, customer_id)
    accounts = repo.get_accounts(uow.session, [root])
    name = accounts[0].tier if accounts else programme.tiers[0].name
    return next((t.multiplier for t in programme.tiers if t.name == name), Decimal(1))


def _money(amount: Decimal, currency: str) -> str:
    symbol = {"GBP": "£", "EUR": "€", "USD": "$"}.get(currency, currency + " ")
    whole = amount == amount.to_integral_value()
    return f"{symbol}{amount:.0f}" if whole else f"{symbol}{amount:.2f}"


# --- reads ---------------------------------------------------------------------------------


def account_status(
    uow: UnitOfWork, customer_id: int, *, cluster: Sequence[int] | None = None
) -> AccountRead:
    """Balance, pending and owed points, tier progress and next expiry, summed over the
    person's profiles in one statement. ``cluster`` (the surviving profile first) saves
    resolving the id again when the caller has it (the customer 360)."""
    programme = rules(uow)
    ids = list(cluster) if cluster else customers.cluster(uow, customer_id)
    since = uow.now - timedelta(days=programme.qualification_days)
    rows = repo.account_summary(uow.session, ids, uow.now, since)
    available = sum(r.available for r in rows)
    spend = Decimal(rows[0].qualifying_spend) if rows else Decimal(0)
    return AccountRead(
        customer_id=ids[0],
        enrolled=bool(rows),
        available=available,
        pending=sum(r.pending for r in rows),
        owed=sum(r.owed for r in rows),
        value=(available * programme.point_value).quantize(Decimal("0.01")),
        tier=progress_for(spend, programme),
        next_expiry=rows[0].next_expiry if rows else None,
        next_expiry_points=int(rows[0].next_expiry_points) if rows else 0,
        accounts=[r.customer_id for r in rows],
    )


def list_entries(
    uow: UnitOfWork, customer_id: int, *, limit: int = 100, before_id: int | None = None
) -> list[EntryRead]:
    ids = customers.cluster(uow, customer_id)
    return [
        entry_read(e) for e in repo.list_entries(uow.session, ids, limit=limit, before_id=before_id)
    ]


def list_lots(uow: UnitOfWork, customer_id: int) -> list[LotRead]:
    ids = customers.cluster(uow, customer_id)
    return [
        LotRead(
            id=lot.id,
            customer_id=lot.customer_id,
            points=lot.points,
            remaining=lot.remaining,
            status=lot.status,
            available_at=lot.available_at,
            expires_at=lot.expires_at,
        )
        for lot in repo.lots_of(uow.session, ids)
    ]


def entry_read(e: Entry) -> EntryRead:
    return EntryRead(
        id=e.id,
        customer_id=e.customer_id,
        kind=e.kind,
        points=e.points,
        pending_delta=e.pending_delta,
        owed_delta=e.owed_delta,
        spend=e.spend,
        lot_id=e.lot_id,
        reference=e.reference,
        channel=e.channel,
        actor=e.actor,
        created_at=e.created_at,
        effective_at=e.effective_at,
        data=e.data,
    )


def redemption_read(r: Redemption) -> RedemptionRead:
    return RedemptionRead(
        id=r.id,
        customer_id=r.customer_id,
        points=r.points,
        value=r.value,
        channel=r.channel,
        reference=r.reference,
        status=r.status,
        created_at=r.created_at,
    )


# --- coupons -------------------------------------------------------------------------------


def issue_coupon(
    uow: UnitOfWork,
    customer_id: int | None,
    *,
    kind: str,
    description: str,
    discount: Decimal,
    valid_days: int,
    source_key: str,
) -> CouponRead | None:
    """Issues a coupon once per ``source_key``; None when it was issued before."""
    coupon = repo.add_coupon_if_new(
        uow.session,
        Coupon(
            code=secrets.token_hex(5).upper(),
            customer_id=customer_id,
            kind=kind,
            description=description,
            discount=discount,
            status="issued",
            source_key=source_key,
            issued_at=uow.now,
            valid_until=uow.now + timedelta(days=valid_days),
        ),
    )
    if coupon is None:
        return None
    uow.record(loyalty_event("coupon_issued", customer_id or 0, code=coupon.code, kind=kind))
    return coupon_read(coupon)


def redeem_coupon(uow: UnitOfWork, code: str, data: CouponRedeem, *, actor: str) -> CouponRead:
    """Any channel, once: a conditional UPDATE decides which request wins."""
    ids = customers.cluster(uow, data.customer_id) if data.customer_id is not None else None
    coupon = repo.redeem_coupon_if_issued(
        uow.session, code.strip().upper(), ids, uow.now, data.channel, data.reference
    )
    if coupon is None:
        existing = repo.get_coupon(uow.session, code.strip().upper())
        if existing is None:
            raise UnknownCoupon(f"no coupon {code!r}", field="code")
        why = (
            f"it is {existing.status}"
            if existing.status != "issued"
            else "it has expired or belongs to another customer"
        )
        raise CouponNotRedeemable(f"coupon {code} cannot be redeemed: {why}", field="code")
    uow.record(
        loyalty_event(
            "coupon_redeemed",
            coupon.customer_id or 0,
            code=coupon.code,
            channel=data.channel,
            actor=actor,
        )
    )
    return coupon_read(coupon)


def list_coupons(uow: UnitOfWork, customer_id: int) -> list[CouponRead]:
    return [
        coupon_read(c) for c in repo.list_coupons(uow.session, customers.cluster(uow, customer_id))
    ]


def coupon_read(c: Coupon) -> CouponRead:
    return CouponRead(
        code=c.code,
        customer_id=c.customer_id,
        kind=c.kind,
        description=c.description,
        discount=c.discount,
        status=c.status,
        issued_at=c.issued_at,
        valid_until=c.valid_until,
        redeemed_at=c.redeemed_at,
        redeemed_channel=c.redeemed_channel,
    )
