"""The chat widget is on the shop pages and the tracking page, as static files (the CSP
allows no inline script or style), and the tracking page names its order for the chat."""

from __future__ import annotations

import pytest

from tests.customers.helpers import make_customer
from tests.support.helpers import place_order


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_the_widget_is_served_on_the_shop_and_tracking_pages(container, client):
    ada = make_customer(container, "Ada", email="ada@example.com", verified=True)
    order = place_order(container, client, ada)
    shop = client.get("/shop", headers={"X-API-Key": ""})
    assert shop.status_code == 200
    assert '<script src="/static/support-chat.js' in shop.text
    assert 'href="/static/support-chat.css' in shop.text
    tracking = client.get(order["tracking_url"], headers={"X-API-Key": ""})
    assert tracking.status_code == 200
    assert f'data-order-number="{order["number"]}"' in tracking.text
    for asset in ("/static/support-chat.js", "/static/support-chat.css"):
        served = client.get(asset)
        assert served.status_code == 200 and "support-chat" in served.text
    assert "<script>" not in tracking.text and "style=" not in tracking.text
