"""The server's periodic pickup sweep: reminders before the collection deadline, and return to
stock of orders not collected after ``pickup_hold_days`` (``fulfilment.sweep_pickups``; the same
as ``POST /orders/sweep-pickups`` and ``omniretail orders sweep-pickups``); each round also
marks return requests past their time as expired."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from omniretail.db.uow import UnitOfWork
from omniretail.fulfilment import transitions as fulfilment
from omniretail.fulfilment.return_requests import expire_return_requests
from omniretail.fulfilment.schemas import SweepReport
from omniretail.routing.service import OrderPolicy

ACTOR = "system:pickup-sweeper"
log = logging.getLogger("omniretail.orders.tasks")


async def sweep_pickups_forever(
    new_uow: Callable[[], UnitOfWork], policy: OrderPolicy, interval: float
) -> None:
    """Every ``interval`` seconds, one sweep in a worker thread; a failure is logged and the
    next round tries again (reminders and transitions are conditional, so nothing doubles)."""
    while True:
        await asyncio.sleep(interval)
        try:
            report = await asyncio.to_thread(sweep_pickups_once, new_uow, policy)
        except Exception:
            log.exception("pickup sweep failed; will retry")
            continue
        if report.reminded or report.returned_to_stock:
            log.info(
                "pickup sweep: %d reminders, %d returned to stock",
                report.reminded,
                report.returned_to_stock,
            )


def sweep_pickups_once(new_uow: Callable[[], UnitOfWork], policy: OrderPolicy) -> SweepReport:
    with new_uow() as uow:
        report = fulfilment.sweep_pickups(uow, policy=policy, actor=ACTOR)
    with new_uow() as uow:
        expired = expire_return_requests(uow)
    if expired:
        log.info("return requests expired: %d", expired)
    return report
