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
DEMAND_WEEKS = 104  # the forecast reads at most this many weeks before its start


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
    demand_from: date | None = None  # first and last day with a sale the forecast read
    demand_to: date | None = None

    def basis(self) -> str:
        """The period the plan's demand comes from, in words."""
        forecast = f"forecast {FORECAST_WEEKS} weeks from {self.start:%Y-%m-%d}"
        if self.demand_from is None or self.demand_to is None:
            return (
                f"no sales in the {DEMAND_WEEKS} weeks before {self.start:%Y-%m-%d}: nothing is"
                " forecast to sell and no reorder point was set by this run; any action below"
                " follows a reorder point set earlier"
            )
        return (
            f"demand history {self.demand_from:%Y-%m-%d} to {self.demand_to:%Y-%m-%d}; {forecast}"
        )


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
    demand_from, demand_to = _sale_days(tx, first)
    return ReplenishmentRun(
        first, locations, table.height, actions, markdown, demand_from, demand_to
    )


def _sale_days(tx: pl.DataFrame, start: date) -> tuple[date | None, date | None]:
    """First and last day with a sale in the weeks the forecast reads."""
    if not tx.height:
        return None, None
    window = tx.filter(
        (pl.col("kind") == "sale")
        & pl.col("sku").is_not_null()
        & (pl.col("quantity") > 0)
        & (pl.col("day") < start)
        & (pl.col("day") >= start - timedelta(weeks=DEMAND_WEEKS))
    )
    if not window.height:
        return None, None
    return window["day"].min(), window["day"].max()  # type: ignore[return-value]
