"""The HQ customer page of a person whose profiles were merged."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import polars as pl
from fastapi.testclient import TestClient

from omniretail.bootstrap import Container
from omniretail.customers import service as customers
from omniretail.customers.models import IdentityKind
from omniretail.customers.schemas import CustomerCreate, IdentityCreate
from omniretail.intelligence import service as intelligence
from omniretail.kernel.vault import vault_for
from omniretail.web.rendering import label
from tests.web.conftest import sign_in
from tests.web.seed import ADMIN, CUSTOMER_EMAIL, Seeded, add_staff, record_till_receipt


def test_a_merged_profile_shows_a_shared_email_once_with_its_best_status(
    web: TestClient, container: Container, seeded: Seeded
) -> None:
    vault = vault_for(container.keyring)
    with container.uow() as uow:  # the till's profile, then the same email typed there
        till = customers.create_customer(
            uow,
            CustomerCreate(
                name="Ada L.",
                identities=[IdentityCreate(kind=IdentityKind.POS_CUSTOMER, value="POS-0001")],
            ),
            vault=vault,
            actor="test",
        ).customer.id
        customers.add_verified_identity(  # confirmed with a code at the till: one person
            uow,
            till,
            IdentityCreate(kind=IdentityKind.EMAIL, value=CUSTOMER_EMAIL),
            via="code",
            reference="test: code confirmed at the till",
            vault=vault,
            actor="system:test",
        )
    sign_in(web, ADMIN)

    page = web.get(f"/hq/customers/{seeded.customer_id}").text
    identities = re.search(r'<h2 id="id-h">Identities</h2>\s*<ul>(.*?)</ul>', page, re.S)

    assert identities is not None
    shown = identities.group(1)
    assert shown.casefold().count(CUSTOMER_EMAIL.casefold()) == 1, shown
    email = next(li for li in shown.split("<li>") if CUSTOMER_EMAIL.casefold() in li.casefold())
    assert "verified" in email and "claimed" not in email
    assert "POS customer: POS-0001" in shown
    # The un-merge form's reason and the merge form's have ids of their own (both were f-reason).
    ids = re.findall(r'\sid="([^"]+)"', page)
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})


def test_a_customer_new_since_the_model_run_is_told_apart_from_one_who_said_no(
    web: TestClient, seeded: Seeded
) -> None:
    sign_in(web, ADMIN)

    page = web.get(f"/hq/customers/{seeded.customer_id}").text

    assert "Not scored yet" in page and "the next intelligence refresh scores it" in page
    assert "no personal list yet" in page
    assert "no consent to personalisation" not in page


def test_the_segment_and_the_chance_still_active_say_what_they_are_and_their_date(
    web: TestClient, container: Container, seeded: Seeded
) -> None:
    """A "Champions" beside "Still active 33%" is no contradiction: the segment ranks the
    customer against all others, p_alive is the model's absolute chance; both as of one day."""
    score = {"customer_id": seeded.customer_id, "segment": "champions", "recency_days": 200}
    score |= {"frequency": 9, "monetary": 900.0, "r_score": 5, "f_score": 5, "m_score": 5}
    score |= {"expected_revenue": 30.0, "p_alive": 0.33}
    with container.uow() as uow:
        intelligence.store_customer_scores(uow, pl.DataFrame([score]), date(2025, 12, 10), 12)
    sign_in(web, ADMIN)

    page = web.get(f"/hq/customers/{seeded.customer_id}").text

    assert "Champions" in page and "33%" in page
    # scores as of 10 Dec count what happened before it: up to the 9th
    assert "ranked against all customers, counting purchases up to Tue 09 Dec 2025" in page
    assert "from the gaps between their own purchases up to Tue 09 Dec 2025" in page


