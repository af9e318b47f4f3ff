"""Support's durable job (``omniretail.jobs``): ``support.auto_resolve`` resolves the web chats
the assistant answered and the customer left (``auto_resolve``), in batches, each batch its
own transaction (running it again after a crash finds only what is left).

The server's sweep queues it (``queue_auto_resolve``) when a chat is due; one queued or running
job at a time (the jobs table's one-active-job-per-kind index). ``omniretail jobs run`` or the
server's worker runs it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from omniretail.db.uow import UnitOfWork
from omniretail.jobs import service as jobs_service
from omniretail.jobs.errors import JobAlreadyActive
from omniretail.jobs.runner import JobContext, JobKinds
from omniretail.jobs.schemas import JobRead
from omniretail.support.auto_resolve import auto_resolve_due, resolve_answered_chats

AUTO_RESOLVE = "support.auto_resolve"
SWEEP_ACTOR = "system:support-sweeper"
BATCH = 200


def install(kinds: JobKinds, *, after_hours: float) -> None:
    """``after_hours``: ``support_chat_auto_resolve_hours`` (0: chats are never resolved by
    themselves, the job resolves nothing)."""

    def run(context: JobContext) -> dict[str, Any]:
        total = 0
        while after_hours > 0:
            with context.uow_factory() as uow:
                count = resolve_answered_chats(uow, after_hours=after_hours, limit=BATCH)
            total += count
            context.progress(total, f"{total} chats resolved")
            if count < BATCH:
                break
        return {"resolved": total}

    kinds.add(AUTO_RESOLVE, run)


def queue_auto_resolve(
    uow_factory: Callable[[], UnitOfWork], *, after_hours: float
) -> JobRead | None:
    """Queues ``support.auto_resolve`` when a chat is due and none is queued or running; the
    job queued, or None."""
    if after_hours <= 0:
        return None
    with uow_factory() as uow:
        if not auto_resolve_due(uow, after_hours=after_hours):
            return None
    try:
        with uow_factory() as uow:
            return jobs_service.enqueue(uow, AUTO_RESOLVE, actor=SWEEP_ACTOR)
    except JobAlreadyActive:
        return None
