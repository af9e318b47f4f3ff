"""The journey drawn as SVG: every step, edge label and end is there, styled by class only,
user text escaped, figures overlaid per step."""

from __future__ import annotations

import re
from typing import Any

from omniretail.marketing.schemas import JourneyDefinition
from omniretail.web.hq.journey_graph import journey_svg, summary
from omniretail.web.rendering import environment
from tests.web.test_sign_in_security import INLINE

RICH: dict[str, Any] = {
    "trigger": {"kind": "event", "event": "orders.cart_line_added", "condition": ""},
    "steps": [
        {"id": "pause", "kind": "wait", "hours": 1, "until": "09:00"},
        {"id": "check", "kind": "condition", "rule": "has_cart", "otherwise": "done"},
        {
            "id": "ab",
            "kind": "split",
            "branches": [
                {"name": "A", "percent": 30},
                {"name": "B", "percent": 70, "next": "coupon"},
            ],
        },
        {"id": "remind", "kind": "send", "message": "cart-reminder", "next": "points"},
        {"id": "coupon", "kind": "coupon", "promotion": "SPRING", "valid_days": 14},
        {"id": "points", "kind": "points", "points": 100},
        {"id": "tag", "kind": "attribute", "name": "nudged", "value": "yes"},
        {"id": "done", "kind": "exit"},
    ],
}


def definition(data: dict[str, Any] = RICH) -> JourneyDefinition:
    return JourneyDefinition.model_validate(data)


def texts(svg: str) -> list[str]:
    return re.findall(r"<text[^>]*>([^<]*)</text>", svg)


def test_every_step_its_kind_and_summary_are_drawn() -> None:
    svg = str(journey_svg(definition()))
    shown = texts(svg)
    for step in definition().steps:
        assert f"{step.id} · {step.kind}" in shown
    assert "wait 1 h, until 09:00" in shown
    assert "send cart-reminder by email" in shown
    assert "split A 30% / B 70%" in shown
    assert "coupon SPRING, 14 days" in shown
    assert "on orders.cart_line_added" in shown
    assert svg.count('class="node node-') == 1 + 8  # the trigger and the steps
    assert "node-end" not in svg  # every path ends at the exit step


def test_edges_are_labelled_then_otherwise_and_by_branch() -> None:
    svg = str(journey_svg(definition()))
    shown = texts(svg)
    for label in ("then", "otherwise", "A 30%", "B 70%"):
        assert label in shown
    # trigger->pause, pause->check, then, otherwise, A, B, remind, coupon, points, tag->done
    assert svg.count('<path class="edge"') == 10
    assert "node-exit" in svg


def test_a_run_that_runs_off_the_end_is_marked() -> None:
    data = {**RICH, "steps": [{"id": "only", "kind": "send", "message": "hello"}]}
    svg = str(journey_svg(definition(data)))
    assert texts(svg).count("end") == 1
    assert svg.count('class="node node-end"') == 1
    data = {
        **RICH,
        "steps": [{"id": "check", "kind": "condition", "rule": "has_cart"}],
    }
    svg = str(journey_svg(definition(data)))
    assert svg.count('class="node node-end"') == 1  # then and otherwise: one edge, one end
    assert "then / otherwise" in texts(svg)


def test_branches_to_one_step_share_an_edge() -> None:
    data = {
        **RICH,
        "steps": [
            {
                "id": "ab",
                "kind": "split",
                "branches": [{"name": "A", "percent": 50}, {"name": "B", "percent": 50}],
            },
            {"id": "last", "kind": "exit"},
        ],
    }
    svg = str(journey_svg(definition(data)))
    assert svg.count('<path class="edge"') == 2 and "A 50% / B 50%" in texts(svg)


def test_no_inline_style_or_script() -> None:
    svg = str(journey_svg(definition(), figures={"remind": "1,203 in · 980 sent"}))
    assert INLINE.search(svg) is None
    assert "fill=" not in svg and "stroke=" not in svg  # colours come from app.css


def test_figures_are_overlaid_per_step() -> None:
    svg = str(journey_svg(definition(), figures={"remind": "1,203 in · 980 sent"}))
    assert '<text class="figures"' in svg
    assert "1,203 in · 980 sent" in texts(svg)
    assert "figures" not in str(journey_svg(definition()))


def test_hostile_text_is_escaped() -> None:
    data = {
        "trigger": {"kind": "event", "event": "orders.cart_line_added", "condition": "</svg>"},
        "steps": [
            {"id": "x", "kind": "attribute", "name": "tag", "value": "<script>alert(1)</script>"},
            {
                "id": "ab",
                "kind": "split",
                "branches": [
                    {"name": '"><img src=x>', "percent": 50},
                    {"name": "B", "percent": 50},
                ],
            },
        ],
    }
    svg = str(
        journey_svg(definition(data), title="<b>t</b>", figures={"x": "<i>"}, dom_id='"><script>')
    )
    assert "<script" not in svg and "<img" not in svg and "<i>" not in svg and "<b>" not in svg
    assert svg.count("</svg>") == 1
    assert "&lt;script&gt;" in svg


def test_summaries() -> None:
    d = definition(
        {
            "trigger": {"kind": "date", "days_before": 3},
            "steps": [
                {"id": "a", "kind": "wait", "days": 2, "minutes": 30},
                {"id": "b", "kind": "wait", "until": "08:30"},
                {"id": "c", "kind": "send", "message": "m", "channel": "preferred"},
                {"id": "d", "kind": "send", "message": "m", "premise": "price_lower"},
            ],
        }
    )
    assert [summary(s) for s in d.steps] == [
        "wait 2 d 30 min",
        "wait until 08:30",
        "send m by preferred channel",
        "send m by email, if price lower",
    ]
    svg = str(journey_svg(d))
    assert "3 d before birthday at 09:00" in texts(svg)
    segment = {"kind": "segment_entered", "segment_id": 4}
    svg = str(journey_svg(definition({**d.model_dump(), "trigger": segment}), segments={4: "VIP"}))
    assert "enters segment VIP" in texts(svg)


def test_the_graph_partial_shows_it_with_a_caption() -> None:
    template = environment().get_template("hq/_journey_graph.html")
    html = template.render(graph=journey_svg(definition()), caption="<i>draft</i>")
    assert html.startswith('<figure class="journey-graph"><svg class="journey"')
    assert "&lt;i&gt;draft&lt;/i&gt;" in html and INLINE.search(html) is None
