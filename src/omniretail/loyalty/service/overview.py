"""The programme's state for HQ: members, the points liability, expiry and recent activity."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from omniretail.db.uow import UnitOfWork
from omniretail.loyalty.repository.overview import movements, tier_totals
from omniretail.loyalty.schemas import ProgrammeOverview, TierMembers
from omniretail.loyalty.service.rules import rules

WINDOW_DAYS = 30


def programme_overview(uow: UnitOfWork) -> ProgrammeOverview:
    """Two aggregate statements; tiers in the programme's order, then any stored tier the
    current rules no longer name."""
    programme = rules(uow)
    totals = {t.tier: t for t in tier_totals(uow.session)}
    order = [t.name for t in programme.tiers] + sorted(
        set(totals) - {t.name for t in programme.tiers}
    )
    expiring_by = uow.now + timedelta(days=WINDOW_DAYS)
    since = uow.now - timedelta(days=WINDOW_DAYS)
    moved = movements(uow.session, expiring_by=expiring_by, since=since)
    available = sum(t.available for t in totals.values())
    pending = sum(t.pending for t in totals.values())
    outstanding = available + pending
    return ProgrammeOverview(
        as_of=uow.now,
        currency=programme.currency,
        point_value=programme.point_value,
        members=sum(t.members for t in totals.values()),
        tiers=[
            TierMembers(tier=name, members=totals[name].members if name in totals else 0)
            for name in order
        ],
        available=available,
        pending=pending,
        owed=sum(t.owed for t in totals.values()),
        outstanding=outstanding,
        outstanding_value=(outstanding * programme.point_value).quantize(Decimal("0.01")),
        expiring_by=expiring_by,
        expiring=moved.expiring,
        since=since,
        earned=moved.earned,
        redeemed=moved.redeemed,
    )
