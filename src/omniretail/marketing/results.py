"""A journey's results, per journey (optionally one version) and per step.

Aggregated in the database, a handful of GROUP BY statements whatever the number of runs:
runs by holdout and state (entered, converted), revenue by holdout and currency, the journal
by step, outcome and holdout (reached, outcomes, converted after reaching the step: a split's
branches), sends by step, channel, status and reason, and clicks on the sends' tracked links
(per step, then for the journey: a customer clicking twice is one customer).

A conversion is the run's goal event within its window, recorded by the engine on every
channel (an order at the till converts a web journey). Lift compares treated runs with the
holdout (``results_stats.lift``); a split's winner compares its branches' treated runs
(``results_stats.split_winner``): holdout runs take branches too but are sent nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, case, distinct, func, select

from omniretail.db.uow import UnitOfWork
from omniretail.marketing.errors import UnknownJourney
from omniretail.marketing.journeys_definition import JourneyDefinition, SplitStep
from omniretail.marketing.journeys_models import Journey, JourneyVersion, Run, RunStep
from omniretail.marketing.messages_models import MessageClick
from omniretail.marketing.results_stats import MIN_GROUP, Proportion, lift, split_winner
from omniretail.marketing.schemas import (
    BranchRead,
    ClicksRead,
    GroupRead,
    JourneyResultsRead,
    LiftRead,
    RevenueRead,
    SendsRead,
    SplitRead,
    StepResultsRead,
)
from omniretail.marketing.sending_models import MarketingSend

CENT = Decimal("0.01")
BRANCH = "branch:"


def journey_results(
    uow: UnitOfWork, code: str, *, version: int | None = None
) -> JourneyResultsRead:
    """The journey's figures (``version``: only runs of that version; None: all)."""
    session = uow.session
    journey = session.scalar(select(Journey).where(Journey.code == code))
    if journey is None:
        raise UnknownJourney(f"no journey {code!r}")
    definitions = {
        v: JourneyDefinition.model_validate(d)
        for v, d in session.execute(
            select(JourneyVersion.version, JourneyVersion.definition).where(
                JourneyVersion.journey_id == journey.id
            )
        )
    }
    if version is not None and version not in definitions:
        raise UnknownJourney(f"journey {code!r} has no version {version}", field="version")
    shown = definitions[version or journey.live_version or max(definitions)]

    def of_runs(*where: ColumnElement[bool]) -> list[ColumnElement[bool]]:
        return [Run.journey_id == journey.id, *where] + (
            [Run.version == version] if version is not None else []
        )

    groups = {False: GroupRead(), True: GroupRead()}
    states: dict[str, int] = defaultdict(int)
    for holdout, state, runs, converted in session.execute(
        select(Run.holdout, Run.state, func.count(), func.count(Run.converted_at))
        .where(*of_runs())
        .group_by(Run.holdout, Run.state)
    ):
        group = groups[bool(holdout)]
        group.runs += runs
        group.converted += converted
        states[state] += runs
    for group in groups.values():
        group.rate = group.converted / group.runs if group.runs else 0.0
    treated, held_out = groups[False], groups[True]
    measured = lift(
        Proportion(treated.converted, treated.runs), Proportion(held_out.converted, held_out.runs)
    )
    revenue = [
        RevenueRead(
            currency=currency,
            holdout=bool(holdout),
            converted=converted,
            revenue=Decimal(str(total or 0)).quantize(CENT),
        )
        for holdout, currency, converted, total in session.execute(
            select(Run.holdout, Run.currency, func.count(), func.sum(Run.revenue))
            .where(*of_runs(Run.converted_at.is_not(None)))
            .group_by(Run.holdout, Run.currency)
            .order_by(Run.holdout, Run.currency)
        )
    ]
    journal = _journal(uow, journey.id, version)
    sends = _sends(uow, journey.id, version)
    clicks, total_clicks = _clicks(uow, journey.id, version)
    steps = [
        _step(step_id, _kind(step_id, shown, definitions), journal, sends, clicks, definitions)
        for step_id in _step_ids(shown, journal, sends)
    ]
    return JourneyResultsRead(
        code=journey.code,
        name=journey.name,
        status=journey.status,
        version=version,
        versions=sorted(definitions),
        entered=treated.runs + held_out.runs,
        states=dict(states),
        treated=treated,
        holdout=held_out,
        holdout_percent=shown.holdout_percent,
        lift=LiftRead(**asdict(measured)) if measured else None,
        min_group=MIN_GROUP,
        revenue=revenue,
        sends=_summary(row[1:] for row in sends),
        clicks=total_clicks,
        steps=steps,
    )


# (step id, outcome, holdout) -> (runs, converted at or after the step)
Journal = dict[tuple[str, str, bool], tuple[int, int]]


def _journal(uow: UnitOfWork, journey_id: int, version: int | None) -> Journal:
    after = func.sum(case((Run.converted_at >= RunStep.at, 1), else_=0))
    query = (
        select(RunStep.step_id, RunStep.outcome, Run.holdout, func.count(), after)
        .join(Run, Run.id == RunStep.run_id)
        .where(RunStep.journey_id == journey_id)
        .group_by(RunStep.step_id, RunStep.outcome, Run.holdout)
    )
    if version is not None:
        query = query.where(RunStep.version == version)
    return {
        (step_id, outcome, bool(holdout)): (int(runs), int(converted or 0))
        for step_id, outcome, holdout, runs, converted in uow.session.execute(query)
    }


