"""The journey editor as a form, both ways: a ``JourneyDefinition`` as the form's fields, and
a submitted form as a definition or as messages beside its fields. No route here: the pages
``/hq/journeys/{code}`` call, in this order:

- ``fields_of(definition)``: the draft's fields (``name -> text``) for the first render
  (``new_fields()`` for a journey without a definition yet);
- ``values_of(form)``: a submitted form (``posted.values``, ``posted.lists`` or starlette's
  ``FormData``) as ``name -> text``;
- ``apply(values, posted.get("op"))``: the editor's buttons (add, remove, move a step; add or
  remove a split's branch; "" refreshes after a kind changed), for the HTMX POST that re-renders
  the fragment without saving (``hx-post`` = ``edit_url``; without JavaScript the same buttons
  post there as a plain form, so that route renders the whole page when it is not HTMX);
- ``definition_of(values) -> (JourneyDefinition | None, errors)`` when saving; errors are keyed
  by the form's field names (``GENERAL`` for the whole form), as ``web.forms.errors_of`` does;
- ``editor(values, errors, action=..., edit_url=...)``: the context for
  ``hq/_journey_form.html`` (add ``csrf``); it draws the graph when the form is valid.

Names: ``trigger-kind``, ``trigger-<field>``; ``step-<i>-kind``, ``step-<i>-id``,
``step-<i>-next``, ``step-<i>-<field>``, ``step-<i>-branch-<j>-name|percent|next``; ``exit_on``
(comma separated), ``goal-event``, ``goal-within_days``, ``reentry``, ``holdout_percent``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup
from pydantic import BaseModel, ValidationError

from omniretail.kernel.errors import DomainError
from omniretail.marketing.schemas import (
    AttributeStep,
    Branch,
    ConditionStep,
    CouponStep,
    DateTrigger,
    EventTrigger,
    ExitStep,
    Goal,
    InactivityTrigger,
    JourneyDefinition,
    PointsStep,
    SegmentTrigger,
    SendStep,
    SplitStep,
    WaitStep,
)
from omniretail.web.forms import GENERAL, Errors, coerce, errors_of
from omniretail.web.hq.journey_graph import journey_svg

STEP_KINDS: dict[str, type[BaseModel]] = {
    "wait": WaitStep,
    "condition": ConditionStep,
    "split": SplitStep,
    "send": SendStep,
    "coupon": CouponStep,
    "points": PointsStep,
    "attribute": AttributeStep,
    "exit": ExitStep,
}
TRIGGER_KINDS: dict[str, type[BaseModel]] = {
    "event": EventTrigger,
    "segment_entered": SegmentTrigger,
    "segment_exited": SegmentTrigger,
    "date": DateTrigger,
    "inactivity": InactivityTrigger,
}
TRIGGER_CAPTIONS = {
    "event": "An event",
    "segment_entered": "Enters a segment",
    "segment_exited": "Leaves a segment",
    "date": "Birthday",
    "inactivity": "No order for some days",
}
CHANNELS = ("email", "sms", "push", "inbox", "store", "receipt", "preferred")
PREMISES = (("none", "none"), ("in_stock", "still in stock"), ("price_lower", "price still lower"))
# Fields a new step starts with, so that it is valid as added.
NEW_STEP = {
    "wait": {"hours": "1"},
    "send": {"channel": "email", "priority": "50", "premise": "none"},
    "coupon": {"valid_days": "30"},
    "points": {"points": "100", "reason": "journey"},
}
SHOWN_STEPS = 60  # a form with more is not from the editor (it adds up to 50)
_STEP_KEY = re.compile(r"^step-(\d{1,3})-(.+)$")
_BRANCH_KEY = re.compile(r"^branch-(\d{1,2})-(name|percent|next)$")
_SEPARATORS = re.compile(r"[\s,]+")


@dataclass
class StepDraft:
    """One step as posted: its own fields (``kind``, ``id``, ``next``, ...) and a split's rows."""

    fields: dict[str, str] = field(default_factory=dict)
    branches: list[dict[str, str]] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return self.fields.get("kind", "")


