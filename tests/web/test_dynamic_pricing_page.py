"""The HQ dynamic pricing page: a marketer creates a rule (a bad condition is shown beside its
field), previews a run, and after a run reads the change with its reason and reverts it; a
service agent reads but cannot change; a store associate is not let in."""

from __future__ import annotations

import html

from omniretail.auth.models import Role
from omniretail.intelligence.service import dynamic_pricing
from tests.web.conftest import post, sign_in
from tests.web.seed import ASSOCIATE, add_staff

PAGE = "/hq/dynamic-pricing"
RULE = {"code": "slow", "name": "Any", "channel": "WEB", "percent": "-3", "priority": "0"}


def test_a_marketer_creates_previews_and_reverts(container, web, seeded):
    add_staff(container, "mark-eting", Role.MARKETER)
    sign_in(web, "mark-eting")
    page = web.get(PAGE)
    assert page.status_code == 200
    assert "No rules yet." in page.text and "No price has changed yet." in page.text

    bad = post(web, PAGE, f"{PAGE}/rules", {**RULE, "condition": "cover_days <"})
    assert bad.status_code == 422
    assert 'id="f-condition-error"' in bad.text
    with container.read_uow() as uow:  # nothing saved
        assert dynamic_pricing.list_rules(uow) == []

    saved = post(web, PAGE, f"{PAGE}/rules", RULE)
    assert saved.status_code == 303
    page = web.get(PAGE).text
    assert "SLOW" in page and "-3.00 %" in page and "always" in page

    preview = post(web, PAGE, f"{PAGE}/preview", {})
    assert preview.status_code == 200
    text = html.unescape(preview.text)
    assert "would change. Nothing was changed." in text
    assert "20.00" in text and "19.40" in text
    assert "<td>A1</td><td>Enamel mug</td>" in text  # the product's name beside its code
    with container.read_uow() as uow:
        assert dynamic_pricing.list_changes(uow) == []

    with container.uow() as uow:
        assert dynamic_pricing.run(uow, actor="test").changed == 3  # A1, B2, C3
        (change,) = dynamic_pricing.list_changes(uow, sku="A1")
    page = html.unescape(web.get(PAGE).text)
    assert change.explanation in page and "-3 %" in change.explanation
    assert "<td>A1</td><td>Enamel mug</td>" in page
    reverted = post(web, PAGE, f"{PAGE}/changes/{change.id}/revert", {})
    assert reverted.status_code == 303
    with container.read_uow() as uow:
        (after,) = dynamic_pricing.list_changes(uow, sku="A1")
    assert after.reverted_by is not None and "mark-eting" in after.reverted_by
    assert "reverted" in web.get(PAGE).text

    paused = post(web, PAGE, f"{PAGE}/rules/SLOW/pause", {})
    assert paused.status_code == 303
    with container.read_uow() as uow:
        assert dynamic_pricing.get_rule(uow, "SLOW").active is False


def test_a_service_agent_reads_but_cannot_change_and_an_associate_is_not_let_in(
    container, web, seeded
):
    add_staff(container, "sam-agent", Role.SERVICE_AGENT)
    sign_in(web, "sam-agent")
    page = web.get(PAGE)
    assert page.status_code == 200
    assert "Your role may read the rules but not change them." in page.text
    refused = post(web, PAGE, f"{PAGE}/rules", RULE)
    assert refused.status_code == 403
    with container.read_uow() as uow:
        assert dynamic_pricing.list_rules(uow) == []

    web.cookies.clear()
    sign_in(web, ASSOCIATE)
    assert web.get(PAGE).status_code == 403
