"""Rule-based dynamic pricing with guardrails; every change audited and explained.

**Facts** of a SKU on a channel (the CEL variables of a rule's condition, evaluated by
``cel-python`` as promotion conditions are: no ``eval``; an expression that fails is false):

- ``sku``, ``channel``, ``currency``: strings
- ``available``: int, units available to promise at the locations serving the channel
- ``daily_demand``: double, the stored forecast's units a day (the week covering today, else
  the first week ahead); without a forecast, the recent week's units / 7
- ``cover_days``: double, ``available / daily_demand`` (9999.0 when nothing is expected to sell)
- ``recent_units``: int, units ordered on the channel in the last 7 days
- ``baseline_units``: double, the mean weekly units of the 8 weeks before those
- ``demand_change``: double, percent of ``recent_units`` over ``baseline_units`` (0.0 without a
  baseline)
- ``price``: double, the price the engine charges now; ``full_price``: the channel's own list
  price (``CHANNEL:<code>``), else the catalog price; ``price_ratio``: ``price`` as a percent of
  ``full_price``; ``price_age_days``: int, days since the price last changed (dynamically or in
  the channel's list)

e.g. ``cover_days < 7.0 && demand_change > 30.0``. Write doubles as ``7.0``.

**A run** takes each channel's active rules by priority (highest first, then code); for each
SKU with stock at the channel's serving locations, the first rule whose condition holds moves
the price by its percent. **Guardrails**: the step is at most the rule's and the global
``max_step_percent``; the price never goes above the lowest ceiling nor below the highest floor
(rule and global; absolute or percent of the full price); at most one change per SKU, channel
and day, held by a unique key on the change log (a second run that day, or a parallel one,
changes nothing). A change is written as an entry of the channel's list ``DYN:<channel>``
(priority 100, above the channel's own list) through ``pricing.service``, so the one engine
prices every cart with it; the log keeps the old and new price, the facts and the reason.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from omniretail.catalog import service as catalog
from omniretail.db.uow import UnitOfWork
from omniretail.intelligence import dynamic_pricing_repository as repo
from omniretail.intelligence import repository as intelligence_repo
from omniretail.intelligence.dynamic_pricing_models import (
    DYNAMIC_LIST_PREFIX,
    DYNAMIC_LIST_PRIORITY,
)
from omniretail.intelligence.dynamic_pricing_rules import (
    BASELINE_WEEKS,
    HUNDRED,
    RECENT_DAYS,
    ChangeNotRevertible,
    DynamicPricingSettings,
    InvalidRuleCode,
    UnknownDynamicChange,
    UnknownDynamicRule,
    guardrails,
    holds,
    move,
    reason,
    require_valid_condition,
)
from omniretail.intelligence.dynamic_pricing_schemas import (
    DynamicChangeRead,
    DynamicRuleRead,
    DynamicRuleWrite,
    DynamicRunRead,
    ProposalRead,
)
from omniretail.inventory import service as inventory
from omniretail.kernel.ids import new_id
from omniretail.kernel.money import round_money
from omniretail.pricing import service as pricing
from omniretail.pricing.schemas import PriceEntryWrite, PriceListWrite

NO_DEMAND_COVER = 9999.0
CHANNEL_LIST_READ = 1000  # pricing.service.channel_prices returns at most this many
RULE_CODE = re.compile(r"[A-Z0-9][A-Z0-9._-]{0,59}")
JOB_KIND = "pricing.dynamic"


# --- rules


def save_rule(uow: UnitOfWork, code: str, data: DynamicRuleWrite) -> DynamicRuleRead:
    if not RULE_CODE.fullmatch(code):
        raise InvalidRuleCode(
            "a code is 1-60 letters, digits, '.', '_' or '-', starting with a letter or digit",
            field="code",
        )
    catalog.channel_settings(uow, data.channel)
    require_valid_condition(data.condition)
    values = {
        "name": data.name,
        "channel_code": data.channel,
        "condition": data.condition or None,
        "percent": data.percent,
        "priority": data.priority,
        "floor_amount": data.floor_amount,
        "floor_percent": data.floor_percent,
        "ceiling_amount": data.ceiling_amount,
        "ceiling_percent": data.ceiling_percent,
        "max_step_percent": data.max_step_percent,
        "active": data.active,
        "updated_at": uow.now,
    }
    if repo.get_rule(uow.session, code) is None:
        repo.insert_rule(uow.session, {"code": code, "created_at": uow.now, **values})
    else:
        repo.update_rule(uow.session, code, values)
    return get_rule(uow, code)


def get_rule(uow: UnitOfWork, code: str) -> DynamicRuleRead:
    row = repo.get_rule(uow.session, code)
    if row is None:
        raise UnknownDynamicRule(f"no dynamic pricing rule {code!r}", field="code")
    return _rule_read(row)


def list_rules(uow: UnitOfWork, channel: str | None = None) -> list[DynamicRuleRead]:
    return [_rule_read(r) for r in repo.list_rules(uow.session, channel)]


def set_rule_active(uow: UnitOfWork, code: str, active: bool) -> DynamicRuleRead:
    get_rule(uow, code)
    repo.update_rule(uow.session, code, {"active": active, "updated_at": uow.now})
    return get_rule(uow, code)


def delete_rule(uow: UnitOfWork, code: str) -> None:
    if not repo.delete_rule(uow.session, code):
        raise UnknownDynamicRule(f"no dynamic pricing rule {code!r}", field="code")


def _rule_read(row: Any) -> DynamicRuleRead:
    return DynamicRuleRead(
        code=row.code,
        name=row.name,
        channel=row.channel_code,
        condition=row.condition,
        percent=row.percent,
        priority=row.priority,
        floor_amount=row.floor_amount,
        floor_percent=row.floor_percent,
        ceiling_amount=row.ceiling_amount,
        ceiling_percent=row.ceiling_percent,
        max_step_percent=row.max_step_percent,
        active=row.active,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


# --- facts


def dynamic_list_code(channel: str) -> str:
    return DYNAMIC_LIST_PREFIX + channel


def channel_facts(uow: UnitOfWork, channel: str) -> list[dict[str, Any]]:
    """The facts (module docstring) of every SKU stocked where the channel is served."""
    settings = catalog.channel_settings(uow, channel)
    locations = intelligence_repo.serving_locations(uow.session, channel)
    available: dict[str, int] = {}
    for location in locations:
        for level in inventory.list_stock_levels(uow, location=location, limit=1_000_000):
            available[level.sku] = available.get(level.sku, 0) + max(level.available, 0)
    skus = sorted(available)
    if not skus:
        return []
    now = uow.now
    recent_start = now - timedelta(days=RECENT_DAYS)
    baseline_start = recent_start - timedelta(weeks=BASELINE_WEEKS)
    recent = repo.units_sold(uow.session, channel, skus, recent_start, now)
    baseline = repo.units_sold(uow.session, channel, skus, baseline_start, recent_start)
    forecast = _daily_forecast(uow, skus, now.date())
    context = pricing.context_for(uow, channel, at=now)
    lines = [pricing.LineRequest(sku, sku, 1) for sku in skus]
    priced = {ln.sku: ln for ln in pricing.price_cart(uow, context, lines).lines}
    own = _channel_list_prices(uow, channel, skus)
    changed = repo.last_change_at(uow.session, channel, skus)
    facts = []
    for sku in skus:
        line = priced.get(sku)
        if line is None or line.unit_price is None or not line.active:
            continue
        price = line.unit_price
        if sku in own:
            full = own[sku][0]
        elif line.price_list == pricing.CATALOG_SOURCE:  # a price from the catalog, no list
            full = price
        else:
            full = _catalog_price(uow, sku, price)
        base_week = baseline.get(sku, 0) / BASELINE_WEEKS
        daily = forecast.get(sku, recent.get(sku, 0) / RECENT_DAYS)
        last = max(
            [t for t in (changed.get(sku), own[sku][1] if sku in own else None) if t is not None],
            default=None,
        )
        facts.append(
            {
                "sku": sku,
                "channel": channel,
                "currency": settings.currency,
                "available": available[sku],
                "daily_demand": round(daily, 3),
                "cover_days": round(available[sku] / daily, 2) if daily > 0 else NO_DEMAND_COVER,
                "recent_units": recent.get(sku, 0),
                "baseline_units": round(base_week, 3),
                "demand_change": (
                    round((recent.get(sku, 0) - base_week) / base_week * 100, 1)
                    if base_week > 0
                    else 0.0
                ),
                "price": float(price),
                "full_price": float(full),
                "price_ratio": round(float(price / full * HUNDRED), 1) if full else 100.0,
                "price_age_days": (now - last).days if last is not None else 9999,
                "price_list": line.price_list or "",
            }
        )
    return facts


def _channel_list_prices(
    uow: UnitOfWork, channel: str, skus: Sequence[str]
) -> dict[str, tuple[Decimal, datetime]]:
    """SKU -> (price, updated_at) in the channel's own list; one read, then one per SKU left
    only when that read came back full (it returns at most ``CHANNEL_LIST_READ`` entries)."""
    rows = pricing.channel_prices(uow, None, channel)
    found = {sku: (price, updated) for sku, _channel, price, updated in rows}
    if len(rows) >= CHANNEL_LIST_READ:
        for sku in skus:
            if sku not in found:
                for _sku, _channel, price, updated in pricing.channel_prices(uow, sku, channel):
                    found[sku] = (price, updated)
    return found


def _catalog_price(uow: UnitOfWork, sku: str, fallback: Decimal) -> Decimal:
    found = catalog.get_sku(uow, sku).price
    return found if found is not None else fallback


def _daily_forecast(uow: UnitOfWork, skus: Sequence[str], today: date) -> dict[str, float]:
    """SKU -> forecast units a day: the stored week covering today, else the first ahead."""
    found: dict[str, float] = {}
    for row in intelligence_repo.list_forecasts(uow.session, skus):
        if row.sku_code in found or row.period_start + timedelta(days=7) <= today:
            continue
        found[row.sku_code] = row.quantity / 7
    return found


# --- a run


@dataclass(frozen=True)
class _Proposal:
    facts: dict[str, Any]
    rule: Any | None
    new_price: Decimal | None
    explanation: str


def _decide(
    facts: dict[str, Any], rules: Sequence[Any], settings: DynamicPricingSettings
) -> _Proposal:
    rule = next((r for r in rules if holds(r.condition, facts)), None)
    if rule is None:
        return _Proposal(facts, None, None, "no rule applies")
    currency = facts["currency"]
    price = round_money(Decimal(str(facts["price"])), currency)
    full = Decimal(str(facts["full_price"]))
    outcome = move(price, Decimal(rule.percent), guardrails(rule, full, settings), currency)
    why = f"{reason(rule.condition, facts)}: {outcome.note}"
    return _Proposal(facts, rule, outcome.new_price, why)


def run(
    uow: UnitOfWork,
    *,
    actor: str,
    dry_run: bool = False,
    channel: str | None = None,
    settings: DynamicPricingSettings | None = None,
    progress: Callable[[int, str], None] = lambda _done, _message: None,
) -> DynamicRunRead:
    """Evaluates every active rule's channel (or ``channel``) and applies what the rules
    decide, unless ``dry_run``. In one transaction: the caller's unit of work."""
    settings = settings or DynamicPricingSettings()
    rules = repo.list_rules(uow.session, channel, active_only=True)
    by_channel: dict[str, list[Any]] = {}
    for rule in rules:
        by_channel.setdefault(rule.channel_code, []).append(rule)
    run_id = None if dry_run else new_id()
    if run_id is not None:
        repo.insert_run(uow.session, {"id": run_id, "actor": actor, "started_at": uow.now})
    proposals: list[ProposalRead] = []
    ready: set[str] = set()  # channels whose dynamic list exists
    evaluated = changed = 0
    for code, channel_rules in sorted(by_channel.items()):
        facts = channel_facts(uow, code)
        already = repo.changed_today(uow.session, code, uow.now.date())
        for item in facts:
            evaluated += 1
            proposal = _decide(item, channel_rules, settings)
            if proposal.new_price is not None and item["sku"] in already:
                proposal = _Proposal(item, proposal.rule, None, "already changed today")
            applied = proposal.new_price is not None and (
                dry_run or _apply(uow, proposal, run_id or "", actor, ready)
            )
            if proposal.new_price is not None and not applied:
                proposal = _Proposal(item, proposal.rule, None, "already changed today")
            changed += int(applied)
            proposals.append(_proposal_read(proposal, applied))
        progress(evaluated, f"{code}: {len(facts)} SKUs evaluated, {changed} changed")
    if run_id is not None:
        repo.finish_run(uow.session, run_id, evaluated, changed)
    return DynamicRunRead(
        id=run_id,
        dry_run=dry_run,
        actor=actor,
        started_at=uow.now,
        evaluated=evaluated,
        changed=changed,
        proposals=proposals,
    )