@dataclass(frozen=True)
class StepRow:
    """What the template iterates: the step's index (its names' prefix), kind and branches."""

    index: int
    kind: str
    branches: int

    @property
    def prefix(self) -> str:
        return f"step-{self.index}-"


# --- the form's values -----------------------------------------------------------------------


def values_of(form: Any) -> dict[str, str]:
    """``name -> text`` (the first value) from ``FormData``, a dict of lists or of texts."""
    out: dict[str, str] = {}
    for key in form:
        value = form.getlist(key)[:1] if hasattr(form, "getlist") else form[key]
        if isinstance(value, list | tuple):
            value = value[0] if value else ""
        if isinstance(key, str) and isinstance(value, str):
            out[key] = value
    return out


def _split(values: Mapping[str, str]) -> tuple[dict[str, str], list[StepDraft]]:
    head: dict[str, str] = {}
    found: dict[int, StepDraft] = {}
    branches: dict[int, dict[int, dict[str, str]]] = {}
    for key, value in values.items():
        step = _STEP_KEY.match(key)
        if step is None:
            head[key] = value
            continue
        index, name = int(step.group(1)), step.group(2)
        draft = found.setdefault(index, StepDraft())
        branch = _BRANCH_KEY.match(name)
        if branch is None:
            draft.fields[name] = value
        else:
            rows = branches.setdefault(index, {})
            rows.setdefault(int(branch.group(1)), {})[branch.group(2)] = value
    for index, draft in found.items():
        draft.branches = [row for _, row in sorted(branches.get(index, {}).items())]
    steps = [found[i] for i in sorted(found) if "kind" in found[i].fields]
    return head, steps[:SHOWN_STEPS]


def _join(head: Mapping[str, str], steps: Sequence[StepDraft]) -> dict[str, str]:
    out = dict(head)
    for i, draft in enumerate(steps):
        while draft.kind == "split" and len(draft.branches) < 2:
            draft.branches.append(_new_branch(draft.branches, "50"))
        out.update({f"step-{i}-{name}": value for name, value in draft.fields.items()})
        for j, branch in enumerate(draft.branches if draft.kind == "split" else []):
            out.update({f"step-{i}-branch-{j}-{name}": text for name, text in branch.items()})
    return out


def _text(value: Any) -> str:
    if value is None or value is False:
        return ""
    return "on" if value is True else str(value)


def fields_of(definition: JourneyDefinition) -> dict[str, str]:
    """The form's fields for a definition (what ``definition_of`` reads back)."""
    data = definition.model_dump(mode="json")
    head = {f"trigger-{name}": _text(value) for name, value in data["trigger"].items()}
    head.update(
        {
            "exit_on": ", ".join(data["exit_on"]),
            "goal-event": data["goal"]["event"],
            "goal-within_days": str(data["goal"]["within_days"]),
            "reentry": data["reentry"],
            "holdout_percent": str(data["holdout_percent"]),
        }
    )
    steps = []
    for step in data["steps"]:
        branches = step.pop("branches", [])
        draft = StepDraft({k: _text(v) for k, v in step.items() if _text(v)})
        draft.branches = [{k: _text(v) for k, v in b.items()} for b in branches]
        steps.append(draft)
    return _join(head, steps)


def new_fields() -> dict[str, str]:
    """A blank editor: an event trigger to fill in, no step yet, the default goal."""
    goal = Goal()
    return {
        "trigger-kind": "event",
        "exit_on": "",
        "goal-event": goal.event,
        "goal-within_days": str(goal.within_days),
        "reentry": "every_time",
        "holdout_percent": "0",
    }


# --- the editor's buttons --------------------------------------------------------------------


def _new_id(kind: str, steps: Sequence[StepDraft]) -> str:
    taken = {s.fields.get("id", "") for s in steps}
    n = 1
    while f"{kind}-{n}" in taken:
        n += 1
    return f"{kind}-{n}"


