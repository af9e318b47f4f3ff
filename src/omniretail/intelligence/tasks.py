"""The scheduled refresh: every model refitted on the current history, results stored.

``create_app`` runs ``refresh_forever`` when ``OMNIRETAIL_INTELLIGENCE_REFRESH_SECONDS`` is set
(off by default, and in tests); ``refresh_all`` is the same job for a cron or a test."""

from __future__ import annotations

import asyncio
import logging
from datetime import date, timedelta

from fastapi.concurrency import run_in_threadpool
from pydantic_settings import BaseSettings, SettingsConfigDict

from omniretail.bootstrap import Container
from omniretail.intelligence import recommending, repository, service
from omniretail.intelligence.replenishment import ReplenishmentConfig

log = logging.getLogger("omniretail.intelligence")


class IntelligenceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OMNIRETAIL_INTELLIGENCE_", extra="ignore")

    refresh_seconds: float | None = None  # None: no scheduled refresh
    horizon_weeks: int = 12
    recommendations: int = 10
    lead_time_weeks: int = 2
    service_level: float = 0.95


def refresh_all(
    container: Container, settings: IntelligenceSettings | None = None
) -> dict[str, int]:
    """Refits every model on the whole history and replaces the stored results."""
    settings = settings or IntelligenceSettings()
    tx = service.load_history(container.read_engine)
    as_of = container.clock.now().date() + timedelta(days=1)
    last: date | None = tx.select("day").max().item() if tx.height else None
    if last is not None and last >= as_of:
        as_of = last + timedelta(days=1)
    with container.read_uow() as uow:
        customers = repository.list_customers(uow.session)
    weeks = settings.horizon_weeks
    result = service.forecast_demand(tx, as_of, weeks)
    scores = service.score_customers(tx, customers, as_of, weeks)
    lists = service.recommend_products(tx, as_of, settings.recommendations)
    pairs = recommending.bought_together(tx, as_of)
    config = ReplenishmentConfig(
        lead_time_weeks=settings.lead_time_weeks, service_level=settings.service_level
    )
    with container.uow() as uow:
        counts = {
            "forecast_rows": service.store_forecast(uow, result),
            "customers": service.store_customer_scores(uow, scores, as_of, weeks),
            "recommendations": service.store_recommendations(uow, lists),
            "bought_together": service.store_associations(uow, pairs),
            "policies": service.apply_replenishment_policies(uow, result, config).height,
        }
    return counts


async def refresh_forever(container: Container, interval_seconds: float) -> None:
    while True:
        await asyncio.sleep(interval_seconds)
        try:
            counts = await run_in_threadpool(refresh_all, container)
            log.info("intelligence refreshed: %s", counts)
        except Exception:
            log.exception("intelligence refresh failed; will retry")
