"""Points for actions, adjustments, welcomes and birthdays."""

from __future__ import annotations

from datetime import timedelta

from omniretail.customers import service as customers
from omniretail.db.uow import UnitOfWork
from omniretail.kernel.ids import new_id
from omniretail.loyalty import repository as repo
from omniretail.loyalty.errors import (
    GoodwillLimitReached,
    UnknownAction,
)
from omniretail.loyalty.events import (
    Enrolled,
    Rewarded,
)
from omniretail.loyalty.models import (
    Entry,
    EntryKind,
    Lot,
    LotStatus,
)
from omniretail.loyalty.schemas import (
    AccountRead,
    ActionCreate,
    AdjustmentCreate,
    ProgrammeRules,
    RedemptionCreate,
)
from omniretail.loyalty.service.grants import grant_welcome_coupon
from omniretail.loyalty.service.reads import account_status
from omniretail.loyalty.service.redeem import redeem_points
from omniretail.loyalty.service.rules import rules

# --- rewards, adjustments, expiry ----------------------------------------------------------


def award_action(
    uow: UnitOfWork,
    customer_id: int,
    data: ActionCreate,
    *,
    actor: str,
    daily_limit: int | None = None,
) -> AccountRead:
    """Points for an action (review, app install, referral), once per action and reference
    (an app install counts once per customer). ``daily_limit``: as ``adjust_points``'s, for
    awards the caller names (a new reference each time would otherwise mint points)."""
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
        _count_goodwill(uow, actor, points, daily_limit)
        _reward(uow, customer_id, points, key, data.action, actor=actor, programme=programme)
    return account_status(uow, customer_id)


def _count_goodwill(uow: UnitOfWork, actor: str, points: int, daily_limit: int | None) -> None:
    """Raises ``GoodwillLimitReached`` if ``points`` more would take ``actor``'s credits by
    hand today over ``daily_limit`` (None: not counted)."""
    if daily_limit is None:
        return
    if not repo.count_goodwill(uow.session, actor, uow.now.date(), points, daily_limit):
        raise GoodwillLimitReached(
            f"{points} points would take {actor}'s goodwill credits today over the"
            f" limit of {daily_limit} (OMNIRETAIL_LOYALTY_GOODWILL_POINTS_PER_DAY, set by"
            " the operator)",
            field="points",
        )


def adjust_points(
    uow: UnitOfWork,
    customer_id: int,
    data: AdjustmentCreate,
    *,
    actor: str,
    daily_limit: int | None = None,
) -> AccountRead:
    """Goodwill credits (a new lot) or corrections (debited like a redemption).
    ``daily_limit``: the credits ``actor`` may give by hand in a (UTC) day, all customers
    together (``GoodwillLimitReached`` beyond; None: no limit, for the journeys' own steps)."""
    if data.points > 0:
        _count_goodwill(uow, actor, data.points, daily_limit)
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
    lot_id = repo.insert_lot(
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
    repo.insert_entry(
        uow.session,
        Entry(
            customer_id=customer_id,
            kind=kind.value,
            points=points,
            lot_id=lot_id,
            source_key=key,
            reference=what,
            actor=actor,
            created_at=uow.now,
            effective_at=uow.now,
            data={"reason": reason} if reason else {},
        ),
    )
    uow.record(Rewarded(customer_id=customer_id, points=points, reward=what))


def enrol(uow: UnitOfWork, customer_id: int, *, actor: str) -> AccountRead:
    """Opens the account (once) and gives the welcome points and coupon."""
    _ensure_account(uow, customer_id, actor=actor)
    return account_status(uow, customer_id)


def _ensure_account(
    uow: UnitOfWork, customer_id: int, *, actor: str, checked: bool = False
) -> bool:
    """The customer's account, enrolled (welcome coupon and points) if it was missing; True
    when this call enrolled them. ``checked``: the caller has resolved the id already (it
    leads to a live profile)."""
    if not checked:
        customers.require_root(uow, customer_id)
    programme = rules(uow)
    if not repo.create_account_if_missing(
        uow.session, customer_id, programme.tiers[0].name, uow.now
    ):
        return False
    uow.record(Enrolled(customer_id=customer_id))
    grant_welcome_coupon(uow, customer_id, programme)
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
    return True
