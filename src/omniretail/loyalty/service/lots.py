"""The lot lifecycle: pending points mature, unspent points expire."""

from __future__ import annotations

from omniretail.db.uow import UnitOfWork
from omniretail.loyalty import repository as repo
from omniretail.loyalty.events import (
    Expired,
)
from omniretail.loyalty.models import (
    Entry,
    EntryKind,
    LotStatus,
)


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
        uow.record(Expired(customer_id=lot.customer_id, points=points, lot_id=lot.id))
        count += 1
    return count
