"""The journey editor's form: a definition round-trips through the form's fields, the editor's
buttons add, move and remove steps and branches without saving, and bad input is reported
beside the field it concerns."""

from __future__ import annotations

import re
from typing import Any

import pytest
from starlette.datastructures import FormData

from omniretail.marketing.schemas import JourneyDefinition
from omniretail.web.forms import GENERAL
from omniretail.web.hq.journey_form import (
    apply,
    definition_of,
    editor,
    fields_of,
    new_fields,
    values_of,
)
from omniretail.web.rendering import environment
from tests.web.test_journey_graph import RICH
from tests.web.test_sign_in_security import INLINE

EVERY_TRIGGER = [
    {"kind": "event", "event": "orders.cart_line_added", "condition": "event.quantity > 1"},
    {"kind": "segment_entered", "segment_id": 7},
    {"kind": "segment_exited", "segment_id": 8},
    {"kind": "date", "days_before": 3, "at": "08:30"},
    {"kind": "inactivity", "days": 90},
]
RICHER: dict[str, Any] = {
    **RICH,
    "steps": [
        {"id": "pause", "kind": "wait", "days": 1, "hours": 2, "minutes": 5, "until": "09:00"},
        {"id": "check", "kind": "condition", "rule": 'tier == "gold"', "then": "ab"},
        {
            "id": "ab",
            "kind": "split",
            "branches": [
                {"name": "A", "percent": 20},
                {"name": "B", "percent": 30, "next": "coupon"},
                {"name": "control", "percent": 50, "next": "done"},
            ],
        },
        {
            "id": "remind",
            "kind": "send",
            "message": "cart-reminder",
            "channel": "preferred",
            "priority": 80,
            "transactional": True,
            "premise": "in_stock",
            "next": "points",
        },
        {"id": "coupon", "kind": "coupon", "promotion": "SPRING", "valid_days": 14},
        {"id": "points", "kind": "points", "points": 250, "reason": "welcome gift"},
        {"id": "tag", "kind": "attribute", "name": "nudged", "value": ""},
        {"id": "done", "kind": "exit"},
    ],
    "exit_on": ["orders.order_confirmed", "customers.erased"],
    "goal": {"event": "orders.order_confirmed", "within_days": 5},
    "reentry": "once",
    "holdout_percent": 10,
}


def render(values: dict[str, str], errors: dict[str, str] | None = None) -> str:
    context = editor(values, errors, action="/hq/journeys/j", edit_url="/hq/journeys/j/edit")
    return environment().get_template("hq/_journey_form.html").render(csrf="token", **context)


