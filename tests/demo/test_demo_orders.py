"""``omniretail demo`` shows the demo customer's open cart and orders in several states."""

from __future__ import annotations

import re
from decimal import Decimal
from types import SimpleNamespace

from fastapi.testclient import TestClient
from rich.console import Console
from typer.testing import CliRunner

from omniretail.app import create_app
from omniretail.carts import service as carts
from omniretail.commands.main import app
from omniretail.demo.network import STORES
from omniretail.demo.orders import DemoOrders
from omniretail.demo.people import CUSTOMER_EMAIL
from omniretail.demo.story import print_tour
from omniretail.inventory import service as inventory
from omniretail.orders import service as lookup
from tests.conftest import admin_api_key
from tests.demo.test_demo import demo_env, run_demo
from tests.history.logs import write_log

TRACK = re.compile(r"http://127\.0\.0\.1:8123(/track/[\w-]+)")


def _customer_orders(container, customer_id):
    with container.read_uow() as uow:
        orders = [o for o in lookup.list_orders(uow, customer_id) if o.tracking_url]
        cart = carts.find_active_cart(uow, customer_id, None)
    return orders, cart


def test_the_demo_makes_a_cart_and_orders_in_several_states(container, tmp_path):
    log = write_log(tmp_path / "log.parquet")

    output = run_demo(container, tmp_path, log)

    customer_id = int(re.search(r"/api/v1/customers/(\d+)/360", output).group(1))
    orders, cart = _customer_orders(container, customer_id)
    states = sorted((o.status, f.method.value, f.status) for o in orders for f in o.fulfilments)
    assert states == [
        ("cancelled", "ship_to_home", "cancelled"),
        ("completed", "ship_to_home", "delivered"),
        ("ready_for_pickup", "pickup_in_store", "ready_for_pickup"),
        ("shipped", "ship_to_home", "shipped"),
        ("shipped", "ship_to_store", "shipped"),  # in transit to the pickup store
    ]
    assert {o.contact_email for o in orders} == {CUSTOMER_EMAIL}
    home = next(
        o
        for o in orders
        if o.status == "shipped" and o.fulfilments[0].method.value == "ship_to_home"
    )
    assert (home.fulfilments[0].carrier, home.fulfilments[0].tracking_number) == (
        "DPD",
        "15501234567890",
    )
    assert len(cart.lines) == 2 and cart.status == "active"
    printed = TRACK.findall(output)
    # each order once in the list (the tour repeats the pickup's link)
    assert sorted(set(printed)) == sorted(o.tracking_url for o in orders)
    assert f"open cart: token {cart.token}" in output

    pickup = next(o for o in orders if o.fulfilments[0].method.value == "pickup_in_store")
    headers = {"X-API-Key": admin_api_key(container)}
    with TestClient(create_app(container, background_sweep=False), headers=headers) as client:
        page = client.get(pickup.tracking_url)
        data = client.get(pickup.tracking_url, headers={"Accept": "application/json"}).json()
        api_cart = client.get(f"/api/v1/carts/{cart.token}")
    with container.read_uow() as uow:
        [code] = lookup.pickup_codes(uow, pickup.number).values()
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert re.fullmatch(r"\d{6}", code)
    # the tour prints the code (the demo customer's own); the tracking link shows none
    assert code not in page.text and "pickup_code" not in data["fulfilments"][0]
    assert "ready" in page.text.lower()
    assert api_cart.status_code == 200 and len(api_cart.json()["lines"]) == 2

    verify = CliRunner().invoke(app, ["inventory", "verify"], env=demo_env(container, tmp_path))
    assert verify.exit_code == 0, verify.output
    assert f"ok: {2 + 2 * len(STORES)} stock records match the ledger" in verify.output


def test_running_the_demo_again_adds_no_orders(container, tmp_path):
    log = write_log(tmp_path / "log.parquet")
    first = run_demo(container, tmp_path, log)
    customer_id = int(re.search(r"/api/v1/customers/(\d+)/360", first).group(1))
    before, cart = _customer_orders(container, customer_id)

    again = run_demo(container, tmp_path, log)

    after, cart_again = _customer_orders(container, customer_id)
    assert "the demo customer's orders exist; none added" in again
    # not "0 points earned", as if the history had earned none
    assert "the history's points earned at the first start" in again
    assert " 0 points earned" not in again and "points earned at the first" not in first
    assert [o.number for o in after] == [o.number for o in before]
    assert cart_again.token == cart.token
    assert sorted(set(TRACK.findall(again))) == sorted(o.tracking_url for o in before)


