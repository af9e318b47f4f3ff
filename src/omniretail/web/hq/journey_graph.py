"""A journey drawn as inline SVG, top to bottom: the trigger, then each step in layers (a step
sits one layer below the lowest step leading to it), edges labelled ``then`` / ``otherwise``
and with a split's branch and percent, and where a run ends. Styled by the ``svg.journey``
rules of ``static/app.css`` (no inline style, no script); every user text is escaped.

``journey_svg(definition, figures={step_id: "1,203 in · 980 sent"})`` adds a line of figures
under each step (the results page)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import pairwise

from markupsafe import Markup, escape

from omniretail.marketing.schemas import (
    AttributeStep,
    ConditionStep,
    CouponStep,
    DateTrigger,
    EventTrigger,
    ExitStep,
    InactivityTrigger,
    JourneyDefinition,
    PointsStep,
    SegmentTrigger,
    SendStep,
    SplitStep,
    WaitStep,
    successors,
)

BOX_W, BOX_H, FIGURES_H = 220, 54, 16
END_W, END_H = 64, 26
DUMMY_W = 20
GAP_X, GAP_Y, MARGIN = 28, 54, 16
CHARS = 31  # what fits on a box's line at the CSS font size
TRIGGER = "\x00trigger"

AnyStep = (
    WaitStep
    | ConditionStep
    | SplitStep
    | SendStep
    | CouponStep
    | PointsStep
    | AttributeStep
    | ExitStep
)


def duration(days: int, hours: int, minutes: int) -> str:
    parts = [f"{days} d" if days else "", f"{hours} h" if hours else ""]
    parts.append(f"{minutes} min" if minutes else "")
    return " ".join(p for p in parts if p)


def summary(step: AnyStep) -> str:
    """What a step does, in a few words: ``wait 1 h, until 09:00``."""
    if isinstance(step, WaitStep):
        span = duration(step.days, step.hours, step.minutes)
        until = f"until {step.until}" if step.until else ""
        return "wait " + ", ".join(p for p in (span, until) if p)
    if isinstance(step, ConditionStep):
        return f"if {step.rule}"
    if isinstance(step, SplitStep):
        return "split " + " / ".join(f"{b.name} {b.percent}%" for b in step.branches)
    if isinstance(step, SendStep):
        how = "preferred channel" if step.channel == "preferred" else step.channel
        premise = {"none": "", "in_stock": ", if in stock", "price_lower": ", if price lower"}
        return f"send {step.message} by {how}{premise[step.premise]}"
    if isinstance(step, CouponStep):
        return f"coupon {step.promotion}, {step.valid_days} days"
    if isinstance(step, PointsStep):
        return f"award {step.points:,} points"
    if isinstance(step, AttributeStep):
        return f"set {step.name} = {step.value}" if step.value else f"clear {step.name}"
    return "exit"


def trigger_summary(definition: JourneyDefinition, segments: Mapping[int, str]) -> str:
    trigger = definition.trigger
    if isinstance(trigger, EventTrigger):
        return f"on {trigger.event}" + (f" if {trigger.condition}" if trigger.condition else "")
    if isinstance(trigger, SegmentTrigger):
        name = segments.get(trigger.segment_id, f"#{trigger.segment_id}")
        verb = "enters" if trigger.kind == "segment_entered" else "leaves"
        return f"{verb} segment {name}"
    if isinstance(trigger, DateTrigger):
        before = f"{trigger.days_before} d before " if trigger.days_before else ""
        return f"{before}{trigger.field} at {trigger.at}"
    assert isinstance(trigger, InactivityTrigger)
    return f"no order for {trigger.days} days"


@dataclass
class _Node:
    key: str
    kind: str  # trigger, a step's kind, end or dummy
    width: int
    height: int
    layer: int = 0
    x: float = 0.0
    y: float = 0.0
    preds: list[str] = field(default_factory=list)


@dataclass
class _Edge:
    source: str
    target: str
    label: str
    via: list[str] = field(default_factory=list)


def _fit(text: str, chars: int = CHARS) -> str:
    return text if len(text) <= chars else text[: chars - 1] + "\N{HORIZONTAL ELLIPSIS}"


def _graph(definition: JourneyDefinition, height: int) -> tuple[dict[str, _Node], list[_Edge]]:
    nodes = {TRIGGER: _Node(TRIGGER, "trigger", BOX_W, BOX_H)}
    for step in definition.steps:
        nodes[step.id] = _Node(step.id, step.kind, BOX_W, height)
    edges = [_Edge(TRIGGER, definition.steps[0].id, "")]
    for step in definition.steps:
        targets = successors(definition)[step.id]
        if isinstance(step, ConditionStep):
            labels = ["then", "otherwise"]
        elif isinstance(step, SplitStep):
            labels = [f"{b.name} {b.percent}%" for b in step.branches]
        else:
            labels = [""] * len(targets)
        own: dict[str | None, _Edge] = {}
        for target, label in zip(targets, labels, strict=True):
            if target in own:  # two branches to one place: one edge with both labels
                own[target].label += f" / {label}"
                continue
            key = target
            if key is None:
                key = f"\x00end{len(nodes)}"
                nodes[key] = _Node(key, "end", END_W, END_H)
            own[target] = _Edge(step.id, key, label)
        edges += own.values()
    for edge in edges:
        nodes[edge.target].preds.append(edge.source)
    return nodes, edges


def _layers(nodes: dict[str, _Node], edges: list[_Edge], height: int) -> list[list[str]]:
    """Longest-path layers (the definition has no cycle), with a dummy node wherever an edge
    crosses a layer, ordered within each layer by where their predecessors are."""
    pending = {key: len(node.preds) for key, node in nodes.items()}
    ready = [key for key, count in pending.items() if count == 0]
    while ready:
        key = ready.pop(0)
        for edge in edges:
            if edge.source == key:
                target = nodes[edge.target]
                target.layer = max(target.layer, nodes[key].layer + 1)
                pending[edge.target] -= 1
                if pending[edge.target] == 0:
                    ready.append(edge.target)
    for key, node in nodes.items():
        if key != TRIGGER and not node.preds:
            node.layer = max(node.layer, 1)  # a step nothing leads to
    for index, edge in enumerate(edges):
        source = edge.source
        for layer in range(nodes[edge.source].layer + 1, nodes[edge.target].layer):
            key = f"\x00via{index}:{layer}"
            nodes[key] = _Node(key, "dummy", DUMMY_W, height, layer=layer, preds=[source])
            edge.via.append(key)
            source = key
    rows: list[list[str]] = [[] for _ in range(1 + max(n.layer for n in nodes.values()))]
    order = {key: i for i, key in enumerate(nodes)}
    for key, node in nodes.items():
        rows[node.layer].append(key)
    position: dict[str, float] = {}
    for row in rows:
        for key in row:
            edge_preds = [e.via[-1] if e.via else e.source for e in edges if e.target == key]
            preds = nodes[key].preds if nodes[key].kind == "dummy" else edge_preds
            known = [position[p] for p in preds if p in position]
            nodes[key].x = sum(known) / len(known) if known else float(order[key])
        row.sort(key=lambda k: (nodes[k].x, order[k]))
        for i, key in enumerate(row):
            position[key] = float(i)
    return rows


def _place(nodes: dict[str, _Node], rows: list[list[str]], height: int) -> tuple[int, int]:
    widths = [sum(nodes[k].width for k in row) + GAP_X * (len(row) - 1) for row in rows]
    total_w = max(widths) + 2 * MARGIN
    row_h = max(height, BOX_H) + GAP_Y
    for layer, row in enumerate(rows):
        x = (total_w - widths[layer]) / 2
        for key in row:
            node = nodes[key]
            node.x, node.y = x + node.width / 2, MARGIN + layer * row_h
            x += node.width + GAP_X
    return total_w, MARGIN * 2 + len(rows) * row_h - GAP_Y


def _ports(nodes: dict[str, _Node], edges: list[_Edge]) -> dict[int, float]:
    """Where each edge leaves its box: a source's edges spread along its bottom, in the
    left-to-right order of where they go."""
    out: dict[int, float] = {}
    by_source: dict[str, list[int]] = {}
    for i, edge in enumerate(edges):
        by_source.setdefault(edge.source, []).append(i)
    for source, indexes in by_source.items():
        first = [edges[i].via[0] if edges[i].via else edges[i].target for i in indexes]
        order = sorted(range(len(indexes)), key=lambda k: nodes[first[k]].x)
        spacing = min(48.0, BOX_W / (len(indexes) + 1))
        for rank, k in enumerate(order):
            out[indexes[k]] = nodes[source].x + (rank - (len(indexes) - 1) / 2) * spacing
    return out


def _edge_svg(nodes: dict[str, _Node], edge: _Edge, start: float, marker: str) -> str:
    points = [(start, nodes[edge.source].y + nodes[edge.source].height)]
    for key in edge.via:
        points += [(nodes[key].x, nodes[key].y), (nodes[key].x, nodes[key].y + nodes[key].height)]
    points.append((nodes[edge.target].x, nodes[edge.target].y))
    path = [f"M{points[0][0]:.1f} {points[0][1]:.1f}"]
    for (x0, y0), (x1, y1) in pairwise(points):
        mid = (y0 + y1) / 2
        path.append(f"C{x0:.1f} {mid:.1f} {x1:.1f} {mid:.1f} {x1:.1f} {y1:.1f}")
    out = f'<path class="edge" d="{" ".join(path)}" marker-end="url(#{marker})"/>'
    if edge.label:
        (x0, y0), (x1, y1) = points[0], points[1]
        lx, ly = x0 + (x1 - x0) * 0.5, y0 + (y1 - y0) * 0.5
        text = _fit(edge.label, 24)
        w = 7 * len(text) + 10
        out += (
            f'<g class="edge-label"><rect x="{lx - w / 2:.1f}" y="{ly - 9:.1f}" width="{w}"'
            f' height="18" rx="4"/><text x="{lx:.1f}" y="{ly + 4:.1f}"'
            f' text-anchor="middle">{escape(text)}</text></g>'
        )
    return out


def _node_svg(node: _Node, title: str, lines: list[tuple[str, str]]) -> str:
    left, top = node.x - node.width / 2, node.y
    out = [
        f'<g class="node node-{node.kind}"><title>{escape(title)}</title>'
        f'<rect x="{left:.1f}" y="{top:.1f}" width="{node.width}" height="{node.height}"'
        f' rx="{12 if node.kind == "end" else 6}"/>'
    ]
    for i, (css, text) in enumerate(lines):
        anchor = ' text-anchor="middle"' if node.kind == "end" else ""
        x = node.x if node.kind == "end" else left + 10
        out.append(
            f'<text class="{css}" x="{x:.1f}" y="{top + 18 + 17 * i:.1f}"{anchor}>'
            f"{escape(_fit(text))}</text>"
        )
    out.append("</g>")
    return "".join(out)


def journey_svg(
    definition: JourneyDefinition,
    *,
    title: str = "Journey",
    figures: Mapping[str, str] | None = None,
    segments: Mapping[int, str] | None = None,
    dom_id: str = "journey",
) -> Markup:
    """The journey as an ``<svg class="journey">``; ``figures``: a short text per step id,
    ``segments``: segment names by id (for a segment trigger), ``dom_id``: unique on the page."""
    figures = figures or {}
    dom_id = re.sub(r"[^A-Za-z0-9_-]", "-", dom_id) or "journey"
    height = BOX_H + (FIGURES_H if figures else 0)
    nodes, edges = _graph(definition, height)
    rows = _layers(nodes, edges, height)
    width, total_h = _place(nodes, rows, height)
    about = trigger_summary(definition, segments or {})
    desc = "; ".join([f"trigger: {about}"] + [f"{s.id}: {summary(s)}" for s in definition.steps])
    parts = [
        f'<svg class="journey" viewBox="0 0 {width} {total_h}" width="{width}" role="img"'
        f' aria-labelledby="{dom_id}-title {dom_id}-desc" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{dom_id}-title">{escape(title)}</title>'
        f'<desc id="{dom_id}-desc">{escape(desc)}</desc>'
        f'<defs><marker id="{dom_id}-arrow" viewBox="0 0 10 10" refX="9" refY="5"'
        f' markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
        f'<path class="arrow" d="M0 0L10 5L0 10z"/></marker></defs>'
    ]
    starts = _ports(nodes, edges)
    parts += [_edge_svg(nodes, e, starts[i], f"{dom_id}-arrow") for i, e in enumerate(edges)]
    parts.append(_node_svg(nodes[TRIGGER], about, [("step-id", "Trigger"), ("summary", about)]))
    for step in definition.steps:
        text = summary(step)
        lines = [("step-id", f"{step.id} · {step.kind}"), ("summary", text)]
        if step.id in figures:
            lines.append(("figures", figures[step.id]))
        parts.append(_node_svg(nodes[step.id], f"{step.id}: {text}", lines))
    for node in nodes.values():
        if node.kind == "end":
            parts.append(_node_svg(node, "the run ends", [("step-id", "end")]))
    parts.append("</svg>")
    return Markup("".join(parts))
