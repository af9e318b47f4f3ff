"""Points for actions, adjustments, welcomes and birthdays."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from omniretail.customers import service as customers
from omniretail.db.uow import UnitOfWork
from omniretail.kernel.ids import new_id
from omniretail.loyalty import repository as repo
from omniretail.loyalty.errors import (
    CustomerGoodwillLimitReached,
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
from omniretail.settings import Settings

# --- rewards, adjustments, expiry ----------------------------------------------------------


@dataclass(frozen=True)
class Goodwill:
    """How points credited by hand are counted, each a (UTC) day: against ``person``, who
    is behind the credential (a sign-in's own principal; for an API key, the person who
    created it), up to ``per_person`` across all customers; and against the receiving
    customer (all their profiles), up to ``per_customer`` from all staff together."""

    person: str
    per_person: int
    per_customer: int

    @classmethod
    def of(cls, person: str, settings: Settings) -> Goodwill:
        """``person``'s count under the operator's limits."""
        return cls(
            person,
            settings.loyalty_goodwill_points_per_day,
            settings.loyalty_goodwill_points_per_customer_per_day,
        )


def award_action(
    uow: UnitOfWork,
    customer_id: int,
    data: ActionCreate,
    *,
    actor: str,
    goodwill: Goodwill | None = None,
) -> AccountRead:
    """Points for an action (review, app install, referral), once per action and reference
    (an app install counts once per customer). ``goodwill``: as ``adjust_points``'s, for
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
        _count_goodwill(uow, root, points, goodwill)
        _reward(uow, customer_id, points, key, data.action, actor=actor, programme=programme)
    return account_status(uow, customer_id)


def _count_goodwill(uow: UnitOfWork, root: int, points: int, goodwill: Goodwill | None) -> None:
    """Counts ``points`` more by hand today against the person, then against the customer
    whose surviving profile is ``root`` (rows locked in that order, so parallel credits
    queue and never deadlock); raises ``GoodwillLimitReached`` or
    ``CustomerGoodwillLimitReached`` past a limit, and the caller's transaction, counts
    included, rolls back. None: not counted (the journeys' own steps)."""
    if goodwill is None:
        return
    day, person = uow.now.date(), goodwill.person
    if not repo.count_goodwill(uow.session, person, day, points, goodwill.per_person):
        raise GoodwillLimitReached(
            f"{points} points would take {person}'s goodwill credits today over the"
            f" limit of {goodwill.per_person} (OMNIRETAIL_LOYALTY_GOODWILL_POINTS_PER_DAY,"
            " set by the operator)",
            field="points",
        )
    received = repo.customer_goodwill_key(root)
    if not repo.count_goodwill(uow.session, received, day, points, goodwill.per_customer):
        raise CustomerGoodwillLimitReached(
            f"{points} points would take this customer's goodwill credits today, from all"
            f" staff together, over the limit of {goodwill.per_customer}"
            " (OMNIRETAIL_LOYALTY_GOODWILL_POINTS_PER_CUSTOMER_PER_DAY, set by the operator)",
            field="points",
        )


def adjust_points(
    uow: UnitOfWork,
    customer_id: int,
    data: AdjustmentCreate,
    *,
    actor: str,
    goodwill: Goodwill | None = None,
) -> AccountRead:
    """Goodwill credits (a new lot) or corrections (debited like a redemption).
    ``goodwill``: how credits by hand are counted (``GoodwillLimitReached`` or
    ``CustomerGoodwillLimitReached`` beyond a limit, nothing written; None: not counted, for
    the journeys' own steps). Debits are not counted."""
    if data.points > 0:
        _count_goodwill(uow, customers.resolve_id(uow, customer_id), data.points, goodwill)
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
