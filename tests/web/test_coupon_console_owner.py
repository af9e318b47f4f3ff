"""The HQ coupon console: a coupon made for one customer (by id or email, looked up through
the customers' face), its owner shown and linked on the list and the coupon's page, a bad owner
refused beside the field with nothing written; an unused coupon deleted, a used one kept with
the API's reason. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import text

from omniretail.auth import service as auth
from omniretail.auth.models import Role
from omniretail.auth.schemas import PrincipalCreate
from omniretail.bootstrap import Container
from tests.conftest import admin_api_key
from tests.web.conftest import post, sign_in
from tests.web.seed import ADMIN, ASSOCIATE, CUSTOMER_EMAIL, PASSWORD, Seeded
from tests.web.test_till import _pay, _ring_up, _token

PAGE = "/hq/pricing/coupons"


def _promotion(web: TestClient, container: Container) -> None:
    key = {"X-API-Key": admin_api_key(container)}
    body = {
        "name": "Ten percent off",
        "effect": {"type": "percent_off", "percent": "10"},
        "requires_coupon": True,
    }
    assert web.put("/api/v1/pricing/promotions/TENOFF", json=body, headers=key).is_success


def _create(web: TestClient, code: str, owner: str) -> object:
    form = {"code": code, "promotion": "TENOFF", "owner": owner, "active": "on"}
    return post(web, PAGE, PAGE, form)


def _owners(container: Container) -> dict[str, int | None]:
    with container.engine.connect() as conn:
        rows = conn.execute(text("SELECT code, customer_id FROM coupons ORDER BY code"))
        return {code: customer_id for code, customer_id in rows}


def _field_error(page: str) -> str:
    found = re.search(r'<p class="error" id="f-owner-error">([^<]*)</p>', page)
    assert found, page
    return found.group(1)


def test_a_coupon_for_one_customer_by_email_or_id(
    web: TestClient, container: Container, seeded: Seeded
) -> None:
    _promotion(web, container)
    cid = seeded.customer_id
    assert sign_in(web, ADMIN).startswith("/hq")

    by_email = _create(web, "FORYOU", f"  {CUSTOMER_EMAIL.upper()} ")
    assert by_email.status_code == 303, by_email.text  # type: ignore[attr-defined]
    assert by_email.headers["location"].startswith(f"{PAGE}/FORYOU")  # type: ignore[attr-defined]
    by_id = _create(web, "FORYOU2", str(cid))
    assert by_id.status_code == 303, by_id.text  # type: ignore[attr-defined]
    assert _create(web, "ANYONE", "").status_code == 303  # type: ignore[attr-defined]
    assert _owners(container) == {"ANYONE": None, "FORYOU": cid, "FORYOU2": cid}

    coupon = web.get(f"{PAGE}/FORYOU").text
    assert f'<a id="coupon-owner" href="/hq/customers/{cid}">{cid}</a>' in coupon
    listing = web.get(PAGE).text
    assert listing.count(f'<a href="/hq/customers/{cid}">{cid}</a>') == 2
    assert "<td>anyone</td>" in listing

    for owner, status, message in (
        ("nobody@example.com", 404, "no customer with this email"),
        ("987654321", 404, "no customer with id 987654321"),
        ("12ab", 400, "a customer id (a number) or an email address"),
        ("99999999999999999999", 400, "a customer id (a number) or an email address"),
        ("x" * 300, 400, "at most 254 characters"),
    ):
        refused = _create(web, "NOTMADE", owner)
        assert refused.status_code == status, refused.text  # type: ignore[attr-defined]
        assert _field_error(refused.text) == message  # type: ignore[attr-defined]
    assert "NOTMADE" not in _owners(container)


def test_a_marketer_gives_the_owner_by_id_not_by_email(
    web: TestClient, container: Container, seeded: Seeded
) -> None:
    """The marketer may make coupons but not look customers up (customers:read)."""
    _promotion(web, container)
    with container.uow() as uow:
        auth.create_principal(
            uow, PrincipalCreate(username="marketer", role=Role.MARKETER, password=PASSWORD)
        )
    assert sign_in(web, "marketer").startswith("/hq")
    refused = _create(web, "BYMAIL", CUSTOMER_EMAIL)
    assert refused.status_code == 400, refused.text  # type: ignore[attr-defined]
    assert _field_error(refused.text) == (  # type: ignore[attr-defined]
        "you may not look customers up by email: give the customer id"
    )
    made = _create(web, "BYID", str(seeded.customer_id))
    assert made.status_code == 303, made.text  # type: ignore[attr-defined]
    assert _owners(container) == {"BYID": seeded.customer_id}


def test_an_unused_coupon_is_deleted_and_a_used_one_kept(
    web: TestClient, container: Container, seeded: Seeded
) -> None:
    _promotion(web, container)
    assert sign_in(web, ADMIN).startswith("/hq")
    for code in ("UNUSED", "USED"):
        assert _create(web, code, "").status_code == 303  # type: ignore[attr-defined]

    # USED is redeemed at the till
    web.cookies.clear()
    sign_in(web, ASSOCIATE)
    url = _ring_up(web, ["A1"], customer=False)
    applied = post(web, url, f"/store/till/{_token(url)}/coupons", {"code": "USED", "customer": ""})
    assert applied.status_code == 303, applied.text  # type: ignore[attr-defined]
    paid = _pay(web, url, method="cash", tendered="20.00")
    assert paid.status_code == 303, paid.text  # type: ignore[attr-defined]

    web.cookies.clear()
    sign_in(web, ADMIN)
    assert 'id="delete-coupon"' in web.get(f"{PAGE}/UNUSED").text
    assert 'id="delete-coupon"' not in web.get(f"{PAGE}/USED").text
    deleted = post(web, f"{PAGE}/UNUSED", f"{PAGE}/UNUSED/delete", {})
    assert deleted.status_code == 303, deleted.text  # type: ignore[attr-defined]
    assert deleted.headers["location"].startswith(PAGE)  # type: ignore[attr-defined]
    kept = post(web, f"{PAGE}/USED", f"{PAGE}/USED/delete", {})
    assert kept.status_code == 409, kept.text  # type: ignore[attr-defined]
    assert "code: a used coupon is kept; deactivate it instead" in kept.text  # type: ignore[attr-defined]
    assert _owners(container) == {"USED": None}
    assert web.get(f"{PAGE}/UNUSED").status_code == 404


def test_the_discount_a_coupon_gave_reads_as_an_amount(
    web: TestClient, container: Container, seeded: Seeded
) -> None:
    _promotion(web, container)
    assert sign_in(web, ADMIN).startswith("/hq")
    form = {"code": "CAPPED", "promotion": "TENOFF", "budget": "50", "active": "on"}
    assert post(web, PAGE, PAGE, form).status_code == 303  # type: ignore[attr-defined]
    assert _create(web, "OPEN", "").status_code == 303  # type: ignore[attr-defined]
    listing = web.get(PAGE).text
    assert '<td class="n">0.00 of 50.00</td>' in listing
    assert '<td class="n">0.00</td>' in listing and "0.000" not in listing
    page = web.get(f"{PAGE}/CAPPED").text
    assert '<span id="coupon-spent">discount given 0.00 of a 50.00 budget</span>' in page


def test_a_code_with_a_space_is_refused_in_plain_words(
    web: TestClient, container: Container, seeded: Seeded
) -> None:
    _promotion(web, container)
    assert sign_in(web, ADMIN).startswith("/hq")
    refused = _create(web, "SPRING SALE", "")
    assert refused.status_code == 422  # type: ignore[attr-defined]
    found = re.search(r'<p class="error" id="f-code-error">([^<]*)</p>', refused.text)  # type: ignore[attr-defined]
    assert found and found.group(1) == (
        "Only letters, digits, underscores and hyphens, starting with a letter or digit"
    )
    assert _owners(container) == {}