def _proposal_read(p: _Proposal, applied: bool) -> ProposalRead:
    currency = p.facts["currency"]
    return ProposalRead(
        sku=p.facts["sku"],
        channel=p.facts["channel"],
        currency=currency,
        rule=p.rule.code if p.rule is not None else None,
        old_price=round_money(Decimal(str(p.facts["price"])), currency),
        new_price=p.new_price,
        changed=applied,
        explanation=p.explanation,
        facts=p.facts,
    )


def _apply(uow: UnitOfWork, p: _Proposal, run_id: str, actor: str, ready: set[str]) -> bool:
    """Logs the change (the unique key refuses a second one the same day) and writes the price
    into the channel's dynamic list; False when the SKU already changed today."""
    assert p.rule is not None and p.new_price is not None
    channel, sku, currency = p.facts["channel"], p.facts["sku"], p.facts["currency"]
    code = dynamic_list_code(channel)
    change_id = repo.insert_change_unless_changed_today(
        uow.session,
        {
            "run_id": run_id,
            "sku_code": sku,
            "channel_code": channel,
            "day": uow.now.date(),
            "list_code": code,
            "currency": currency,
            "old_price": Decimal(str(p.facts["price"])),
            "old_list": p.facts["price_list"] or None,
            "new_price": p.new_price,
            "rule_code": p.rule.code,
            "facts": p.facts,
            "explanation": p.explanation,
            "actor": actor,
            "at": uow.now,
        },
    )
    if change_id is None:
        return False
    # After the change row: a parallel run waits on its key before creating the list.
    if channel not in ready:
        _ensure_dynamic_list(uow, channel, currency)
        ready.add(channel)
    pricing.set_entry(uow, code, sku, PriceEntryWrite(price=p.new_price), actor=actor)
    return True


