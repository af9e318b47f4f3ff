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


def test_the_birthday_coupons_wait_is_set_on_the_programme_page(
    web: TestClient, container: Container, seeded: Seeded
) -> None:
    from omniretail.loyalty import service as loyalty_service

    sign_in(web, ADMIN)
    page = web.get("/hq/loyalty").text
    assert 'name="birthday_on_file_days" type="number" value="30"' in page
    with container.read_uow() as uow:
        rules = loyalty_service.get_programme(uow).rules
    form = {
        "points_per_unit": str(rules.points_per_unit),
        "point_value": str(rules.point_value),
        "welcome_points": str(rules.welcome_points),
        "return_window_days": str(rules.return_window_days),
        "expiry_days": str(rules.expiry_days),
        "qualification_days": str(rules.qualification_days),
        "birthday_on_file_days": "14",
    }
    for i, tier in enumerate(rules.tiers):
        form |= {
            f"tier{i}.name": tier.name,
            f"tier{i}.threshold": str(tier.threshold),
            f"tier{i}.multiplier": str(tier.multiplier),
        }
    saved = post(web, "/hq/loyalty", "/hq/loyalty", form)
    assert saved.status_code == 303, saved.text  # type: ignore[attr-defined]
    with container.read_uow() as uow:
        assert loyalty_service.get_programme(uow).rules.birthday_on_file_days == 14
