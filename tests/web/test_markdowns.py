"""The HQ markdown page: lists, shows a ladder with expected revenue against no markdown,
approves (the price lists are scheduled); a store associate cannot approve."""

from __future__ import annotations

from omniretail.intelligence import markdown_service
from tests.web.conftest import csrf_of, sign_in
from tests.web.seed import ADMIN, ASSOCIATE, seed_markdown_suggestion


def test_the_console_lists_shows_and_approves(container, web, seeded):
    suggestion = seed_markdown_suggestion(container)
    sign_in(web, ADMIN)
    listing = web.get("/hq/markdowns")
    assert listing.status_code == 200
    assert f'href="/hq/markdowns/{suggestion}"' in listing.text and "Enamel mug" in listing.text
    page = web.get(f"/hq/markdowns/{suggestion}")
    assert page.status_code == 200
    assert "£1,600.00" in page.text and "£800.00" in page.text and "50%" in page.text
    done = web.post(f"/hq/markdowns/{suggestion}/approve", data={"csrf_token": csrf_of(page.text)})
    assert done.status_code == 303
    after = web.get(f"/hq/markdowns/{suggestion}")
    assert "Approved" in after.text and f"MD:{suggestion}:2" in after.text
    assert f"MD:{suggestion}:1" not in after.text  # a step at full price needs no list


def test_a_store_associate_cannot_approve(container, web, seeded):
    suggestion = seed_markdown_suggestion(container)
    sign_in(web, ASSOCIATE)
    page = web.get("/store")
    refused = web.post(
        f"/hq/markdowns/{suggestion}/approve", data={"csrf_token": csrf_of(page.text)}
    )
    assert refused.status_code == 403
    with container.read_uow() as uow:
        detail = markdown_service.get_markdown(uow, suggestion)
    assert (detail.status, detail.decided_by, detail.steps[1].price_list) == (
        "suggested",
        None,
        None,
    )
