"""Merging profiles and undoing a merge, exactly.

A merge never rewrites or deletes the merged profile's rows: it points the profile (and the
aliases that already led to it) at the survivor, so every id stays valid and every read
aggregates the cluster. Orders, loyalty lots, timeline entries and identities therefore follow
without being touched, in every domain, and an undo restores each row to its own profile even
after new activity. Consents are the exception: the survivor's current answers become the most
restrictive of both profiles' explicit answers, and the merge records what it replaced.
"""

from __future__ import annotations

from typing import Any

from omniretail.customers import repository as repo
from omniretail.customers.errors import (
    AlreadyMerged,
    CustomerErased,
    MergeNotUndoable,
    ReviewClosed,
    UnknownCustomer,
    UnknownMerge,
    UnknownReview,
)
from omniretail.customers.events import Merged, MergeUndone
from omniretail.customers.models import CustomerStatus, Merge
from omniretail.customers.schemas import MergeRead, ReviewRead
from omniretail.customers.service.clusters import cluster
from omniretail.db.uow import UnitOfWork


def merge_customers(
    uow: UnitOfWork, survivor_id: int, merged_id: int, *, rule: str, reason: str, actor: str
) -> MergeRead:
    session = uow.session
    survivor_root = repo.root_of(session, survivor_id)
    merged_root = repo.root_of(session, merged_id)
    if survivor_root is None or merged_root is None:
        missing = survivor_id if survivor_root is None else merged_id
        raise UnknownCustomer(f"no customer with id {missing}", field="customer_id")
    if survivor_root == merged_root:
        raise AlreadyMerged(
            f"customers {survivor_id} and {merged_id} are already one profile ({survivor_root})",
            field="merged_id",
        )
    locked = {c.id: c for c in repo.lock_customers(session, [survivor_root, merged_root])}
    for customer in locked.values():
        if customer.status != CustomerStatus.ACTIVE.value:
            raise CustomerErased(
                f"customer {customer.id} is {customer.status}", field="customer_id"
            )
    watermark = repo.max_consent_event_id(session)
    merge = repo.add_merge(
        session,
        Merge(
            survivor_id=survivor_root,
            merged_id=merged_root,
            status="active",
            rule=rule,
            reason=reason,
            actor=actor,
            created_at=uow.now,
            changes={},
        ),
    )
    repointed = repo.repoint_aliases(session, merged_root, survivor_root)
    merged = locked[merged_root]
    merged.status = CustomerStatus.MERGED.value
    merged.merged_into_id = survivor_root
    merged.updated_at = uow.now
    session.flush()
    consents = _combine_consents(uow, survivor_root, merged_root, merge.id, actor)
    merge.changes = {
        "repointed_aliases": repointed,
        "consents": consents,
        "consent_watermark": watermark,
    }
    # A pending review of two of these ids is settled: they are one profile now.
    repo.close_reviews_within(session, cluster(uow, survivor_root), merge.id, uow.now, actor)
    _note(uow, survivor_root, f"merge:{merge.id}", "profile merged", merge.id, merged_root)
    uow.record(
        Merged(
            customer_id=survivor_root,
            merged_id=merged_root,
            merge_id=merge.id,
            rule=rule,
            aliases=[merged_root, *repointed],
        )
    )
    session.flush()
    return merge_read(merge)


def undo_merge(uow: UnitOfWork, merge_id: int, *, reason: str, actor: str) -> MergeRead:
    """Gives the merged profile back its own rows and aliases. Activity recorded after the
    merge stays with the id it was recorded under; consent answers the merge replaced come
    back unless changed since, and withdrawals made while merged apply to both profiles."""
    session = uow.session
    merge = repo.lock_merge(session, merge_id)
    if merge is None:
        raise UnknownMerge(f"no merge with id {merge_id}", field="merge_id")
    if merge.status != "active":
        raise MergeNotUndoable(f"merge {merge_id} was already undone", field="merge_id")
    merged = repo.get_customer(session, merge.merged_id)
    assert merged is not None
    if merged.status != CustomerStatus.MERGED.value or merged.merged_into_id is None:
        raise MergeNotUndoable(
            f"customer {merge.merged_id} is {merged.status}; the merge cannot be undone",
            field="merge_id",
        )
    current_root = merged.merged_into_id
    repo.lock_customers(session, sorted({current_root, merged.id}))
    merged.status = CustomerStatus.ACTIVE.value
    merged.merged_into_id = None
    merged.updated_at = uow.now
    session.flush()
    changes: dict[str, Any] = dict(merge.changes)
    restored_aliases = list(changes.get("repointed_aliases", []))
    repo.restore_aliases(session, restored_aliases, from_root=current_root, to_root=merged.id)
    _restore_consents(uow, merge, current_root, merged.id, actor)
    merge.status = "undone"
    merge.undone_at = uow.now
    merge.undone_by = actor
    merge.undo_reason = reason
    session.flush()
    _note(uow, current_root, f"unmerge:{merge.id}:s", "merge undone", merge.id, merged.id)
    _note(uow, merged.id, f"unmerge:{merge.id}:m", "merge undone", merge.id, current_root)
    uow.record(
        MergeUndone(
            customer_id=current_root,
            merge_id=merge.id,
            restored_id=merged.id,
            restored_ids=[merged.id, *restored_aliases],
            merged_at=merge.created_at.isoformat(),
        )
    )
    return merge_read(merge)


