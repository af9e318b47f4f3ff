"""Spending points from lots, and reversing a redemption."""

from __future__ import annotations

from decimal import Decimal

from omniretail.customers import service as customers
from omniretail.db.uow import UnitOfWork
from omniretail.kernel.ids import new_id
from omniretail.loyalty import repository as repo
from omniretail.loyalty.errors import (
    InsufficientPoints,
    RedemptionNotReversible,
    RedemptionReferenceTaken,
    UnknownRedemption,
)
from omniretail.loyalty.events import (
    Redeemed,
    RedemptionReversed,
)
from omniretail.loyalty.models import (
    Entry,
    EntryKind,
    LotStatus,
    Redemption,
)
from omniretail.loyalty.schemas import (
    RedemptionCreate,
    RedemptionRead,
)
from omniretail.loyalty.service.reads import redemption_read
from omniretail.loyalty.service.rules import rules

# --- redemption ----------------------------------------------------------------------------


def redeem_points(
    uow: UnitOfWork, customer_id: int, data: RedemptionCreate, *, actor: str
) -> RedemptionRead:
    """Spends points at checkout in any channel. The cluster's accounts are locked first
    (SELECT ... FOR UPDATE), so concurrent redemptions queue and never spend a point twice;
    lots that expire soonest are spent first. A reference makes a retry return the same
    redemption."""
    session = uow.session
    ids = customers.cluster(uow, customer_id)
    if data.reference:
        existing = repo.get_redemption_by_reference(session, data.reference)
        if existing is not None:
            if existing.customer_id not in ids:  # never another person's redemption
                raise RedemptionReferenceTaken(
                    f"the reference {data.reference!r} belongs to another redemption",
                    field="reference",
                )
            return redemption_read(existing)
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
        Redeemed(
            customer_id=ids[0],
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
    uow.record(RedemptionReversed(customer_id=redemption.customer_id, redemption_id=redemption_id))
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