def test_a_customer_without_purchases_by_the_scoring_date_has_no_chance_still_active_shown(
    web: TestClient, container: Container, seeded: Seeded
) -> None:
    """The model stores 0 for a customer with no purchase before its date (the demo's tour
    customer, made after the run): that is no estimate, and the page does not show one."""
    score = {"customer_id": seeded.customer_id, "segment": "no_purchases", "recency_days": None}
    score |= {"frequency": 0, "monetary": 0.0, "r_score": None, "f_score": None, "m_score": None}
    score |= {"expected_revenue": 0.0, "p_alive": 0.0}
    with container.uow() as uow:
        intelligence.store_customer_scores(uow, pl.DataFrame([score]), date(2025, 12, 10), 12)
    sign_in(web, ADMIN)

    page = web.get(f"/hq/customers/{seeded.customer_id}").text

    still_active = page.split("Still active (p)", 1)[1].split("</div>", 1)[0]
    assert "No purchases" in page
    assert "<strong>\N{EN DASH}</strong>" in still_active and "0%" not in still_active
    assert "no purchase before Wed 10 Dec 2025 to estimate it from" in still_active


def test_the_desk_shows_the_lifetime_spend_in_its_currency(
    web: TestClient, container: Container, seeded: Seeded
) -> None:
    from omniretail.auth.models import Role

    add_staff(container, "agent", Role.SERVICE_AGENT)
    sign_in(web, "agent")

    page = web.get(f"/hq/desk/customers/{seeded.customer_id}").text
    spend = re.search(r"<dt>Lifetime spend</dt><dd>([^<]*)</dd>", page)

    assert spend is not None and spend.group(1).startswith("£"), spend


def test_the_account_lists_store_receipts_beside_the_web_orders(
    web: TestClient, container: Container, seeded: Seeded
) -> None:
    record_till_receipt(container, seeded.customer_id)
    sign_in(web, CUSTOMER_EMAIL)

    page = web.get("/account").text
    mine, elsewhere = page.split('id="elsewhere-h"')

    assert seeded.pickup_order in mine and seeded.pickup_order not in elsewhere
    assert "POS-RECEIPT-7" in elsewhere and "£12.00" in elsewhere


def test_a_broken_tracking_link_is_a_page_for_the_customer(web: TestClient) -> None:
    page = web.get("/track/not-a-real-link-0000000000000000")
    problem = web.get(
        "/track/not-a-real-link-0000000000000000", headers={"Accept": "application/json"}
    )

    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "We could not find this order" in page.text and 'href="/account"' in page.text
    assert problem.status_code == 404
    assert problem.headers["content-type"].startswith("application/problem+json")


def test_a_mistyped_console_address_is_a_page_in_a_browser(web: TestClient) -> None:
    sign_in(web, ADMIN)

    page = web.get("/hq/no-such-page", headers={"Accept": "text/html"})
    api = web.get("/api/v1/no-such-thing", headers={"Accept": "text/html"})

    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "Page not found" in page.text and 'href="/hq"' in page.text
    assert api.status_code == 404
    assert api.headers["content-type"].startswith("application/problem+json")


def test_the_tracking_page_shows_the_total_as_the_shop_does(
    web: TestClient, seeded: Seeded
) -> None:
    page = web.get(f"/track/{seeded.tracking_token}")

    assert page.status_code == 200
    placed = re.search(
        r'<span class="status">([^<]*)</span>\s*placed [^<]*&middot; ([^<]*)</p>', page.text
    )
    assert placed is not None, page.text[:800]
    assert placed.group(1)[:1].isupper() and placed.group(2).startswith("£"), placed.groups()


def test_the_hq_timeline_shows_where_a_platform_order_is_now(
    web: TestClient, container: Container, seeded: Seeded
) -> None:
    from omniretail.orders import service as lookup

    container.relay().run_until_idle()  # the seeded web orders reach the timeline
    with container.uow() as uow:
        now = lookup.get_order(uow, seeded.pickup_order).status
    assert now != "confirmed"  # the seed left it waiting at the store
    sign_in(web, ADMIN)

    page = web.get(f"/hq/customers/{seeded.customer_id}").text
    entry = re.search(rf">{seeded.pickup_order}</a>.*?</li>", page, re.S)

    assert entry is not None
    assert label(now) in entry.group(0) and "Confirmed" not in entry.group(0)


