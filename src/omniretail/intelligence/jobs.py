"""Intelligence's durable jobs (``omniretail.jobs``): the dynamic pricing run, queued daily,
and the markdown suggestions (``markdowns.suggest``, queued by ``POST /markdowns/runs`` or
the console's "Suggest now"), and the model refresh (``intelligence.refresh``: forecast,
CLV and p_alive, recommendations, all stored; queued by the scheduled refresh when the
server works jobs, so a run survives a restart and is never run twice at once).

``DailySchedule`` (started by ``create_app`` when ``OMNIRETAIL_DYNAMIC_PRICING_DAILY_AT`` is set
and the job worker runs) queues ``pricing.dynamic`` once the day's time has passed and no run
started that day; the jobs table's one-active-job-per-kind index and the change log's
one-change-a-day key make a second queueing, or a second process's schedule, harmless. A cron
can do the same with ``omniretail pricing dynamic run``."""

from __future__ import annotations

import logging
import threading
from datetime import time, timedelta
from typing import Any

from sqlalchemy import Engine

from omniretail.db.uow import UnitOfWork
from omniretail.intelligence import dynamic_pricing, markdown_service
from omniretail.intelligence.dynamic_pricing_rules import DynamicPricingSettings
from omniretail.jobs import service as jobs_service
from omniretail.jobs.errors import JobAlreadyActive
from omniretail.jobs.runner import JobContext, JobFunction, JobKinds
from omniretail.jobs.schemas import JobRead
from omniretail.runtime import Runtime

log = logging.getLogger("omniretail.intelligence")
DYNAMIC_PRICING = dynamic_pricing.JOB_KIND
MARKDOWNS = markdown_service.JOB_KIND
REFRESH = "intelligence.refresh"
PROGRESS_EVERY = 100  # ladders between progress writes
SCHEDULE_ACTOR = "system:schedule"


def _dynamic_pricing(context: JobContext) -> dict[str, Any]:
    """One run in one transaction; safe to run again (a SKU changes at most once a day).
    Progress is reported after the commit: the progress write is a transaction of its own,
    which SQLite would make wait on this one."""
    with context.uow_factory() as uow:
        result = dynamic_pricing.run(uow, actor=context.actor)
    context.progress(result.evaluated, f"{result.changed} of {result.evaluated} prices changed")
    return {"run": result.id, "evaluated": result.evaluated, "changed": result.changed}


def _markdowns(history_engine: Engine) -> JobFunction:
    def suggest(context: JobContext) -> dict[str, Any]:
        """Replaces the undecided suggestions (one write transaction at the end, so running
        it again after a crash suggests afresh); the web channel from tomorrow, as the CLI
        does by default. Progress is written between the fit and the write, outside both."""
        with context.read_uow_factory() as uow:
            start = uow.now.date() + timedelta(days=1)

        def progress(done: int, total: int) -> None:
            if done == total or done % PROGRESS_EVERY == 0:
                context.progress(done, f"{done} of {total} ladders planned")

        run = markdown_service.suggest_markdowns(
            history_engine,
            context.uow_factory,
            context.read_uow_factory,
            channel=markdown_service.JOB_CHANNEL,
            start=start,
            progress=progress,
        )
        return run.read().model_dump(mode="json")

    return suggest


def _refresh(container: Runtime) -> JobFunction:
    def refresh(context: JobContext) -> dict[str, Any]:
        """``tasks.refresh_all``: every model refitted, the results replaced in one
        transaction at its end (running it again after a crash starts afresh)."""
        from omniretail.intelligence.tasks import REFRESH_STEPS, refresh_all

        steps = iter(range(1, REFRESH_STEPS + 1))
        result = refresh_all(
            container,
            progress=lambda message: context.progress(next(steps, REFRESH_STEPS), message),
        )
        return {
            "as_of": result.as_of.isoformat(),
            "order_lines": result.order_lines,
            **result.counts,
        }

    return refresh


def install(kinds: JobKinds, history_engine: Engine, container: Runtime | None = None) -> None:
    """``history_engine``: where the order history is read from (the container's read
    engine), as the CLI reads it; ``container``: what the model refresh runs on."""
    kinds.add(DYNAMIC_PRICING, _dynamic_pricing)
    kinds.add(MARKDOWNS, _markdowns(history_engine))
    if container is not None:
        kinds.add(REFRESH, _refresh(container))


def queue_refresh(uow: UnitOfWork, actor: str = SCHEDULE_ACTOR) -> JobRead | None:
    """Queues a model refresh; None when one is already queued or running."""
    try:
        return jobs_service.enqueue(uow, REFRESH, actor=actor)
    except JobAlreadyActive:
        return None


def queue_daily_run(uow: UnitOfWork, daily_at: time) -> JobRead | None:
    """Queues today's run once ``daily_at`` (UTC) has passed and no run started today;
    None when it is not due or one is already queued or running."""
    if uow.now.time() < daily_at or dynamic_pricing.ran_on(uow, uow.now.date()):
        return None
    try:
        return jobs_service.enqueue(uow, DYNAMIC_PRICING, actor=SCHEDULE_ACTOR)
    except JobAlreadyActive:
        return None


class DailySchedule:
    """``queue_daily_run`` every ``interval`` seconds in a daemon thread."""

    def __init__(self, container: Runtime, daily_at: time, interval: float = 60.0) -> None:
        self.container = container
        self.daily_at = daily_at
        self.interval = interval
        self.stopping = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name="omniretail-dynamic-pricing", daemon=True
        )

    @classmethod
    def from_settings(cls, container: Runtime) -> DailySchedule | None:
        daily_at = DynamicPricingSettings().daily_at
        return cls(container, daily_at) if daily_at is not None else None

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        self.stopping.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self.stopping.wait(self.interval):
            try:
                with self.container.uow() as uow:
                    job = queue_daily_run(uow, self.daily_at)
                if job is not None:
                    log.info("dynamic pricing run queued (%s)", job.id)
            except Exception:
                log.exception("queueing the dynamic pricing run failed; will retry")
