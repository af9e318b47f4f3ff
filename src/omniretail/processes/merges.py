"""Undoing a merge: customers split the profiles, loyalty settles the points each side spent
of the other's while merged, in one transaction."""

from __future__ import annotations

from omniretail.customers import service as customers
from omniretail.customers import service as merges
from omniretail.customers.schemas import MergeRead, UndoMerge
from omniretail.db.uow import UnitOfWork
from omniretail.loyalty import service as rewards


def undo_merge_and_settle(
    uow: UnitOfWork, merge_id: int, body: UndoMerge, *, actor: str
) -> MergeRead:
    merge = merges.undo_merge(uow, merge_id, reason=body.reason, actor=actor)
    sides = [
        customers.cluster(uow, merge.survivor_id),
        customers.cluster(uow, merge.merged_id),
    ]
    rewards.settle_unmerge(
        uow, merge_id=merge.id, sides=sides, merged_at=merge.created_at, actor=actor
    )
    return merge