def test_a_cancelled_order_on_the_hq_timeline_shows_its_amount_and_status(
    web: TestClient, container: Container, seeded: Seeded
) -> None:
    from omniretail.fulfilment import service as fulfilment
    from omniretail.orders.schemas import CancelBody

    with container.uow() as uow:  # the seeded home delivery: one Linen tote, £35.50
        fulfilment.cancel(uow, seeded.home_order, CancelBody(reason="changed mind"), actor="t")
    container.relay().run_until_idle()
    sign_in(web, ADMIN)

    page = web.get(f"/hq/customers/{seeded.customer_id}").text
    entry = re.search(rf">{seeded.home_order}</a>.*?</li>", page, re.S)
    spend = re.search(r"Lifetime spend</span><strong>([^<]*)</strong>", page)

    assert entry is not None and "£35.50" in entry.group(0), entry
    assert "Cancelled" in entry.group(0) and "£0.00" not in entry.group(0)
    assert spend is not None and spend.group(1) == "£40.00"  # the pickup's 2 x £20.00 only


def _a_yen_receipt(container: Container, customer_id: int) -> None:
    from omniretail.catalog import service as catalog
    from omniretail.catalog.schemas import ChannelWrite

    with container.uow() as uow:
        catalog.save_channel(
            uow,
            ChannelWrite(code="JPWEB", name="Japan web", kind="web", currency="JPY", country="JP"),
        )
    record_till_receipt(container, customer_id, number="JP-1", channel="JPWEB", total=Decimal(1234))


def test_lifetime_spend_is_summed_per_currency_on_the_page_the_desk_and_the_api(
    web: TestClient, container: Container, seeded: Seeded
) -> None:
    from omniretail.auth.models import Role
    from tests.conftest import admin_api_key

    _a_yen_receipt(container, seeded.customer_id)
    add_staff(container, "agent", Role.SERVICE_AGENT)
    key = {"X-API-Key": admin_api_key(container)}

    body = web.get(f"/api/v1/customers/{seeded.customer_id}/360", headers=key).json()
    sign_in(web, ADMIN)
    page = web.get(f"/hq/customers/{seeded.customer_id}").text
    web.cookies.clear()
    sign_in(web, "agent")
    desk = web.get(f"/hq/desk/customers/{seeded.customer_id}").text

    # the web orders: £40.00 + £35.50; the yen receipt apart
    assert [(s["currency"], Decimal(s["spend"])) for s in body["lifetime_spend_by_currency"]] == [
        ("GBP", Decimal("75.50")),
        ("JPY", Decimal(1234)),
    ]
    assert body["lifetime_spend"] is None
    assert "Lifetime spend</span><strong>£75.50 · ¥1,234</strong>" in page
    assert "<dt>Lifetime spend</dt><dd>£75.50 · ¥1,234</dd>" in desk


def test_the_tracking_pages_name_the_platforms_icon(web: TestClient, seeded: Seeded) -> None:
    # without it a browser asks for /favicon.ico: a 404 in the console of every tracking page
    icon = '<link rel="icon" href="/static/favicon.svg"'

    assert icon in web.get(f"/track/{seeded.tracking_token}").text
    assert icon in web.get("/track/no-such-link-0000000000000000000").text
    assert web.get("/static/favicon.svg").status_code == 200


def test_the_home_store_is_named_with_its_code(web: TestClient, seeded: Seeded) -> None:
    """As the other pages name a location: "LON1 · London Oxford St", not the bare code."""
    sign_in(web, ADMIN)
    page = web.get(f"/hq/customers/{seeded.customer_id}").text
    shown = re.search(r'<dt>Home store</dt><dd id="home-store">(.*?)</dd>', page, re.S)
    assert shown is not None
    assert shown.group(1) == "LON1 · London Oxford St"