def _ensure_dynamic_list(uow: UnitOfWork, channel: str, currency: str) -> str:
    code = dynamic_list_code(channel)
    if code not in {pl.code for pl in pricing.list_price_lists(uow, channel)}:
        pricing.save_price_list(
            uow,
            code,
            PriceListWrite(
                name=f"{channel} dynamic prices",
                currency=currency,
                priority=DYNAMIC_LIST_PRIORITY,
                channel=channel,
            ),
            actor="system:dynamic-pricing",
        )
    return code


# --- the log


def list_changes(
    uow: UnitOfWork,
    *,
    channel: str | None = None,
    sku: str | None = None,
    run_id: str | None = None,
    limit: int = 100,
) -> list[DynamicChangeRead]:
    rows = repo.list_changes(uow.session, channel=channel, sku=sku, run_id=run_id, limit=limit)
    return [_change_read(r) for r in rows]


def get_change(uow: UnitOfWork, change_id: int) -> DynamicChangeRead:
    row = repo.get_change(uow.session, change_id)
    if row is None:
        raise UnknownDynamicChange(f"no dynamic price change {change_id}", field="change_id")
    return _change_read(row)


def ran_on(uow: UnitOfWork, day: date) -> bool:
    """Whether an applied run started on ``day`` (UTC)."""
    return repo.run_started_on(uow.session, day)


