"""Tiers from qualifying spend."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal

from omniretail.customers import service as customers
from omniretail.db.uow import UnitOfWork
from omniretail.kernel.money import MINOR_UNITS, SYMBOLS
from omniretail.loyalty import repository as repo
from omniretail.loyalty.events import (
    TierChanged,
)
from omniretail.loyalty.schemas import (
    ProgrammeRules,
    TierProgress,
)
from omniretail.loyalty.service.rules import rules

# --- tiers ---------------------------------------------------------------------------------


def evaluate_tier(uow: UnitOfWork, customer_id: int) -> TierProgress:
    """Qualifying spend over the period decides the tier, stored on the surviving profile's
    account; a change is an event (``loyalty.tier_changed``)."""
    programme = rules(uow)
    ids = customers.cluster(uow, customer_id)
    accounts = repo.get_accounts(uow.session, ids[:1])
    return settle_tier(uow, ids, programme, accounts[0].tier if accounts else None)


def settle_tier(
    uow: UnitOfWork, ids: Sequence[int], programme: ProgrammeRules, stored: str | None
) -> TierProgress:
    """``evaluate_tier`` for a cluster (``customers.cluster``, the surviving profile first)
    whose account's tier the caller read in this unit of work (``stored``; None: no
    account)."""
    progress = tier_progress(uow, ids, programme)
    if stored is None:
        repo.create_account_if_missing(uow.session, ids[0], progress.tier, uow.now)
    elif stored != progress.tier:
        repo.set_tier(uow.session, ids[0], progress.tier, uow.now)
        uow.record(TierChanged(customer_id=ids[0], previous=stored, tier=progress.tier))
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


def stated_progress(
    spend: Decimal,
    programme: ProgrammeRules,
    *,
    stored: str | None,
    since: datetime,
    until: datetime,
) -> TierProgress:
    """The tier to show, with the period its qualifying spend covers. The stored tier (the one
    earning uses) is the tier; when the spend over the period now reaches another tier (spend
    aged out since the last evaluation), the text says so instead of showing a second tier."""
    window = progress_for(spend, programme)
    period = f"{since:%Y-%m-%d} to {until:%Y-%m-%d}"
    if spend > 0:
        money = _money(window.qualifying_spend, programme.currency)
        basis = f"qualifying spend {money} from {period}"
    else:
        basis = f"no qualifying spend from {period}"
    dated = {"period_start": since, "period_end": until, "qualifies_for": window.tier}
    names = [t.name for t in programme.tiers]
    if stored is None or stored == window.tier or stored not in names:
        return window.model_copy(update={"basis": basis, **dated})
    held = programme.tiers[names.index(stored)]
    following = next((t for t in programme.tiers if t.threshold > held.threshold), None)
    to_next = (following.threshold - spend).quantize(Decimal("0.01")) if following else None
    return TierProgress(
        tier=held.name,
        multiplier=held.multiplier,
        qualifying_spend=window.qualifying_spend,
        next_tier=following.name if following else None,
        to_next_tier=to_next,
        progress=f"this spend reaches {window.tier}; {held.name} stays until the tier is"
        " re-evaluated at the next purchase or return",
        basis=basis,
        **dated,
    )


def tier_multiplier(programme: ProgrammeRules, tier: str | None) -> Decimal:
    """The points multiplier of ``tier`` (None: no account yet, the first tier)."""
    name = tier or programme.tiers[0].name
    return next((t.multiplier for t in programme.tiers if t.name == name), Decimal(1))


def _money(amount: Decimal, currency: str) -> str:
    symbol = SYMBOLS.get(currency, currency + " ")
    whole = amount == amount.to_integral_value() or MINOR_UNITS.get(currency, 2) == 0
    return f"{symbol}{amount:.0f}" if whole else f"{symbol}{amount:.2f}"
