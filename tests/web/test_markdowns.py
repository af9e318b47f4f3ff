"""The HQ markdown page: lists, shows a ladder with expected revenue against no markdown,
approves (the price lists are scheduled); a store associate cannot approve."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from omniretail.intelligence import markdown_service
from tests.web.conftest import csrf_of, sign_in
from tests.web.seed import ADMIN, ASSOCIATE


def _seeded_suggestion(container) -> int:
    from omniretail.intelligence import markdown_repository

    day = container.clock.now().date() + timedelta(days=1)
    with container.uow() as uow:
        return markdown_repository.insert_suggestion(
            uow.session,
            {
                "sku_code": "A1",
                "location_code": "DC1",
                "channel_code": "WEB",
                "currency": "GBP",
                "status": "suggested",
                "full_price": Decimal("20.00"),
                "on_hand": 100,
                "forecast_units": 40.0,
                "starts_on": day,
                "clear_by": day + timedelta(weeks=4),
                "expected_units": 100.0,
                "expected_revenue": Decimal("1600.00"),
                "baseline_units": 40.0,
                "baseline_revenue": Decimal("800.00"),
                "expected_leftover": 0.0,
                "clears": True,
                "elasticity": -2.0,
                "guardrails": {
                    "floor_fraction": 0.5,
                    "max_step": 0.5,
                    "max_steps_per_month": 2,
                    "weeks_per_step": 2,
                },
                "created_at": uow.now,
            },
            [
                {
                    "step": 1,
                    "starts_on": day,
                    "weeks": 2,
                    "discount": Decimal("0"),
                    "price": Decimal("20.00"),
                    "expected_units": 20.0,
                    "expected_revenue": Decimal("400.00"),
                },
                {
                    "step": 2,
                    "starts_on": day + timedelta(weeks=2),
                    "weeks": 2,
                    "discount": Decimal("0.5"),
                    "price": Decimal("10.00"),
                    "expected_units": 80.0,
                    "expected_revenue": Decimal("800.00"),
                },
            ],
        )


def test_the_console_lists_shows_and_approves(container, web, seeded):
    suggestion = _seeded_suggestion(container)
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
    suggestion = _seeded_suggestion(container)
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