def list_runs(uow: UnitOfWork, limit: int = 50) -> list[DynamicRunRead]:
    return [
        DynamicRunRead(
            id=r.id,
            dry_run=False,
            actor=r.actor,
            started_at=r.started_at,
            evaluated=r.evaluated,
            changed=r.changed,
        )
        for r in repo.list_runs(uow.session, limit)
    ]


def revert_change(uow: UnitOfWork, change_id: int, *, actor: str) -> DynamicChangeRead:
    """Puts the price back as it was before the change: the old price in the dynamic list,
    or no dynamic entry when the old price came from another list. Only the SKU's latest
    change on the channel, once."""
    change = get_change(uow, change_id)
    latest = repo.latest_standing_change_of(uow.session, change.sku, change.channel)
    if change.reverted_at is not None:
        raise ChangeNotRevertible(f"change {change_id} was already reverted")
    if latest is not None and latest.id != change.id:
        raise ChangeNotRevertible(
            f"a later change ({latest.id}) of {change.sku} on {change.channel} must be"
            " reverted first"
        )
    if not repo.mark_reverted(uow.session, change_id, uow.now, actor):
        raise ChangeNotRevertible(f"change {change_id} was already reverted")
    if change.old_list == change.price_list:
        pricing.set_entry(
            uow, change.price_list, change.sku, PriceEntryWrite(price=change.old_price), actor=actor
        )
    else:
        pricing.remove_entry(uow, change.price_list, change.sku, actor=actor)
    return get_change(uow, change_id)


def _change_read(row: Any) -> DynamicChangeRead:
    return DynamicChangeRead(
        id=row.id,
        run_id=row.run_id,
        sku=row.sku_code,
        channel=row.channel_code,
        day=row.day,
        price_list=row.list_code,
        currency=row.currency,
        old_price=round_money(row.old_price, row.currency),
        old_list=row.old_list,
        new_price=round_money(row.new_price, row.currency),
        rule=row.rule_code,
        facts=row.facts,
        explanation=row.explanation,
        actor=row.actor,
        at=row.at,
        reverted_at=row.reverted_at,
        reverted_by=row.reverted_by,
    )