def _new_branch(rows: Sequence[dict[str, str]], percent: str) -> dict[str, str]:
    taken = {row.get("name", "") for row in rows}
    name = next(c for c in "ABCDEFGHIJK" if c not in taken)
    return {"name": name, "percent": percent}


def apply(values: Mapping[str, str], op: str) -> dict[str, str]:
    """The form after one of the editor's buttons: ``add:<kind>``, ``remove:<i>``, ``up:<i>``,
    ``down:<i>``, ``add-branch:<i>``, ``remove-branch:<i>:<j>``; anything else only tidies
    the form (a split gets its two branches). Nothing is saved."""
    head, steps = _split(values)
    name, _, rest = op.strip().partition(":")
    args = [int(a) for a in rest.split(":") if a.isdigit() and len(a) <= 3]
    if name == "add" and rest in STEP_KINDS and len(steps) < 50:
        fields = {"kind": rest, "id": _new_id(rest, steps), **NEW_STEP.get(rest, {})}
        steps.append(StepDraft(fields))
    elif args and args[0] < len(steps):
        i = args[0]
        if name == "remove":
            del steps[i]
        elif name == "up" and i > 0:
            steps[i - 1], steps[i] = steps[i], steps[i - 1]
        elif name == "down" and i + 1 < len(steps):
            steps[i], steps[i + 1] = steps[i + 1], steps[i]
        elif name == "add-branch" and len(steps[i].branches) < 10:
            steps[i].branches.append(_new_branch(steps[i].branches, "0"))
        elif name == "remove-branch" and len(args) == 2 and args[1] < len(steps[i].branches):
            del steps[i].branches[args[1]]
    return _join(head, steps)


# --- from the form to a definition -----------------------------------------------------------


def _own(schema: type[BaseModel], raw: Mapping[str, str], skip: tuple[str, ...] = ()) -> Any:
    texts = {k: v for k, v in raw.items() if k in schema.model_fields and k not in skip}
    return coerce(schema, texts)


def _step_data(draft: StepDraft) -> dict[str, Any]:
    schema = STEP_KINDS.get(draft.kind)
    if schema is None:
        return {"kind": draft.kind, "id": draft.fields.get("id", "").strip()}
    data = _own(schema, draft.fields, skip=("branches",))
    if schema is SplitStep:
        data["branches"] = [_own(Branch, row) for row in draft.branches]
    return dict(data)


def _body(values: Mapping[str, str]) -> tuple[dict[str, Any], list[StepDraft]]:
    head, steps = _split(values)
    kind = head.get("trigger-kind", "").strip()
    prefix = "trigger-"
    raw = {k.removeprefix(prefix): v for k, v in head.items() if k.startswith(prefix)}
    trigger = _own(TRIGGER_KINDS[kind], raw) if kind in TRIGGER_KINDS else {"kind": kind}
    goal = _own(Goal, {k.removeprefix("goal-"): v for k, v in head.items() if k[:5] == "goal-"})
    body: dict[str, Any] = {
        "trigger": trigger,
        "steps": [_step_data(s) for s in steps],
        "exit_on": [e for e in _SEPARATORS.split(head.get("exit_on", "")) if e],
        "goal": goal,
    }
    for name in ("reentry", "holdout_percent"):
        body.update(_own(JourneyDefinition, {name: head[name]}) if name in head else {})
    return body, steps


def _references(steps: Sequence[StepDraft]) -> Errors:
    """Step ids that repeat and ``next`` fields naming no step, beside their fields (the
    definition only says so for the whole form)."""
    errors: Errors = {}
    seen: set[str] = set()
    for i, draft in enumerate(steps):
        step_id = draft.fields.get("id", "").strip()
        if step_id and step_id in seen:
            errors[f"step-{i}-id"] = "Another step has this id."
        seen.add(step_id)
    for i, draft in enumerate(steps):
        targets = {name: draft.fields.get(name, "") for name in ("next", "then", "otherwise")}
        for j, row in enumerate(draft.branches if draft.kind == "split" else []):
            targets[f"branch-{j}-next"] = row.get("next", "")
        for name, target in targets.items():
            if target.strip() and target.strip() not in seen:
                errors[f"step-{i}-{name}"] = f"No step has the id {target.strip()!r}."
    return errors


