"""The send policy (one row, a ``SendPolicy``) and the suppression list."""

from __future__ import annotations

from sqlalchemy import delete, select

from omniretail.db.sql import insert_for
from omniretail.db.uow import UnitOfWork
from omniretail.marketing.errors import UnknownSuppression
from omniretail.marketing.schemas import SendPolicy, SuppressionRead, SuppressionWrite
from omniretail.marketing.sending_models import Policy, Suppression

POLICY_ID = 1


def get_policy(uow: UnitOfWork) -> SendPolicy:
    row = uow.session.get(Policy, POLICY_ID)
    return SendPolicy() if row is None else SendPolicy.model_validate(row.policy)


def put_policy(uow: UnitOfWork, policy: SendPolicy) -> SendPolicy:
    stored = policy.model_dump(mode="json")
    stmt = insert_for(uow.session)(Policy).values(id=POLICY_ID, policy=stored, updated_at=uow.now)
    uow.session.execute(
        stmt.on_conflict_do_update(
            index_elements=["id"], set_={"policy": stored, "updated_at": uow.now}
        )
    )
    return policy


def suppress(uow: UnitOfWork, data: SuppressionWrite) -> SuppressionRead:
    """Add (or keep) a suppression; the first reason recorded stays."""
    stmt = insert_for(uow.session)(Suppression).values(
        customer_id=data.customer_id, channel=data.channel, reason=data.reason, created_at=uow.now
    )
    uow.session.execute(stmt.on_conflict_do_nothing(index_elements=["customer_id", "channel"]))
    row = uow.session.get(Suppression, (data.customer_id, data.channel))
    assert row is not None
    return SuppressionRead.model_validate(row)


def unsuppress(uow: UnitOfWork, customer_id: int, channel: str) -> None:
    deleted = uow.session.scalar(
        delete(Suppression)
        .where(Suppression.customer_id == customer_id, Suppression.channel == channel)
        .returning(Suppression.customer_id)
    )
    if deleted is None:
        raise UnknownSuppression(f"customer {customer_id} is not suppressed on {channel}")


def list_suppressions(
    uow: UnitOfWork, *, customer_id: int | None = None, limit: int = 100, offset: int = 0
) -> list[SuppressionRead]:
    q = select(Suppression)
    if customer_id is not None:
        q = q.where(Suppression.customer_id == customer_id)
    rows = uow.session.scalars(
        q.order_by(Suppression.created_at.desc(), Suppression.customer_id)
        .offset(offset)
        .limit(limit)
    )
    return [SuppressionRead.model_validate(r) for r in rows]
