"""The HQ segments page: the builder's live count (HTMX), saving, the list with counts after
the refresh job, a segment's members, and a bad rule shown on the form. The seeded customer
(Ada Lovelace, home store LON1) has two web orders."""

from __future__ import annotations

import re

from sqlalchemy import text

from omniretail.marketing.segments_rules import FACT_NAMES
from tests.web.conftest import csrf_of, post, sign_in
from tests.web.seed import ADMIN


def test_build_preview_save_and_see_members(container, web, seeded):
    sign_in(web, ADMIN)
    page = web.get("/hq/segments")
    assert page.status_code == 200
    assert "Build a segment" in page.text and 'hx-post="/hq/segments/preview"' in page.text
    token = csrf_of(page.text)

    # The builder's first load (hx-trigger "load") has no rule yet: a hint, not an error.
    empty = web.post(
        "/hq/segments/preview",
        data={"rule": "", "csrf_token": token},
        headers={"HX-Request": "true"},
    )
    assert empty.status_code == 200
    assert 'role="alert"' not in empty.text and "Type a rule to see" in empty.text

    live = web.post(
        "/hq/segments/preview",
        data={"rule": 'home_store == "LON1" && orders >= 2', "csrf_token": token},
        headers={"HX-Request": "true"},
    )
    assert live.status_code == 200
    assert '<strong id="preview-count">1</strong> of 1 customers' in live.text
    assert "Ada L." in live.text and "Lovelace" not in live.text

    bad = web.post(
        "/hq/segments/preview",
        data={"rule": "orders >=", "csrf_token": token},
        headers={"HX-Request": "true"},
    )
    assert 'role="alert"' in bad.text

    saved = post(
        web,
        "/hq/segments",
        "/hq/segments",
        {"name": "London regulars", "rule": 'home_store == "LON1" && orders >= 2'},
    )
    assert saved.status_code == 303
    landing = web.get(saved.headers["location"])
    assert "London regulars" in landing.text and "Nobody yet." in landing.text
    assert container.job_runner().run_until_idle() == 1

    listing = web.get("/hq/segments")
    assert "London regulars" in listing.text
    assert '<td class="num">1</td>' in listing.text
    sid = int(listing.text.split('id="segment-')[1].split('"')[0])
    members = web.get(f"/hq/segments/{sid}")
    assert f'href="/hq/customers/{seeded.customer_id}"' in members.text

    refused = post(web, "/hq/segments", "/hq/segments", {"name": "Broken", "rule": "orders >="})
    assert refused.status_code == 422
    assert "Broken" in refused.text  # the form keeps what was typed


def test_the_preview_shows_a_marketer_customer_numbers_not_names(container, web, seeded):
    """customers:segments without customers:read: "Customer #id", as the send log shows."""
    from omniretail.auth import service as auth
    from omniretail.auth.models import Role
    from omniretail.auth.schemas import PrincipalCreate
    from tests.web.seed import PASSWORD

    with container.uow() as uow:
        auth.create_principal(
            uow, PrincipalCreate(username="moira", role=Role.MARKETER, password=PASSWORD)
        )
    sign_in(web, "moira")
    token = csrf_of(web.get("/hq/segments").text)
    live = web.post(
        "/hq/segments/preview",
        data={"rule": 'home_store == "LON1" && orders >= 2', "csrf_token": token},
        headers={"HX-Request": "true"},
    )
    assert live.status_code == 200
    assert f"Customer #{seeded.customer_id}" in live.text
    assert "Ada" not in live.text


def test_the_builder_names_every_fact_a_rule_can_read(container, web, seeded):
    sign_in(web, ADMIN)
    page = web.get("/hq/segments").text
    hint = page.split("The rule is CEL. Variables:")[1].split("</p>")[0]
    named = set(re.findall(r"<code>([a-z_]+)(?:\.[a-z_.]+)?</code>", hint))
    assert named == FACT_NAMES


def test_refresh_now_queues_the_refresh_and_the_page_says_when(container, web, seeded, clock):
    """The segment page's "Refresh now" (a POST form with the CSRF token) queues the refresh
    job, says so, names the one already queued on a second press, and shows the job's state;
    a service agent (segments read-only) has no button."""
    from omniretail.auth import service as auth
    from omniretail.auth.models import Role
    from omniretail.auth.schemas import PrincipalCreate
    from tests.web.seed import PASSWORD

    with container.uow() as uow:
        auth.create_principal(
            uow, PrincipalCreate(username="sam", role=Role.SERVICE_AGENT, password=PASSWORD)
        )
    sign_in(web, ADMIN)
    saved = post(
        web, "/hq/segments", "/hq/segments", {"name": "Londoners", "rule": 'home_store == "LON1"'}
    )
    url = saved.headers["location"].split("?")[0]
    assert container.job_runner().run_until_idle() == 1  # the refresh queued with the save
    page = web.get(url).text
    assert "1 members" in page and 'id="refresh-job"' in page
    assert f'action="{url}/refresh"' in page and "Refresh now" in page

    # A member leaves without an event the live updates would see; "Refresh now" catches it.
    with container.uow() as uow:
        uow.session.execute(
            text("UPDATE customers SET home_store = 'MAN1' WHERE id = :id"),
            {"id": seeded.customer_id},
        )
    clock.advance(minutes=5)
    queued = post(web, url, f"{url}/refresh", {})
    assert queued.status_code == 303 and queued.headers["location"].startswith(url)
    landing = web.get(queued.headers["location"]).text
    assert "A refresh is queued (job" in landing
    assert re.search(
        r'id="refresh-job">Last refresh job: <span class="badge">queued</span>', landing
    )
    again = post(web, url, f"{url}/refresh", {})
    assert "is already queued" in web.get(again.headers["location"]).text

    assert container.job_runner().run_until_idle() == 1
    done = web.get(url).text
    assert re.search(
        r'id="refresh-job">Last refresh job: <span class="badge">succeeded</span>', done
    )
    assert "0 members" in done and "Nobody yet." in done

    web.cookies.clear()
    sign_in(web, "sam")
    read_only = web.get(url)
    assert read_only.status_code == 200 and "Refresh now" not in read_only.text
