"""The payment sweep as a durable job (``orders.payment_sweep``, omniretail.jobs): pending
checkout payments past their allocation's expiry, reconciled with the provider in batches
(``checkout.attempts``). The server's periodic sweep runs the same function."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from omniretail.jobs.runner import JobContext, JobKinds
from omniretail.orders.checkout import sweep_payment_attempts
from omniretail.orders.payments import PaymentProvider

PAYMENT_SWEEP = "orders.payment_sweep"


def install(kinds: JobKinds, payments: Callable[[], PaymentProvider]) -> None:
    def run(context: JobContext) -> dict[str, Any]:
        total = {"confirmed": 0, "released": 0, "unanswered": 0}
        while True:
            report = sweep_payment_attempts(context.uow_factory, payments(), actor=context.actor)
            total["confirmed"] += report.confirmed
            total["released"] += report.released
            total["unanswered"] += report.unanswered
            done = total["confirmed"] + total["released"]
            context.progress(done, f"{done} payment attempts settled")
            if report.confirmed + report.released == 0:
                return total

    kinds.add(PAYMENT_SWEEP, run)
