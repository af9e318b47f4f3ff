"""One replenishment run: history -> forecast -> reorder points written into inventory ->
what to order or transfer, and the overstock report.

``omniretail replenish plan`` and the HQ planning page both run this; they only render it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

import polars as pl
from sqlalchemy import Engine

from omniretail.db.uow import UnitOfWork
from omniretail.intelligence import repository, service
from omniretail.intelligence.replenishment import ReplenishmentConfig, overstock, plan
from omniretail.kernel.errors import DomainError

FORECAST_WEEKS = 12


class NothingToPlan(DomainError):
    slug = "nothing-to-plan"
    title = "No location to plan stock for"
    status = 409


@dataclass(frozen=True)
class ReplenishmentRun:
    start: date
    locations: list[str]
    policies: int
    actions: pl.DataFrame  # sku, location, action, quantity, ...
    markdown: pl.DataFrame  # overstocked SKU x location pairs that are markdown candidates


def run_replenishment(
    history_engine: Engine,
    write_uow: Callable[[], UnitOfWork],
    read_uow: Callable[[], UnitOfWork],
    *,
    config: ReplenishmentConfig,
    channel: str,
    today: date,
    start: date | None = None,
    actor: str = "system:intelligence",
    progress: Callable[[str], None] = lambda _message: None,
) -> ReplenishmentRun:
    """``start`` defaults to the day after the history (or ``today`` without history)."""
    with read_uow() as uow:
        locations = repository.serving_locations(uow.session, channel)
    if not locations:
        raise NothingToPlan(
            f"no location serves channel {channel} and there is no active warehouse to plan"
            " stock for. Create a warehouse (PUT /api/v1/locations/{code} with kind"
            " 'warehouse', then link it to the channel), or run 'omniretail demo --no-serve'"
            " for a demo network with a distribution centre and stores.",
            field="channel",
        )
    tx = service.load_history(history_engine)
    last: date | None = tx.select(pl.col("day").max()).item() if tx.height else None
    first = start or ((last + timedelta(days=1)) if last is not None else today)
    progress(f"loaded {tx.height:,} order lines; planning {', '.join(locations)}")
    result = service.forecast_demand(tx, first, FORECAST_WEEKS)
    progress(f"forecast {len(result.skus):,} SKUs x {FORECAST_WEEKS} weeks from {first:%d %b %Y}")
    with write_uow() as uow:
        table = service.apply_replenishment_policies(
            uow, result, config, channel=channel, actor=actor
        )
    progress(
        f"reorder points and order-up-to levels written for {table.height:,} SKU x location pairs"
    )
    with read_uow() as uow:
        stock = service.stock_positions(uow)
    weekly = table.select("sku", "location", "weekly_demand")
    actions = plan(stock, weekly)
    progress(f"{actions.height:,} actions planned")
    markdown = overstock(stock, weekly, config).filter(pl.col("markdown"))
    progress(f"{markdown.height:,} markdown candidates")
    return ReplenishmentRun(first, locations, table.height, actions, markdown)