def get_merge(uow: UnitOfWork, merge_id: int) -> MergeRead:
    merge = repo.get_merge(uow.session, merge_id)
    if merge is None:
        raise UnknownMerge(f"no merge with id {merge_id}", field="merge_id")
    return merge_read(merge)


def list_merges(uow: UnitOfWork, customer_ids: list[int]) -> list[MergeRead]:
    return [merge_read(m) for m in repo.list_merges(uow.session, customer_ids)]


def list_reviews(
    uow: UnitOfWork, *, status: str | None = "open", limit: int = 100
) -> list[ReviewRead]:
    return [review_read(r) for r in repo.list_reviews(uow.session, status=status, limit=limit)]


def decide_review(
    uow: UnitOfWork, review_id: int, decision: str, *, reason: str, actor: str
) -> ReviewRead:
    review = repo.lock_review(uow.session, review_id)
    if review is None:
        raise UnknownReview(f"no merge review with id {review_id}", field="review_id")
    if review.status != "open":
        raise ReviewClosed(f"review {review_id} is already {review.status}", field="review_id")
    if decision == "merge":
        merge = merge_customers(
            uow,
            review.customer_a,
            review.customer_b,
            rule=f"review: {review.rule}",
            reason=reason,
            actor=actor,
        )
        review.merge_id = merge.id
        review.status = "merged"
    else:
        review.status = "rejected"
    review.decided_at = uow.now
    review.decided_by = actor
    uow.session.flush()
    return review_read(review)


def merge_read(merge: Merge) -> MergeRead:
    return MergeRead(
        id=merge.id,
        survivor_id=merge.survivor_id,
        merged_id=merge.merged_id,
        status=merge.status,
        rule=merge.rule,
        reason=merge.reason,
        actor=merge.actor,
        created_at=merge.created_at,
        undone_at=merge.undone_at,
        undone_by=merge.undone_by,
        undo_reason=merge.undo_reason,
    )


def review_read(review: Any) -> ReviewRead:
    return ReviewRead(
        id=review.id,
        customer_a=review.customer_a,
        customer_b=review.customer_b,
        rule=review.rule,
        explanation=review.explanation,
        status=review.status,
        created_at=review.created_at,
        decided_by=review.decided_by,
        merge_id=review.merge_id,
    )


def _combine_consents(
    uow: UnitOfWork, survivor: int, merged: int, merge_id: int, actor: str
) -> list[dict[str, Any]]:
    """Per purpose and channel the most restrictive explicit answer wins (a withdrawal beats a
    grant; a profile that never answered does not count)."""
    session = uow.session
    mine = {(c.purpose, c.channel): c for c in repo.list_consents(session, survivor)}
    theirs = {(c.purpose, c.channel): c for c in repo.list_consents(session, merged)}
    changed: list[dict[str, Any]] = []
    for key in sorted(set(mine) | set(theirs)):
        answers = [c.granted for c in (mine.get(key), theirs.get(key)) if c is not None]
        combined = all(answers)
        before = None if mine.get(key) is None else mine[key].granted
        if before is not None and before == combined:
            continue
        event = repo.record_consent(
            session,
            customer_id=survivor,
            purpose=key[0],
            channel=key[1],
            granted=combined,
            now=uow.now,
            source="merge",
            method=f"merge #{merge_id}: most restrictive answer of both profiles",
            actor=actor,
            merge_id=merge_id,
        )
        changed.append(
            {
                "purpose": key[0],
                "channel": key[1],
                "before": before,
                "event_id": event.id,
            }
        )
    return changed


def _restore_consents(
    uow: UnitOfWork, merge: Merge, survivor: int, restored: int, actor: str
) -> None:
    session = uow.session
    for change in merge.changes.get("consents", []):
        current = repo.get_consent(session, survivor, change["purpose"], change["channel"])
        if current is None or current.last_event_id != change["event_id"]:
            continue  # answered again since the merge: the newer answer stands
        repo.record_consent(
            session,
            customer_id=survivor,
            purpose=change["purpose"],
            channel=change["channel"],
            # A profile that had not answered goes back to "no consent".
            granted=bool(change["before"]),
            now=uow.now,
            source="unmerge",
            method=f"undo of merge #{merge.id}: answer before the merge",
            actor=actor,
            merge_id=merge.id,
        )
    watermark = int(merge.changes.get("consent_watermark", 0))
    for event in repo.consent_events_since(session, survivor, watermark):
        if event.granted or event.merge_id == merge.id:
            continue
        repo.record_consent(
            session,
            customer_id=restored,
            purpose=event.purpose,
            channel=event.channel,
            granted=False,
            now=uow.now,
            source="unmerge",
            method=f"withdrawal #{event.id} made while merged applies to both profiles",
            actor=actor,
            merge_id=merge.id,
        )


def _note(
    uow: UnitOfWork, customer_id: int, key: str, what: str, merge_id: int, other: int
) -> None:
    repo.insert_activities(
        uow.session,
        [
            {
                "customer_id": customer_id,
                "anonymous_id": None,
                "kind": "profile",
                "channel": None,
                "occurred_at": uow.now,
                "source_key": key,
                "amount": None,
                "status": None,
                "data": {"what": what, "merge_id": merge_id, "other_customer_id": other},
            }
        ],
    )