def _sends(uow: UnitOfWork, journey_id: int, version: int | None) -> list[tuple[Any, ...]]:
    """(step id, channel, status, reason, sends) rows."""
    channel = func.coalesce(MarketingSend.channel, MarketingSend.requested_channel)
    query = (
        select(
            MarketingSend.step_id,
            channel,
            MarketingSend.status,
            MarketingSend.reason,
            func.count(),
        )
        .where(MarketingSend.journey_id == journey_id)
        .group_by(MarketingSend.step_id, channel, MarketingSend.status, MarketingSend.reason)
    )
    if version is not None:
        query = query.join(Run, Run.id == MarketingSend.run_id).where(Run.version == version)
    return [tuple(row) for row in uow.session.execute(query)]


def _clicks(
    uow: UnitOfWork, journey_id: int, version: int | None
) -> tuple[dict[str, ClicksRead], ClicksRead]:
    """Clicks on the journey's sends by step, and for the whole journey."""

    def query(*columns: Any) -> Any:
        q = (
            select(
                *columns,
                func.count(MessageClick.id),
                func.count(distinct(MessageClick.customer_id)),
            )
            .join(MarketingSend, MarketingSend.id == MessageClick.send_id)
            .where(MarketingSend.journey_id == journey_id)
        )
        if version is not None:
            q = q.join(Run, Run.id == MarketingSend.run_id).where(Run.version == version)
        return q

    by_step = {
        step_id: ClicksRead(total=total, customers=customers)
        for step_id, total, customers in uow.session.execute(
            query(MarketingSend.step_id).group_by(MarketingSend.step_id)
        )
        if step_id is not None
    }
    total, customers = uow.session.execute(query()).one()
    return by_step, ClicksRead(total=total or 0, customers=customers or 0)


def _summary(rows: Iterable[tuple[Any, ...]]) -> SendsRead:
    """(channel, status, reason, sends) rows summed."""
    out = SendsRead()
    for channel, status, reason, count in rows:
        out.total += count
        per = out.by_channel.setdefault(channel, {})
        per[status] = per.get(status, 0) + count
        if status in ("suppressed", "dropped"):
            reasons = out.suppressed if status == "suppressed" else out.dropped
            key = reason or "unknown"
            reasons[key] = reasons.get(key, 0) + count
        elif status in ("sent", "held", "queued", "failed"):
            setattr(out, status, getattr(out, status) + count)
    return out


def _step_ids(
    shown: JourneyDefinition, journal: Journal, sends: list[tuple[Any, ...]]
) -> list[str]:
    """The shown version's steps, then any other version's step that has figures."""
    ids = [s.id for s in shown.steps]
    seen = {key[0] for key in journal} | {row[0] for row in sends if row[0]}
    return ids + sorted(seen - set(ids))


def _kind(step_id: str, shown: JourneyDefinition, definitions: dict[int, JourneyDefinition]) -> str:
    for definition in (shown, *(definitions[v] for v in sorted(definitions, reverse=True))):
        for step in definition.steps:
            if step.id == step_id:
                return step.kind
    return "removed"


def _split_of(step_id: str, definitions: dict[int, JourneyDefinition]) -> SplitStep | None:
    for v in sorted(definitions, reverse=True):
        for step in definitions[v].steps:
            if step.id == step_id and isinstance(step, SplitStep):
                return step
    return None


def _step(
    step_id: str,
    kind: str,
    journal: Journal,
    sends: list[tuple[Any, ...]],
    clicks: dict[str, ClicksRead],
    definitions: dict[int, JourneyDefinition],
) -> StepResultsRead:
    outcomes: dict[str, int] = defaultdict(int)
    reached = converted = 0
    branches: dict[str, Proportion] = {}
    for (sid, outcome, holdout), (runs, after) in journal.items():
        if sid != step_id:
            continue
        outcomes[outcome] += runs
        reached += runs
        converted += after
        if outcome.startswith(BRANCH) and not holdout:
            branches[outcome.removeprefix(BRANCH)] = Proportion(after, runs)
    split = None
    if kind == "split":
        step = _split_of(step_id, definitions)
        names = [b.name for b in step.branches] if step else []
        names += sorted(set(branches) - set(names))
        proportions = {n: branches.get(n, Proportion(0, 0)) for n in names}
        verdict = split_winner(proportions)
        split = SplitRead(
            branches=[
                BranchRead(name=n, runs=p.total, converted=p.converted, rate=p.rate)
                for n, p in proportions.items()
            ],
            best=verdict.best,
            winner=verdict.winner,
            p_value=verdict.p_value,
            min_group=MIN_GROUP,
        )
    return StepResultsRead(
        step_id=step_id,
        kind=kind,
        reached=reached,
        converted=converted,
        outcomes=dict(outcomes),
        sends=_summary(row[1:] for row in sends if row[0] == step_id),
        clicks=clicks.get(step_id, ClicksRead()),
        split=split,
    )
