"""HQ journey results (``/hq/journeys/{code}/results``): the figures per journey and step,
sends per channel and suppressions by reason as charts, the lift against the holdout and each
split's winner in plain words, and the journey drawn with each step's figures. Decided as the
API's ``GET /marketing/journeys/{code}/results`` (``marketing:read``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from omniretail.db.uow import UnitOfWork
from omniretail.kernel.limits import whole_number
from omniretail.marketing import service as marketing
from omniretail.marketing.schemas import (
    JourneyDefinition,
    JourneyResultsRead,
    SplitRead,
    StepResultsRead,
)
from omniretail.web import charts
from omniretail.web.deps import HqDep, PageRoute, authorize_as, read, render
from omniretail.web.hq.journey_graph import journey_svg

router = APIRouter(prefix="/hq/journeys", route_class=PageRoute, include_in_schema=False)
STATUSES = ("sent", "held", "queued", "suppressed", "dropped", "failed")


def percent(rate: float) -> str:
    return f"{rate * 100:.1f} %"


def p_text(p_value: float) -> str:
    if p_value < 0.001:
        return "p < 0.001"
    return f"p = {p_value:.2f}" if p_value >= 0.01 else f"p = {p_value:.3f}"


def lift_sentence(r: JourneyResultsRead) -> str:
    """E.g. ``Converted 12.0 % vs 9.0 % in the holdout: +3.0 points (95 % CI +0.3 to +5.7),
    p = 0.03``; or why there is no comparison yet."""
    if r.holdout.runs == 0 and r.holdout_percent == 0:
        return (
            f"Converted {percent(r.treated.rate)}; this journey keeps no holdout to compare with."
        )
    if r.lift is None:
        if r.holdout.runs < r.min_group:
            return (
                f"Converted {percent(r.treated.rate)}; not enough customers in the holdout yet"
                f" ({r.holdout.runs} of the {r.min_group} needed)."
            )
        return (
            f"Converted {percent(r.holdout.rate)} in the holdout; not enough treated customers"
            f" yet ({r.treated.runs} of the {r.min_group} needed)."
        )
    lf = r.lift
    return (
        f"Converted {percent(lf.treated_rate)} vs {percent(lf.holdout_rate)} in the holdout:"
        f" {lf.difference * 100:+.1f} points ({lf.confidence * 100:g} % CI"
        f" {lf.low * 100:+.1f} to {lf.high * 100:+.1f}), {p_text(lf.p_value)}"
    )


def split_sentence(step_id: str, split: SplitRead) -> str:
    """The A/B verdict of one split step, in words."""
    rates = ", ".join(f"{b.name} {percent(b.rate)} of {b.runs:,}" for b in split.branches)
    if split.best is None:
        return f"Split {step_id}: too few customers have been through it to compare ({rates})."
    if split.p_value is None:
        return (
            f"Split {step_id}: {split.best} leads ({rates}); not enough customers in each"
            f" branch yet ({split.min_group} needed)."
        )
    if split.winner is not None:
        return f"Split {step_id}: {split.winner} wins ({rates}), {p_text(split.p_value)}."
    return f"Split {step_id}: no winner yet, {split.best} leads ({rates}), {p_text(split.p_value)}."


def step_figures(step: StepResultsRead) -> str:
    """The line under a step on the graph: ``120 in · 80 sent · 5 clicks``."""
    parts = [f"{step.reached:,} in"]
    if step.kind == "send":
        parts += [f"{step.sends.sent:,} sent", f"{step.clicks.total:,} clicks"]
    elif step.split is not None:
        parts += [f"{b.name} {b.rate * 100:.0f}%" for b in step.split.branches]
    else:
        parts.append(f"{step.converted:,} conv.")
    return " · ".join(parts)


def _charts(r: JourneyResultsRead) -> dict[str, Any]:
    channels = sorted(r.sends.by_channel)
    statuses = [s for s in STATUSES if any(s in r.sends.by_channel[c] for c in channels)]
    series: dict[str, Sequence[float]] = {
        s: [float(r.sends.by_channel[c].get(s, 0)) for c in channels] for s in statuses
    }
    reasons = [
        (f"{status} {reason.replace('_', ' ')}", float(n))
        for status, found in (("suppressed", r.sends.suppressed), ("dropped", r.sends.dropped))
        for reason, n in sorted(found.items(), key=lambda kv: -kv[1])
    ]
    return {
        "channels_chart": charts.stacked_columns(
            channels, series, title="Sends per channel by status"
        )
        if channels
        else None,
        "reasons_chart": charts.bars(reasons, title="Suppressed and dropped sends by reason")
        if reasons
        else None,
        "reasons": reasons,
        "statuses": statuses,
        "channels": channels,
    }


def _version(raw: str) -> int | None:
    return whole_number(raw) or None


@router.get("/{code}/results", response_class=HTMLResponse)
def results_page(request: Request, viewer: HqDep, code: str, version: str = "") -> HTMLResponse:
    code = code[:60]
    authorize_as(request, viewer, "GET /marketing/journeys/{code}/results", {"code": code})
    asked = _version(version)

    def load(uow: UnitOfWork) -> tuple[JourneyResultsRead, JourneyDefinition]:
        results = marketing.journey_results(uow, code, version=asked)
        versions = marketing.versions(uow, code)
        live = next((v for v in versions if v.live), versions[-1])
        shown = next((v for v in versions if v.version == asked), live)
        return results, shown.definition

    results, definition = read(request, load)
    figures = {s.step_id: step_figures(s) for s in results.steps}
    graph = journey_svg(
        definition, title=f"{results.name}: results", figures=figures, dom_id="journey-results"
    )
    return render(
        request,
        "hq/journey_results.html",
        viewer=viewer,
        r=results,
        graph=graph,
        lift_text=lift_sentence(results),
        splits=[split_sentence(s.step_id, s.split) for s in results.steps if s.split is not None],
        percent=percent,
        **_charts(results),
    )