def _field_name(loc: tuple[int | str, ...], kind: str) -> str:
    """A pydantic error's location as the form's field name."""
    if not loc:
        return GENERAL
    if loc[0] == "trigger":
        if len(loc) >= 3:
            return f"trigger-{loc[2]}"
        return "trigger-kind"
    if loc == ("steps",):
        return "steps"
    if loc[0] == "steps" and len(loc) >= 2:
        prefix = f"step-{loc[1]}"
        if len(loc) == 2:
            return f"{prefix}-kind" if kind.startswith("union_tag") else prefix
        rest = loc[3:]
        if rest[:1] == ("branches",) and len(rest) >= 3:
            return f"{prefix}-branch-{rest[1]}-{rest[2]}"
        return f"{prefix}-{rest[0]}" if rest and rest[0] != "branches" else prefix
    if loc[0] == "goal" and len(loc) >= 2:
        return f"goal-{loc[1]}"
    if loc[0] in ("exit_on", "reentry", "holdout_percent"):
        return str(loc[0])
    return GENERAL


def domain_errors(exc: DomainError) -> Errors:
    """A use case's refusal beside the form's field: ``definition.steps.1.rule`` is
    ``step-1-rule``, ``definition.trigger.condition`` is ``trigger-condition``."""
    path = tuple(int(p) if p.isdigit() else p for p in (exc.field or "").split(".")[1:])
    if exc.field and exc.field.startswith("definition.steps.") and len(path) == 3:
        return {f"step-{path[1]}-{path[2]}": exc.detail}
    if exc.field and exc.field.startswith("definition.trigger.") and len(path) == 2:
        return {f"trigger-{path[1]}": exc.detail}
    return errors_of(exc)


def definition_of(values: Mapping[str, str]) -> tuple[JourneyDefinition | None, Errors]:
    """The definition the form describes, or ``None`` and messages by field name."""
    body, steps = _body(values)
    errors = _references(steps)
    try:
        definition = JourneyDefinition.model_validate(body)
    except ValidationError as exc:
        rename = {
            ".".join(str(p) for p in e["loc"]): _field_name(tuple(e["loc"]), e["type"])
            for e in exc.errors()
        }
        for name, message in errors_of(exc, rename).items():
            errors.setdefault(name, message)
        return None, errors
    return (None, errors) if errors else (definition, {})


# --- the template's context ------------------------------------------------------------------


def editor(
    values: Mapping[str, str],
    errors: Errors | None = None,
    *,
    action: str,
    edit_url: str,
    events: Sequence[str] = (),
    messages: Sequence[str] = (),
    segments: Sequence[tuple[int, str]] = (),
    figures: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The context of ``hq/_journey_form.html``: ``action`` saves, ``edit_url`` re-renders the
    fragment (the buttons); ``events``, ``messages`` and ``segments`` are suggested choices."""
    errors = errors or {}
    _, steps = _split(values)
    graph: Markup | None = None
    if not errors:
        definition, _ = definition_of(values)
        if definition is not None:
            names = {segment_id: name for segment_id, name in segments}
            graph = journey_svg(definition, figures=figures, segments=names, dom_id="journey-draft")
    return {
        "values": dict(values),
        "errors": errors,
        "steps": [StepRow(i, s.kind, len(s.branches)) for i, s in enumerate(steps)],
        "step_ids": [s.fields.get("id", "") for s in steps if s.fields.get("id")],
        "step_kinds": list(STEP_KINDS),
        "step_options": [(kind, kind) for kind in STEP_KINDS],
        "channel_options": [(channel, channel) for channel in CHANNELS],
        "trigger_kinds": list(TRIGGER_CAPTIONS.items()),
        "premises": PREMISES,
        "action": action,
        "edit_url": edit_url,
        "events": list(events),
        "messages": list(messages),
        "segments": [(str(segment_id), name) for segment_id, name in segments],
        "graph": graph,
    }
