"""Read models of accounts, entries, lots and redemptions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from decimal import Decimal

from omniretail.customers import service as customers
from omniretail.db.uow import UnitOfWork
from omniretail.loyalty import repository as repo
from omniretail.loyalty.models import (
    Entry,
    Redemption,
)
from omniretail.loyalty.schemas import (
    AccountRead,
    EntryRead,
    LotRead,
    RedemptionRead,
)
from omniretail.loyalty.service.rules import rules
from omniretail.loyalty.service.tiers import stated_progress

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
        tier=stated_progress(
            spend,
            programme,
            stored=rows[0].tier if rows else None,
            since=since,
            until=uow.now,
        ),
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
