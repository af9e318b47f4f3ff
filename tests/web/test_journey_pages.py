"""The HQ journey pages: a marketer builds a journey in the editor (its buttons re-render the
form without saving), saves it, sees bad input beside its field, publishes, pauses, resumes
and archives it (after a confirmation: it ends the runs); a classic installs as a draft; a
service agent reads but cannot change; store staff and customers have no such pages."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from omniretail.auth.models import Role
from omniretail.bootstrap import Container
from omniretail.marketing import service as marketing
from omniretail.marketing.schemas import JourneyDefinition
from omniretail.web.hq.journey_form import fields_of
from tests.web.conftest import csrf_of, post, sign_in
from tests.web.seed import ASSOCIATE, CUSTOMER_EMAIL, Seeded, add_staff

CART: dict[str, Any] = {
    "trigger": {"kind": "event", "event": "orders.cart_line_added"},
    "steps": [
        {"id": "wait", "kind": "wait", "hours": 1},
        {"id": "still", "kind": "condition", "rule": "has_cart", "otherwise": "done"},
        {"id": "remind", "kind": "send", "message": "cart-reminder", "channel": "email"},
        {"id": "done", "kind": "exit"},
    ],
    "exit_on": ["orders.order_confirmed"],
}


def _form(definition: dict[str, Any], **head: str) -> dict[str, str]:
    return {**fields_of(JourneyDefinition.model_validate(definition)), **head}


def _status(container: Container, code: str) -> str:
    with container.read_uow() as uow:
        return marketing.get_journey(uow, code).status


def test_a_marketer_builds_saves_and_runs_a_journey(
    container: Container, web: TestClient, seeded: Seeded
) -> None:
    add_staff(container, "marketer", Role.MARKETER)
    sign_in(web, "marketer")
    listing = web.get("/hq/journeys")
    assert listing.status_code == 200
    assert 'href="/hq/journeys"' in listing.text  # the nav link
    assert "New journey" in listing.text and "Start from a classic" in listing.text
    assert "Abandoned cart (web and app)" in listing.text and "No journey yet." in listing.text

    new = web.get("/hq/journeys/new")
    assert new.status_code == 200
    assert '<option value="orders.cart_line_added">' in new.text  # the trigger events
    token = csrf_of(new.text)

    # The editor's buttons: HTMX re-renders the fragment; nothing is stored.
    added = web.post(
        "/hq/journeys/new/edit",
        data={"csrf_token": token, "name": "Carts", "trigger-kind": "event", "op": "add:wait"},
        headers={"HX-Request": "true"},
    )
    assert added.status_code == 200
    assert added.text.lstrip().startswith('<div id="journey-editor">')
    assert 'name="step-0-kind"' in added.text and 'value="Carts"' in added.text
    whole = web.post(
        "/hq/journeys/new/edit", data={"csrf_token": token, "op": "add:send"}
    )  # without JavaScript: the whole page
    assert "<html" in whole.text and 'name="step-0-message"' in whole.text
    with container.read_uow() as uow:
        assert marketing.list_journeys(uow) == []

    # A bad form: each problem beside its field, what was typed kept, nothing saved.
    bad = {**_form(CART, name="Carts", code="carts"), "step-1-then": "nowhere", "code": "no way"}
    refused = post(web, "/hq/journeys/new", "/hq/journeys/new", bad)
    assert refused.status_code == 422  # type: ignore[attr-defined]
    assert "No step has the id &#39;nowhere&#39;." in refused.text  # type: ignore[attr-defined]
    assert 'id="f-code-error"' in refused.text  # type: ignore[attr-defined]
    assert 'value="nowhere"' in refused.text  # type: ignore[attr-defined]
    reserved = post(web, "/hq/journeys/new", "/hq/journeys/new", _form(CART, name="N", code="new"))
    assert reserved.status_code == 422  # type: ignore[attr-defined]
    assert "This code names a console page" in reserved.text  # type: ignore[attr-defined]
    with container.read_uow() as uow:
        assert marketing.list_journeys(uow) == []

    made = post(
        web, "/hq/journeys/new", "/hq/journeys/new", _form(CART, name="Carts", code="carts")
    )
    assert made.status_code == 303  # type: ignore[attr-defined]
    assert made.headers["location"].startswith("/hq/journeys/carts?")  # type: ignore[attr-defined]
    page = web.get("/hq/journeys/carts")
    assert "Publish version 1" in page.text and "<svg" in page.text
    assert _status(container, "carts") == "draft"
    redrawn = web.post(
        "/hq/journeys/carts/edit",
        data={**_form(CART), "csrf_token": csrf_of(page.text), "op": "add:points"},
        headers={"HX-Request": "true"},
    )
    assert redrawn.text.lstrip().startswith('<div id="journey-editor">')
    assert 'action="/hq/journeys/carts"' in redrawn.text
    assert 'name="step-4-points" type="number" value="100"' in redrawn.text

    # Editing: a bad save is refused with 422 beside its field; a good one saves the draft.
    wrong = {**_form(CART), "step-0-hours": "-2"}
    again = post(web, "/hq/journeys/carts", "/hq/journeys/carts", wrong)
    assert again.status_code == 422  # type: ignore[attr-defined]
    assert 'id="f-step-0-hours-error"' in again.text  # type: ignore[attr-defined]
    longer = {**_form(CART), "step-0-hours": "2"}
    assert post(web, "/hq/journeys/carts", "/hq/journeys/carts", longer).status_code == 303  # type: ignore[attr-defined]
    with container.read_uow() as uow:
        [version] = marketing.versions(uow, "carts")
        assert version.definition.steps[0].hours == 2  # type: ignore[union-attr]

    published = post(web, "/hq/journeys/carts", "/hq/journeys/carts/publish", {})
    assert published.status_code == 303  # type: ignore[attr-defined]
    assert _status(container, "carts") == "live"
    with container.uow() as uow:
        journey = marketing.get_journey(uow, "carts")
        assert marketing.enter(uow, journey.id, seeded.customer_id, "e1", {}) is not None
    page = web.get("/hq/journeys/carts")
    assert "Publish version" not in page.text and ">Pause</button>" in page.text
    assert "Ada L." in page.text and "Lovelace" not in page.text  # the run, masked
    listing = web.get("/hq/journeys")
    row = listing.text.split('id="journey-carts"')[1].split("</tr>")[0]
    assert ">Live</span>" in row and '<td class="num">v1</td>' in row
    assert row.count('<td class="num">1</td>') == 2  # one active run, one entered

    assert post(web, "/hq/journeys/carts", "/hq/journeys/carts/pause", {}).status_code == 303  # type: ignore[attr-defined]
    assert _status(container, "carts") == "paused"
    paused = web.get("/hq/journeys/carts")
    assert ">Resume</button>" in paused.text
    twice = post(web, "/hq/journeys/carts", "/hq/journeys/carts/pause", {})
    assert twice.status_code == 409  # type: ignore[attr-defined]
    assert "a paused journey cannot become paused" in twice.text  # type: ignore[attr-defined]
    assert post(web, "/hq/journeys/carts", "/hq/journeys/carts/resume", {}).status_code == 303  # type: ignore[attr-defined]
    assert _status(container, "carts") == "live"

    # Archiving ends the runs: it asks first.
    asked = post(web, "/hq/journeys/carts", "/hq/journeys/carts/archive", {})
    assert asked.status_code == 200  # type: ignore[attr-defined]
    assert "1 active runs end now" in asked.text  # type: ignore[attr-defined]
    assert _status(container, "carts") == "live"
    done = post(web, "/hq/journeys/carts", "/hq/journeys/carts/archive", {"confirm": "yes"})
    assert done.status_code == 303  # type: ignore[attr-defined]
    assert _status(container, "carts") == "archived"
    with container.read_uow() as uow:
        [run] = marketing.runs(uow, "carts")
        assert (run.state, run.exit_reason) == ("exited", "archived")
    archived = web.get("/hq/journeys/carts")
    assert "Save draft" not in archived.text and "<svg" in archived.text


def test_a_classic_installs_as_a_draft_and_opens(
    container: Container, web: TestClient, seeded: Seeded
) -> None:
    add_staff(container, "marketer", Role.MARKETER)
    sign_in(web, "marketer")
    installed = post(web, "/hq/journeys", "/hq/journeys/classics", {"classic": "abandoned-cart"})
    assert installed.status_code == 303  # type: ignore[attr-defined]
    location = installed.headers["location"]  # type: ignore[attr-defined]
    assert location.startswith("/hq/journeys/abandoned-cart?")
    page = web.get(location)
    assert "installed as a draft" in page.text and "Publish version 1" in page.text
    assert 'value="orders.cart_line_added"' in page.text  # its trigger, in the editor
    with container.read_uow() as uow:
        assert marketing.get_journey(uow, "abandoned-cart").status == "draft"
        codes = {m.code for m in marketing.list_messages(uow)}
    steps = marketing.CLASSICS[1].definition().steps
    assert {s.message for s in steps if s.kind == "send"} <= codes  # type: ignore[union-attr]
    listing = web.get("/hq/journeys")
    assert 'href="/hq/journeys/abandoned-cart">Open Abandoned cart' in listing.text

    again = post(web, "/hq/journeys", "/hq/journeys/classics", {"classic": "abandoned-cart"})
    assert again.status_code == 409  # type: ignore[attr-defined]
    assert "a journey is coded" in again.text  # type: ignore[attr-defined]
    unknown = post(web, "/hq/journeys", "/hq/journeys/classics", {"classic": "nope"})
    assert unknown.status_code == 404  # type: ignore[attr-defined]


def test_a_service_agent_reads_but_cannot_change_and_store_staff_see_nothing(
    container: Container, web: TestClient, seeded: Seeded
) -> None:
    with container.uow() as uow:
        marketing.install_classic(uow, "welcome-series", actor="test", site_url="http://shop.test")
    add_staff(container, "agent", Role.SERVICE_AGENT)
    sign_in(web, "agent")
    listing = web.get("/hq/journeys")
    assert listing.status_code == 200 and "Welcome series" in listing.text
    assert "New journey" not in listing.text and "Install " not in listing.text
    page = web.get("/hq/journeys/welcome-series")
    assert page.status_code == 200 and "<svg" in page.text
    assert "Save draft" not in page.text and "Publish" not in page.text
    token = csrf_of(page.text)
    form = {**_form(CART), "csrf_token": token}
    assert web.post("/hq/journeys/welcome-series", data=form).status_code == 403
    for verb in ("publish", "pause", "archive"):
        refused = web.post(f"/hq/journeys/welcome-series/{verb}", data={"csrf_token": token})
        assert refused.status_code == 403
        assert "role service_agent may not" in refused.text
    assert web.get("/hq/journeys/new").status_code == 403
    assert web.post("/hq/journeys/new/edit", data={"csrf_token": token}).status_code == 403
    edit = web.post("/hq/journeys/welcome-series/edit", data={"csrf_token": token})
    assert edit.status_code == 403
    assert (
        web.post(
            "/hq/journeys/classics", data={"csrf_token": token, "classic": "abandoned-cart"}
        ).status_code
        == 403
    )
    assert _status(container, "welcome-series") == "draft"

    for who in (ASSOCIATE, CUSTOMER_EMAIL):
        web.cookies.clear()
        sign_in(web, who)
        assert web.get("/hq/journeys").status_code == 403
        assert web.get("/hq/journeys/welcome-series").status_code == 403


def test_a_condition_naming_no_fact_is_refused_beside_its_step(
    container: Container, web: TestClient, seeded: Seeded
) -> None:
    add_staff(container, "marketer", Role.MARKETER)
    sign_in(web, "marketer")
    typo = {**_form(CART, name="Carts", code="carts"), "step-1-rule": "has_crt"}
    refused = post(web, "/hq/journeys/new", "/hq/journeys/new", typo)
    assert refused.status_code == 422  # type: ignore[attr-defined]
    error = 'id="f-step-1-rule-error">step still: has_crt: no such customer fact;'
    assert error in refused.text  # type: ignore[attr-defined]
    made = post(web, "/hq/journeys/new", "/hq/journeys/new", _form(CART, name="C", code="carts"))
    assert made.status_code == 303  # type: ignore[attr-defined]
    page = "/hq/journeys/carts"
    edited = post(web, page, page, {**_form(CART), "step-1-rule": "has_cart &&"})
    assert edited.status_code == 422  # type: ignore[attr-defined]
    assert 'id="f-step-1-rule-error">step still: ' in edited.text  # type: ignore[attr-defined]
    with container.read_uow() as uow:
        (version,) = marketing.versions(uow, "carts")
    assert version.definition.steps[1].rule == "has_cart"  # type: ignore[union-attr]


def test_a_trigger_condition_reading_no_event_is_refused_beside_it(
    container: Container, web: TestClient, seeded: Seeded
) -> None:
    add_staff(container, "marketer", Role.MARKETER)
    sign_in(web, "marketer")
    typo = {**_form(CART, name="Carts", code="carts"), "trigger-condition": "evnt.quantity > 1"}
    refused = post(web, "/hq/journeys/new", "/hq/journeys/new", typo)
    assert refused.status_code == 422  # type: ignore[attr-defined]
    error = 'id="f-trigger-condition-error">the trigger&#39;s condition reads evnt:'
    assert error in refused.text  # type: ignore[attr-defined]
    with container.read_uow() as uow:
        assert marketing.list_journeys(uow) == []
