"""Markdown use cases: suggest ladders for slow stock, review them, approve (scheduled price
lists through ``pricing.service``) or reject, and compare expected with realised sales.

``suggest_markdowns`` fits on the platform's history (``markdowns`` says how) and replaces
the undecided suggestions in one transaction; the others never commit. It runs from the CLI
(``omniretail markdowns suggest``) or as the durable job ``markdowns.suggest``
(``queue_suggestions``: ``POST /markdowns/runs``, the console's "Suggest now"; the job is in
``intelligence.jobs``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import polars as pl
from sqlalchemy import Engine

from omniretail.catalog import service as catalog
from omniretail.catalog.models import LocationKind
from omniretail.db.uow import UnitOfWork
from omniretail.intelligence import markdown_repository as repo
from omniretail.intelligence import repository
from omniretail.intelligence.events import MarkdownApproved, MarkdownRejected
from omniretail.intelligence.forecasting import ForecastConfig, demand_history, forecast
from omniretail.intelligence.markdown_schemas import (
    MarkdownDetail,
    MarkdownRead,
    MarkdownStepRead,
    RealisedRead,
    SuggestRunRead,
)
from omniretail.intelligence.markdowns import (
    Elasticity,
    MarkdownConfig,
    candidates,
    clip_elasticity,
    estimate_elasticity,
    optimise,
    weekly_panel,
)
from omniretail.inventory import service as inventory
from omniretail.jobs import service as jobs_service
from omniretail.jobs.schemas import JobRead
from omniretail.kernel.errors import DomainError
from omniretail.kernel.money import round_money
from omniretail.pricing import service as pricing
from omniretail.pricing.schemas import PriceEntryWrite, PriceListWrite

LIST_PREFIX = "MD:"
PRIORITY = 100  # above each channel's own list (0)
JOB_KIND = "markdowns.suggest"
# What the job suggests for (the CLI's defaults): the web channel, from tomorrow.
JOB_CHANNEL = "WEB"


class UnknownMarkdown(DomainError):
    slug = "unknown-markdown"
    title = "No such markdown suggestion"
    status = 404


class MarkdownDecided(DomainError):
    slug = "markdown-decided"
    title = "This markdown was already approved or rejected"
    status = 409


@dataclass(frozen=True)
class SuggestRun:
    start: date
    clear_by: date
    elasticity: Elasticity
    candidates: int
    suggested: int

    def read(self) -> SuggestRunRead:
        return SuggestRunRead(
            start=self.start,
            clear_by=self.clear_by,
            candidates=self.candidates,
            suggested=self.suggested,
            elasticity=self.elasticity.as_dict(),
        )


def plan_ladders(
    tx: pl.DataFrame,
    stock: pl.DataFrame,
    prices: dict[str, float],
    locations: list[str],
    start: date,
    config: MarkdownConfig,
    *,
    progress: Callable[[int, int], None] = lambda _done, _total: None,
) -> tuple[Elasticity, pl.DataFrame, list[dict[str, Any]]]:
    """Pure: the fit, the candidate pairs, and one plan per candidate with a price
    (``sku, location, on_hand, demand, ladder``). Demand is split evenly over ``locations``
    (the history carries no location, as in the replenishment plan)."""
    fit = estimate_elasticity(
        weekly_panel(tx, start, small_quantity=config.small_quantity),
        holdout_weeks=config.holdout_weeks,
        min_weeks=config.min_weeks,
    )
    response = clip_elasticity(fit.coefficient, config)
    result = forecast(demand_history(tx, start), config.weeks, ForecastConfig())
    share = 1.0 / max(len(locations), 1)
    index = {sku: i for i, sku in enumerate(result.skus)}
    weekly = pl.DataFrame(
        {"sku": result.skus, "demand": result.quantities.sum(axis=1) * share},
        schema={"sku": pl.String, "demand": pl.Float64},
    ).join(pl.DataFrame({"location": locations}, schema={"location": pl.String}), how="cross")
    pairs = candidates(stock, weekly, config.weeks, config)
    pairs = pairs.filter(pl.col("sku").is_in(list(prices)))
    plans: list[dict[str, Any]] = []
    total = pairs.height
    for n, row in enumerate(pairs.iter_rows(named=True)):
        demand = np.clip(result.quantities[index[row["sku"]]] * share, 0.0, None)
        ladder = optimise(
            float(row["on_hand"]), demand, prices[row["sku"]], response, config.guardrails
        )
        plans.append({**row, "full_price": prices[row["sku"]], "ladder": ladder})
        progress(n + 1, total)
    return fit, pairs, plans


def suggest_markdowns(
    history_engine: Engine,
    write_uow: Callable[[], UnitOfWork],
    read_uow: Callable[[], UnitOfWork],
    *,
    channel: str,
    start: date,
    config: MarkdownConfig | None = None,
    progress: Callable[[int, int], None] = lambda _done, _total: None,
) -> SuggestRun:
    config = config or MarkdownConfig()
    tx = repository.load_transactions(history_engine)
    with read_uow() as uow:
        locations = repository.serving_locations(uow.session, channel)
        kinds = {loc.code: str(loc.kind) for loc in catalog.list_locations(uow)}
        running = repo.approved_pairs(uow.session, start)
        levels = inventory.list_stock_levels(uow, limit=1_000_000)
        stock = pl.DataFrame(
            [
                (s.sku, s.location, s.on_hand)
                for s in levels
                if s.location in locations and (s.sku, s.location) not in running
            ]
            or None,
            schema={"sku": pl.String, "location": pl.String, "on_hand": pl.Int64},
            orient="row",
        )
        prices, currency = _full_prices(uow, channel, sorted(set(stock["sku"].to_list())), start)
    fit, pairs, plans = plan_ladders(tx, stock, prices, locations, start, config, progress=progress)
    clear_by = start + timedelta(weeks=config.weeks)
    with write_uow() as uow:
        repo.delete_open(uow.session)
        for plan in plans:
            _store(uow, plan, channel, currency, start, clear_by, fit, config, kinds)
    return SuggestRun(start, clear_by, fit, pairs.height, len(plans))


def queue_suggestions(uow: UnitOfWork, *, actor: str) -> JobRead:
    """Queues ``markdowns.suggest`` (the web channel from tomorrow, the default config);
    ``JobAlreadyActive`` (409) while one is queued or running."""
    return jobs_service.enqueue(uow, JOB_KIND, actor=actor)


def last_suggestions_job(uow: UnitOfWork) -> JobRead | None:
    """The latest ``markdowns.suggest`` job, whatever its state (the console shows it)."""
    found = jobs_service.recent(uow, kind=JOB_KIND, limit=1)
    return found[0] if found else None


def _full_prices(
    uow: UnitOfWork, channel: str, skus: list[str], start: date
) -> tuple[dict[str, float], str]:
    context = pricing.context_for(uow, channel, at=_midnight(start))
    priced = pricing.price_cart(uow, context, [pricing.LineRequest(s, s, 1) for s in skus])
    return (
        {
            ln.sku: float(ln.unit_price)
            for ln in priced.lines
            if ln.unit_price is not None and ln.unit_price > 0
        },
        context.currency,
    )


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def _store(
    uow: UnitOfWork,
    plan: dict[str, Any],
    channel: str,
    currency: str,
    start: date,
    clear_by: date,
    fit: Elasticity,
    config: MarkdownConfig,
    kinds: dict[str, str],
) -> int:
    ladder = plan["ladder"]
    full = round_money(Decimal(str(plan["full_price"])), currency)
    steps = []
    for n, (first, weeks, discount) in enumerate(ladder.steps()):
        units = float(ladder.units[first : first + weeks].sum())
        price = round_money(full * Decimal(str(1 - discount)), currency)
        steps.append(
            {
                "step": n + 1,
                "starts_on": start + timedelta(weeks=first),
                "weeks": weeks,
                "discount": Decimal(str(round(discount, 4))),
                "price": price,
                "expected_units": round(units, 3),
                "expected_revenue": round_money(price * Decimal(str(units)), currency),
            }
        )
    revenue = sum((s["expected_revenue"] for s in steps), Decimal(0))
    baseline = round_money(full * Decimal(str(ladder.baseline_units)), currency)
    rails = asdict(config.guardrails)
    rails["levels"] = list(rails["levels"])
    return repo.insert_suggestion(
        uow.session,
        {
            "sku_code": plan["sku"],
            "location_code": plan["location"],
            "channel_code": channel,
            "currency": currency,
            "status": "suggested",
            "full_price": full,
            "unit_cost": None,
            "on_hand": int(plan["on_hand"]),
            "forecast_units": round(float(plan["demand"]), 3),
            "starts_on": start,
            "clear_by": clear_by,
            "expected_units": round(float(ladder.units.sum()), 3),
            "expected_revenue": revenue,
            "baseline_units": round(ladder.baseline_units, 3),
            "baseline_revenue": baseline,
            "expected_leftover": round(ladder.leftover, 3),
            "clears": ladder.clears,
            "elasticity": round(clip_elasticity(fit.coefficient, config), 4),
            "guardrails": {
                **rails,
                "store_location": kinds.get(plan["location"]) == LocationKind.STORE,
                "fit": fit.as_dict(),
            },
            "created_at": uow.now,
        },
        steps,
    )


# --- reads ---------------------------------------------------------------------------------


def _read(row: Any) -> dict[str, Any]:
    s = row[0]
    return {
        "id": s.id,
        "sku": s.sku_code,
        "name": row.name,
        "category": row.category,
        "location": s.location_code,
        "channel": s.channel_code,
        "currency": s.currency,
        "status": s.status,
        "full_price": round_money(s.full_price, s.currency),
        "unit_cost": s.unit_cost,
        "on_hand": s.on_hand,
        "forecast_units": s.forecast_units,
        "starts_on": s.starts_on,
        "clear_by": s.clear_by,
        "expected_units": s.expected_units,
        "expected_revenue": round_money(s.expected_revenue, s.currency),
        "baseline_units": s.baseline_units,
        "baseline_revenue": round_money(s.baseline_revenue, s.currency),
        "expected_leftover": s.expected_leftover,
        "clears": s.clears,
        "elasticity": s.elasticity,
        "created_at": s.created_at,
        "decided_at": s.decided_at,
        "decided_by": s.decided_by,
    }


def list_markdowns(
    uow: UnitOfWork,
    *,
    status: str | None = None,
    location: str | None = None,
    category: str | None = None,
    limit: int = 200,
) -> list[MarkdownRead]:
    rows = repo.list_suggestions(
        uow.session, status=status, location=location, category=category, limit=limit
    )
    return [MarkdownRead(**_read(r)) for r in rows]


def markdown_categories(uow: UnitOfWork) -> list[str]:
    return repo.categories(uow.session)


def get_markdown(uow: UnitOfWork, suggestion_id: int) -> MarkdownDetail:
    row = repo.get_suggestion(uow.session, suggestion_id)
    if row is None:
        raise UnknownMarkdown(f"no markdown suggestion {suggestion_id}", field="id")
    s = row[0]
    steps = repo.list_steps(uow.session, suggestion_id)
    realised = None
    if s.status == "approved" and s.decided_at is not None:
        since = max(_midnight(s.starts_on), s.decided_at)
        weeks_run = max(0, min((uow.now - since).days // 7, sum(st.weeks for st in steps)))
        expected = 0.0
        left = weeks_run
        for st in steps:
            taken = min(left, st.weeks)
            expected += st.expected_units * taken / st.weeks
            left -= taken
        realised = RealisedRead(
            since=since.date(),
            units=repo.units_sold(uow.session, s.sku_code, s.location_code, since),
            expected_units_to_date=round(expected, 3),
            weeks_run=weeks_run,
        )
    return MarkdownDetail(
        **_read(row),
        guardrails=s.guardrails,
        steps=[
            MarkdownStepRead(
                step=st.step,
                starts_on=st.starts_on,
                weeks=st.weeks,
                discount=st.discount,
                price=round_money(st.price, s.currency),
                expected_units=st.expected_units,
                expected_revenue=round_money(st.expected_revenue, s.currency),
                price_list=st.price_list_code,
            )
            for st in steps
        ],
        realised=realised,
    )


# --- decisions -----------------------------------------------------------------------------


def approve_markdown(uow: UnitOfWork, suggestion_id: int, *, actor: str) -> MarkdownDetail:
    """Schedules each discounted step as its own price list ``MD:<id>:<step>`` (in force from
    the step's start, or now if that has passed, until the next step's), scoped to the store
    when the location is one, else to the channel; priority above the channel's own list."""
    detail = get_markdown(uow, suggestion_id)
    if not repo.decide_if_open(uow.session, suggestion_id, "approved", actor, uow.now):
        raise MarkdownDecided(f"markdown {suggestion_id} is {detail.status}", field="id")
    store = bool(detail.guardrails.get("store_location"))
    for n, step in enumerate(detail.steps):
        if step.discount <= 0:
            continue
        code = f"{LIST_PREFIX}{suggestion_id}:{step.step}"
        begins = max(_midnight(step.starts_on), uow.now)
        last = n == len(detail.steps) - 1
        ends = None if last else _midnight(detail.steps[n + 1].starts_on)
        if ends is not None and ends <= begins:
            continue
        pricing.save_price_list(
            uow,
            code,
            PriceListWrite(
                name=f"Markdown {suggestion_id} step {step.step} ({step.discount * 100:.0f}% off)",
                currency=detail.currency,
                priority=PRIORITY,
                channel=None if store else detail.channel,
                location=detail.location if store else None,
                valid_from=begins,
                valid_to=ends,
            ),
            actor=actor,
        )
        pricing.set_entry(uow, code, detail.sku, PriceEntryWrite(price=step.price), actor=actor)
        repo.set_step_list(uow.session, suggestion_id, step.step, code)
    uow.record(
        MarkdownApproved(
            suggestion_id=suggestion_id, sku=detail.sku, location=detail.location, actor=actor
        )
    )
    return get_markdown(uow, suggestion_id)


def reject_markdown(uow: UnitOfWork, suggestion_id: int, *, actor: str) -> MarkdownDetail:
    detail = get_markdown(uow, suggestion_id)
    if not repo.decide_if_open(uow.session, suggestion_id, "rejected", actor, uow.now):
        raise MarkdownDecided(f"markdown {suggestion_id} is {detail.status}", field="id")
    uow.record(
        MarkdownRejected(
            suggestion_id=suggestion_id, sku=detail.sku, location=detail.location, actor=actor
        )
    )
    return get_markdown(uow, suggestion_id)