def test_the_demos_web_orders_are_baskets_that_pay_the_delivery_fee(container, tmp_path):
    output = run_demo(container, tmp_path, write_log(tmp_path / "log.parquet"))

    customer_id = int(re.search(r"/api/v1/customers/(\d+)/360", output).group(1))
    orders, _cart = _customer_orders(container, customer_id)
    home = [o for o in orders if o.fulfilments[0].method.value == "ship_to_home"]
    # The log's two DC SKUs in every basket: 22041 at £2.10 (8 units: a history line held
    # 48 most often), 85123A at £2.55 (1 unit: the DC's 5 share four baskets)
    assert len(home) == 3
    for order in home:
        assert sorted((ln.sku, ln.quantity) for ln in order.lines if ln.sku) == [
            ("22041", 8),
            ("85123A", 1),
        ]
        assert order.fee is not None and order.total == Decimal("19.35") + Decimal("3.95")


def test_the_demos_click_and_collect_order_is_a_basket_from_the_stores_shelf(container, tmp_path):
    output = run_demo(container, tmp_path, write_log(tmp_path / "log.parquet"))

    customer_id = int(re.search(r"/api/v1/customers/(\d+)/360", output).group(1))
    orders, _cart = _customer_orders(container, customer_id)
    pickup = next(o for o in orders if o.fulfilments[0].method.value == "pickup_in_store")
    with container.read_uow() as uow:
        shelf = {
            lv.sku: lv
            for lv in inventory.list_stock_levels(
                uow, location=pickup.fulfilments[0].pickup_location
            )
        }
    # The log's two SKUs, each 2 units on the shelf: one of each, a unit of each left there
    # (it was a single unit of one SKU).
    assert sorted((ln.sku, ln.quantity) for ln in pickup.lines if ln.sku) == [
        ("22041", 1),
        ("85123A", 1),
    ]
    assert pickup.total == Decimal("2.10") + Decimal("2.55") and pickup.fee is None
    assert {sku: level.available for sku, level in shelf.items()} == {"22041": 1, "85123A": 1}
    # The plan page is empty until run: the tour says to run it.
    assert "/hq/planning (press 'Run the plan now'" in output


def _order(number, channel, status, code_waiting=False):
    fulfilment = SimpleNamespace(
        method=SimpleNamespace(value="pickup_in_store"), pickup_location="LON1", status=status
    )
    return SimpleNamespace(
        number=number, channel=channel, fulfilments=[fulfilment], tracking_url=f"/track/{number}"
    )


def test_a_later_starts_tour_hands_over_a_web_order_not_a_till_sale():
    """After the tour's walk the customer's newest orders are a till sale (a collected
    pickup at the till) and a web order of her own still being prepared: the tour named the
    till sale a "web order" and asked to "enter code (collected already) and hand it over"."""
    till = _order("OR-TILL", "POS", "collected")
    own = _order("OR-OWN", "WEB", "created")
    demo = _order("OR-DEMO", "WEB", "collected")
    account = SimpleNamespace(available=299, tier=SimpleNamespace(tier="Bronze", basis="b"))
    console = Console(record=True, width=300)

    made = DemoOrders(created=False, orders=[till, own, demo], cart_token=None, pickup_codes={})
    print_tour(console, "http://x", 1, account, made, ("LON1", "LON2"))
    text = console.export_text()
    assert "2. web order OR-DEMO: click & collect at LON1, collected" in text
    assert "collected, no pickup code waiting (her order's page" in text and "OR-TILL" not in text
    assert "/store/orders/OR-DEMO -> collected already (`omniretail demo --reset`" in text

    waiting = _order("OR-WAIT", "WEB", "ready_for_pickup")
    made = DemoOrders(
        created=False,
        orders=[till, waiting, demo],
        cart_token=None,
        pickup_codes={"OR-WAIT": "123456"},
    )
    console = Console(record=True, width=300)
    print_tour(console, "http://x", 1, account, made, ("LON1", "LON2"))
    text = console.export_text()
    assert (
        "2. web order OR-WAIT: click & collect at LON1, ready for pickup, pickup code 123456"
        in text
    )
    assert "/store/orders/OR-WAIT -> enter code 123456 and hand it over" in text
