"""The HQ markdown page: lists, shows a ladder with expected revenue against no markdown,
approves (the price lists are scheduled); a store associate cannot approve; "Suggest now"
queues the suggestions job once and shows its outcome."""

from __future__ import annotations

from omniretail.auth import service as auth
from omniretail.intelligence import markdown_service
from omniretail.jobs import service as jobs
from omniretail.web.hq import markdowns as markdowns_page
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


def test_suggest_now_queues_the_job_once_and_shows_its_outcome(container, web, seeded):
    sign_in(web, ADMIN)
    page = web.get("/hq/markdowns").text
    assert 'action="/hq/markdowns/runs"' in page and 'id="suggest-job"' not in page
    clicked = web.post("/hq/markdowns/runs", data={"csrf_token": csrf_of(page)})
    assert clicked.status_code == 303
    with container.read_uow() as uow:
        (job,) = jobs.recent(uow, kind="markdowns.suggest")
        audit = [(r.action, r.subject) for r in auth.list_audit(uow, area=None, limit=10)]
    assert (job.state, job.requested_by) == ("queued", f"admin:{ADMIN}")
    assert audit == [("POST /markdowns/runs", "/hq/markdowns/runs")]
    assert job.id in clicked.headers["location"]
    again = web.post("/hq/markdowns/runs", data={"csrf_token": csrf_of(page)})
    assert again.status_code == 303
    assert f"already%20queued%20%28{job.id}%29" in again.headers["location"]
    assert '<span class="badge">queued</span>' in web.get("/hq/markdowns").text

    assert container.job_runner().run_until_idle() == 1
    after = web.get("/hq/markdowns").text
    assert (
        '<p id="suggest-job">Last refresh: <span class="badge">succeeded</span> requested'
        f" 02 Nov 2026 09:00 by admin:{ADMIN}: 0 ladders for 0 slow SKU \u00d7 location pairs.</p>"
    ) in after  # the seeded shop has no order history to fit on


def test_a_list_cut_short_says_so(container, web, seeded, monkeypatch):
    first, second = seed_markdown_suggestion(container), seed_markdown_suggestion(container)
    sign_in(web, ADMIN)
    whole = web.get("/hq/markdowns").text
    assert "2 suggestions" in whole and 'id="md-more"' not in whole
    monkeypatch.setattr(markdowns_page, "SHOWN", 1)
    cut = web.get("/hq/markdowns").text
    assert "The first 1 suggestions" in cut and 'id="md-more"' in cut
    assert (f'href="/hq/markdowns/{first}"' in cut) != (f'href="/hq/markdowns/{second}"' in cut)
