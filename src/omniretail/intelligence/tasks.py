"""The scheduled refresh: every model refitted on the current history, results stored.

``create_app`` runs a ``BackgroundRefresh`` when ``OMNIRETAIL_INTELLIGENCE_REFRESH_SECONDS``
is set (off by default, and in tests unless a test turns it on); ``refresh_all`` is the same
job for a cron, ``omniretail demo`` or a test."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

import polars as pl
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from omniretail.intelligence import recommending, repository, service
from omniretail.intelligence.replenishment import ReplenishmentConfig
from omniretail.runtime import Runtime

log = logging.getLogger("omniretail.intelligence")
Progress = Callable[[str], None]
REFRESH_STEPS = 6  # progress messages refresh_all reports, one as each step starts


class IntelligenceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OMNIRETAIL_INTELLIGENCE_", extra="ignore")

    refresh_seconds: float | None = None  # None: no scheduled refresh
    horizon_weeks: int = 12
    recommendations: int = 10
    lead_time_weeks: int = 2
    service_level: float = Field(0.95, ge=0.5, le=0.999)  # as the CLI's --service-level
    channel: str = "WEB"  # whose serving locations get reorder points


@dataclass
class RefreshResult:
    as_of: date
    order_lines: int
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def refresh_as_of(container: Runtime, last_day: date | None) -> date:
    """The first day of the forecast and the scoring date: the day after the history (an
    imported history that ends in the past is scored as of its end, not as of today, when every
    line would look discontinued); today's date plus one for an empty history."""
    if last_day is None:
        return container.clock.now().date() + timedelta(days=1)
    return last_day + timedelta(days=1)


def refresh_all(
    container: Runtime,
    settings: IntelligenceSettings | None = None,
    progress: Progress | None = None,
) -> RefreshResult:
    """Refits every model on the whole history and replaces the stored results (segments,
    CLV and p_alive, recommendations, bought-together, forecasts, reorder points) in one
    transaction: readers see the previous run or this one."""
    settings = settings or IntelligenceSettings()
    report = progress or (lambda _message: None)
    started = time.perf_counter()
    report("loading the order history")
    tx = service.load_history(container.read_engine)
    last: date | None = tx.select("day").max().item() if tx.height else None
    as_of = refresh_as_of(container, last)
    with container.read_uow() as uow:
        customers = repository.list_customers(uow.session)
    weeks = settings.horizon_weeks
    report(f"forecasting {weeks} weeks from {as_of.isoformat()}")
    result = service.forecast_demand(tx, as_of, weeks)
    report(f"scoring {customers.height:,} customers (segments, CLV, p_alive)")
    scores = service.score_customers(tx, customers, as_of, weeks)
    report("ranking recommendations")
    lists = service.recommend_products(tx, as_of, settings.recommendations)
    report("finding products bought together")
    pairs = recommending.bought_together(tx, as_of)
    report("storing results and reorder points")
    config = ReplenishmentConfig(
        lead_time_weeks=settings.lead_time_weeks, service_level=settings.service_level
    )
    with container.uow() as uow:
        counts = {
            "customers": service.store_customer_scores(uow, scores, as_of, weeks),
            "recommendations": service.store_recommendations(uow, lists),
            "bought_together": service.store_associations(uow, pairs),
            "forecast_rows": service.store_forecast(uow, result),
            "reorder_points": service.apply_replenishment_policies(
                uow, result, config, channel=settings.channel
            ).height,
        }
    seconds = time.perf_counter() - started
    return RefreshResult(as_of, tx.height, counts, seconds)


def score_customers_today(
    container: Runtime, customer_ids: Sequence[int], settings: IntelligenceSettings | None = None
) -> int:
    """Scores these customers (segment, CLV, p_alive) as of today, on the whole history, and
    stores their rows only: for profiles made after the last refresh (the demo's customer),
    without refitting everything. Returns the rows stored."""
    settings = settings or IntelligenceSettings()
    wanted = set(customer_ids)
    tx = service.load_history(container.read_engine)
    as_of = container.clock.now().date() + timedelta(days=1)
    with container.read_uow() as uow:
        customers = repository.list_customers(uow.session)
    customers = customers.filter(pl.col("customer_id").is_in(list(wanted)))
    if customers.is_empty():
        return 0
    scores = service.score_customers(tx, customers, as_of, settings.horizon_weeks)
    with container.uow() as uow:
        return service.store_customer_scores(
            uow, scores, as_of, settings.horizon_weeks, only_these=True
        )


class BackgroundRefresh:
    """``refresh_all`` every ``interval`` seconds in a daemon thread (the first run one
    interval after start). A failed run is logged and retried at the next interval. ``stop``
    waits for a run in progress (it writes in one transaction at its end) up to a timeout.

    With ``queue`` (the server works durable jobs) each interval queues the
    ``intelligence.refresh`` job instead of running the models in this thread: the job
    worker runs it, a restart does not lose it, and a second process cannot run it twice."""

    def __init__(
        self,
        container: Runtime,
        interval: float,
        settings: IntelligenceSettings | None = None,
        queue: bool = False,
    ) -> None:
        self.container = container
        self.interval = interval
        self.settings = settings
        self.queue = queue
        self.stopping = threading.Event()
        self.runs = 0
        self._thread = threading.Thread(
            target=self._run, name="omniretail-intelligence", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        self.stopping.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self.stopping.wait(self.interval):
            if self.queue:
                self._queue()
                continue
            try:
                result = refresh_all(self.container, self.settings)
                self.runs += 1
                log.info(
                    "intelligence refreshed as of %s in %.1f s: %s",
                    result.as_of,
                    result.seconds,
                    result.counts,
                )
            except Exception:
                log.exception("intelligence refresh failed; will retry")

    def _queue(self) -> None:
        from omniretail.intelligence.jobs import queue_refresh

        try:
            with self.container.uow() as uow:
                job = queue_refresh(uow)
            self.runs += job is not None
            if job is not None:
                log.info("intelligence refresh queued (%s)", job.id)
        except Exception:
            log.exception("queueing the intelligence refresh failed; will retry")
