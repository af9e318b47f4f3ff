"""The programme's long work as durable jobs (``POST /loyalty/jobs/{name}``, omniretail.jobs).

Release and expiry run in batches, each its own transaction: no lock is held for the whole
run, progress shows after every batch, and a job taken over after a crash carries on from
what is committed (a released or expired lot is not found again)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from omniretail.db.uow import UnitOfWork
from omniretail.jobs.runner import JobContext, JobKinds
from omniretail.loyalty import service

BATCH = 500
DRIFT_SHOWN = 100  # the result lists the first drifted counters; the CLI lists them all
# Job name in the URL -> kind in the jobs table.
KINDS = {
    "release": "loyalty.release",
    "expire": "loyalty.expire",
    "birthdays": "loyalty.birthdays",
    "recompute": "loyalty.recompute",
}


def _in_batches(step: Callable[[UnitOfWork, str, int], int], what: str) -> Any:
    def run(context: JobContext) -> dict[str, Any]:
        total = 0
        while True:
            with context.uow_factory() as uow:
                count = step(uow, context.actor, BATCH)
            total += count
            context.progress(total, f"{total} {what}")
            if count < BATCH:
                return {"processed": total}

    return run


def _birthdays(context: JobContext) -> dict[str, Any]:
    with context.uow_factory() as uow:
        count = service.award_birthday_coupons(uow, actor=context.actor)
    context.progress(count, f"{count} birthday coupons")
    return {"processed": count}


def _recompute(context: JobContext) -> dict[str, Any]:
    """Every account's counters checked against its ledger (read-only)."""
    with context.read_uow_factory() as uow:
        report = service.recompute_balances(uow, fix=False)
    context.progress(1, f"{len(report.drift)} counters drifted")
    return {
        "accounts": report.accounts,
        "drift_count": len(report.drift),
        "drift": [row.model_dump(mode="json") for row in report.drift[:DRIFT_SHOWN]],
    }


def install(kinds: JobKinds) -> None:
    kinds.add(
        KINDS["release"],
        _in_batches(
            lambda uow, actor, n: service.release_matured_points(uow, actor=actor, limit=n),
            "lots released",
        ),
    )
    kinds.add(
        KINDS["expire"],
        _in_batches(
            lambda uow, actor, n: service.expire_points(uow, actor=actor, limit=n),
            "lots expired",
        ),
    )
    kinds.add(KINDS["birthdays"], _birthdays)
    kinds.add(KINDS["recompute"], _recompute)
