"""Every amount on a page in the currency of what it shows: the shop's prices in its channel's
currency (whole yen for JPY), the HQ customer page's order amounts in their channel's currency
and the points' value in the programme's."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal

from fastapi.testclient import TestClient

from omniretail.bootstrap import Container
from omniretail.catalog import service as catalog
from omniretail.catalog.schemas import ChannelKind, ChannelWrite
from omniretail.customers import service as customers
from omniretail.customers.schemas import OrderActivity
from omniretail.loyalty import service as loyalty
from omniretail.loyalty.schemas import ProgrammeRules
from tests.conftest import admin_api_key
from tests.web.conftest import sign_in
from tests.web.seed import ADMIN, Seeded


def _channel(code: str, currency: str, country: str) -> ChannelWrite:
    return ChannelWrite(
        code=code,
        name=f"{code} shop",
        kind=ChannelKind.WEB,
        location_codes=["DC1"],
        currency=currency,
        country=country,
    )


def test_the_shop_shows_its_channels_prices_in_whole_yen(
    web: TestClient, container: Container, seeded: Seeded
) -> None:
    assert '<p class="big">£20.00</p>' in web.get("/shop/products/A1").text
    key = {"X-API-Key": admin_api_key(container)}
    with container.uow() as uow:
        catalog.save_channel(uow, _channel("WEB", "JPY", "JP"))
    price_list = {"name": "Japan", "currency": "JPY", "channel": "WEB"}
    assert web.put("/api/v1/pricing/price-lists/JP", json=price_list, headers=key).is_success
    entry = {"price": "1234"}
    assert web.put("/api/v1/pricing/price-lists/JP/entries/A1", json=entry, headers=key).is_success

    product = web.get("/shop/products/A1")
    assert product.status_code == 200, product.text
    assert '<p class="big">¥1,234</p>' in product.text
    index = web.get("/shop").text
    assert '<span class="muted">A1</span> · ¥1,234' in index
    # B2 has a catalog price in pounds only: no yen price, so none is shown.
    assert '<span class="muted">B2</span> · \u2013' in index
    assert "£" not in index.split("<main", 1)[1]


def test_the_customer_page_shows_each_order_in_its_currency(
    web: TestClient, container: Container, seeded: Seeded
) -> None:
    with container.uow() as uow:
        catalog.save_channel(uow, _channel("JPWEB", "JPY", "JP"))
        for number, channel, total in (("JP-1", "JPWEB", "6315"), ("GB-1", "WEB", "12.5")):
            customers.record_order(
                uow,
                OrderActivity(
                    customer_id=seeded.customer_id,
                    number=number,
                    channel=channel,
                    placed_at=datetime(2026, 1, 5, 10, tzinfo=UTC),
                    total=Decimal(total),
                    status="confirmed",
                    lines=1,
                ),
            )
        loyalty.save_programme(uow, ProgrammeRules(currency="EUR"), actor="test")
    assert sign_in(web, ADMIN).startswith("/hq")
    page = web.get(f"/hq/customers/{seeded.customer_id}")
    assert page.status_code == 200, page.text
    # orders of another system (recorded activity only): named, not linked to a page
    assert "</strong> JP-1 · ¥6,315" in page.text
    spend = re.search(r"Lifetime spend</span><strong>(.*?)</strong>", page.text)
    assert spend is not None
    # Summed per currency (the seeded orders reach the timeline only through the relay).
    assert spend.group(1) == "£12.50 · ¥6,315"
    assert "</strong> GB-1 · £12.50" in page.text
    assert re.search(r"points \(€\d+\.\d\d\)", page.text)