def submitted(html: str) -> FormData:
    """What a browser posts for the rendered form (inputs, ticked boxes, selected options)."""
    pairs: list[tuple[str, str]] = []
    for tag in re.findall(r"<input [^>]*>", html):
        name = re.search(r'name="([^"]+)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if name and ('type="checkbox"' not in tag or " checked" in tag):
            pairs.append((name.group(1), unescape(value.group(1) if value else "")))
    for name, body in re.findall(
        r'<select id="[^"]+" name="([^"]+)"[^>]*>(.*?)</select>', html, re.S
    ):
        chosen = re.search(r'<option value="([^"]*)" selected', body)
        first = re.search(r'<option value="([^"]*)"', body)
        pairs.append((name, unescape((chosen or first).group(1))))  # type: ignore[union-attr]
    for name, body in re.findall(
        r'<textarea [^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', html, re.S
    ):
        pairs.append((name, unescape(body)))
    return FormData(pairs)


def unescape(text: str) -> str:
    for escaped, plain in (("&lt;", "<"), ("&gt;", ">"), ("&#34;", '"'), ("&#39;", "'")):
        text = text.replace(escaped, plain)
    return text.replace("&amp;", "&")


@pytest.mark.parametrize("trigger", EVERY_TRIGGER, ids=lambda t: t["kind"])
def test_a_definition_round_trips_through_the_form(trigger: dict[str, Any]) -> None:
    definition = JourneyDefinition.model_validate({**RICHER, "trigger": trigger})
    assert definition_of(fields_of(definition)) == (definition, {})
    # ... and through the rendered form, as a browser posts it
    posted = values_of(submitted(render(fields_of(definition))))
    assert definition_of(posted) == (definition, {})


def test_values_of_takes_form_data_lists_and_texts() -> None:
    assert values_of(FormData([("a", "1"), ("a", "2")])) == {"a": "1"}
    assert values_of({"a": ["1", "2"], "b": []}) == {"a": "1", "b": ""}
    assert values_of({"a": "1"}) == {"a": "1"}


def test_the_rendered_form_has_no_inline_style_or_script_and_draws_the_graph() -> None:
    html = render(fields_of(JourneyDefinition.model_validate(RICHER)))
    assert INLINE.search(html) is None
    assert '<svg class="journey"' in html
    assert 'hx-post="/hq/journeys/j/edit"' in html and 'action="/hq/journeys/j"' in html
    assert 'name="csrf_token" value="token"' in html


def test_adding_moving_and_removing_steps() -> None:
    values = fields_of(JourneyDefinition.model_validate(RICH))
    added = apply(values, "add:send")
    assert added["step-8-kind"] == "send" and added["step-8-id"] == "send-1"
    added = apply(added, "add:send")
    assert added["step-9-id"] == "send-2"
    moved = apply(added, "up:9")
    assert (moved["step-8-id"], moved["step-9-id"]) == ("send-2", "send-1")
    assert apply(moved, "down:8") == added
    removed = apply(added, "remove:0")
    assert removed["step-0-id"] == "check" and "step-9-id" not in removed
    assert removed["step-1-branch-1-next"] == "coupon"  # the split's branches move with it
    # a new step is valid as added (a split gets two branches of 50%)
    for kind in ("wait", "send", "split", "points", "exit"):
        fresh = apply(values, f"add:{kind}")
        if kind == "send":
            fresh["step-8-message"] = "hello"
        assert definition_of(fresh)[1] == {}, kind


def test_branches_are_added_and_removed() -> None:
    values = fields_of(JourneyDefinition.model_validate(RICH))
    more = apply(values, "add-branch:2")
    assert (more["step-2-branch-2-name"], more["step-2-branch-2-percent"]) == ("C", "0")
    assert apply(more, "remove-branch:2:0")["step-2-branch-0-name"] == "B"
    # a split keeps at least two rows
    assert apply(apply(values, "remove-branch:2:0"), "")["step-2-branch-1-name"] == "A"


def test_buttons_render_the_fragment_with_one_more_step() -> None:
    values = fields_of(JourneyDefinition.model_validate(RICH))
    html = render(apply(values_of(submitted(render(values))), "add:wait"))
    assert html.count('<fieldset class="journey-step') == 9
    assert 'value="wait-1"' in html


def test_a_form_shows_at_most_60_steps() -> None:
    values = fields_of(JourneyDefinition.model_validate(RICH))
    values.update({f"step-{i}-kind": "exit" for i in range(100, 170)})
    assert len(editor(values, action="/a", edit_url="/b")["steps"]) == 60
    assert "at most 50" in definition_of(values)[1]["steps"]


@pytest.mark.parametrize("op", ["", "bogus", "remove:99", "up:0", "add:nothing", "remove:x"])
def test_other_operations_change_nothing(op: str) -> None:
    values = fields_of(JourneyDefinition.model_validate(RICH))
    assert apply(values, op) == values


def with_step(index: int, **changes: str) -> dict[str, str]:
    values = fields_of(JourneyDefinition.model_validate(RICH))
    values.update({f"step-{index}-{name}": text for name, text in changes.items()})
    return values


def test_an_unknown_next_step_is_reported_beside_its_field() -> None:
    definition, errors = definition_of(with_step(3, next="nowhere"))
    assert definition is None
    assert errors["step-3-next"] == "No step has the id 'nowhere'."
    values = with_step(2)
    values["step-2-branch-0-next"] = "gone"
    assert "step-2-branch-0-next" in definition_of(values)[1]


def test_a_loop_is_refused() -> None:
    definition, errors = definition_of(with_step(6, next="pause"))
    assert definition is None
    assert errors == {GENERAL: "the steps must not loop back"}


def test_percentages_must_add_up_to_100() -> None:
    values = with_step(2)
    values["step-2-branch-0-percent"] = "40"
    assert definition_of(values)[1] == {"step-2": "the branches' percentages must add up to 100"}
    values["step-2-branch-0-percent"] = "many"
    assert "integer" in definition_of(values)[1]["step-2-branch-0-percent"]
    html = render(values, definition_of(values)[1])
    assert 'id="f-step-2-branch-0-percent-error"' in html


def test_a_send_needs_a_message() -> None:
    values = with_step(3, message="")
    errors = definition_of(values)[1]
    assert errors == {"step-3-message": "Field required"}
    html = render(values, errors)
    assert 'id="f-step-3-message-error"' in html and '<svg class="journey"' not in html


def test_other_errors_are_named_by_their_field() -> None:
    values = with_step(0, hours="0", until="")
    values.update({"step-1-id": "pause", "trigger-event": "not an event"})
    values.update({"holdout_percent": "90", "goal-within_days": "0", "exit_on": "x y"})
    errors = definition_of(values)[1]
    assert errors["step-0"] == "a wait needs a duration or a time of day"
    assert errors["step-1-id"] == "Another step has this id."
    assert set(errors) >= {"trigger-event", "holdout_percent", "goal-within_days", "exit_on"}
    assert "step-5-points" in definition_of(with_step(5, points="0"))[1]
    assert "step-0-kind" in definition_of(with_step(0, kind="teleport"))[1]
    assert "trigger-kind" in definition_of({**with_step(0), "trigger-kind": "moon"})[1]
    no_steps = {k: v for k, v in with_step(0).items() if not k.startswith("step-")}
    assert definition_of(no_steps)[1] == {
        "steps": "List should have at least 1 item after validation, not 0"
    }


def test_hostile_text_is_escaped_in_the_form() -> None:
    values = with_step(3, message='"><script>alert(1)</script>', id="<b>x</b>")
    values["step-2-branch-0-name"] = "<img src=x onerror=alert(1)>"
    html = render(values, definition_of(values)[1])
    assert "<script>" not in html and "<img" not in html and "<b>x" not in html
    assert 'value="&lt;img src=x onerror=alert(1)&gt;"' in html  # text in a value, inert


def test_a_new_journey_starts_blank_and_is_built_with_the_buttons() -> None:
    values = new_fields()
    assert set(definition_of(values)[1]) == {"trigger-event", "steps"}
    html = render(values)
    assert 'id="f-trigger-event"' in html and '<fieldset class="journey-step' not in html
    values = apply(apply(values_of(submitted(html)), "add:wait"), "add:exit")
    values["trigger-event"] = "customers.registered"
    definition, errors = definition_of(values)
    assert errors == {} and definition is not None
    assert [s.kind for s in definition.steps] == ["wait", "exit"]
    assert definition.goal.event == "orders.order_confirmed"
