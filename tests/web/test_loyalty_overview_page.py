"""The HQ loyalty page shows the programme's state (``loyalty.service.programme_overview``)
above its form: member accounts by tier, points outstanding and their value, points
expiring, earned and redeemed, as of a time shown."""

from __future__ import annotations

from fastapi.testclient import TestClient

from omniretail.bootstrap import Container
from omniretail.kernel.money import format_money
from omniretail.loyalty import service as loyalty
from omniretail.web.rendering import num, when
from tests.customers.helpers import make_customer, place_order
from tests.web.conftest import post, sign_in
from tests.web.seed import ADMIN, Seeded


def figures(container: Container):
    with container.read_uow() as uow:
        return loyalty.programme_overview(uow)


def shown(page: str, caption: str, value: str) -> bool:
    return f"<dt>{caption}</dt><dd>{value}" in page


def test_the_loyalty_page_shows_the_programmes_state(
    web: TestClient, container: Container, seeded: Seeded
) -> None:
    sign_in(web, ADMIN)
    before = figures(container)
    newcomer = make_customer(container, "Nia Newcomer")
    place_order(container, newcomer, "OV-1", "250.00")
    now = figures(container)
    assert now.members == before.members + 1
    assert now.outstanding > before.outstanding

    page = web.get("/hq/loyalty")
    assert page.status_code == 200
    text = page.text
    assert f"As of {when(now.as_of)} UTC" in text
    assert shown(text, "Member accounts", num(now.members))
    for tier in now.tiers:
        assert shown(text, f"{tier.tier} tier", num(tier.members))
    assert shown(text, "Points outstanding", f"{num(now.outstanding)} points")
    assert shown(
        text, "Value of points outstanding", format_money(now.outstanding_value, now.currency)
    )
    assert shown(text, "Earned in the last 30 days", f"{num(now.earned)} points")
    assert shown(text, "Redeemed in the last 30 days", f"{num(now.redeemed)} points")
    assert "Expiring by " in text


def test_a_refused_save_still_shows_the_overview(
    web: TestClient, container: Container, seeded: Seeded
) -> None:
    sign_in(web, ADMIN)
    response = post(web, "/hq/loyalty", "/hq/loyalty", {"point_value": "nope"})
    assert response.status_code == 422  # type: ignore[attr-defined]
    text = response.text  # type: ignore[attr-defined]
    assert shown(text, "Member accounts", num(figures(container).members))
