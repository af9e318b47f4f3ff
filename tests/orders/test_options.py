"""Fulfilment options: the same answer for a product page (one SKU) and for a cart."""

from __future__ import annotations

from tests.orders.network import HOME, add, make_orders_network, new_cart, ok, receive


def _summary(options):
    return [
        (o["method"], o["location"], o["available"], o["promise_date"], o["sources"])
        for o in options["options"]
    ]


def test_product_page_and_cart_get_the_same_options(container, client):
    make_orders_network(container)
    receive(container, "A1", "DC1", 4)
    receive(container, "A1", "LON2", 1)

    page = ok(
        client.get(
            "/api/v1/fulfilment-options",
            params={"sku": "A1", "quantity": 2, "channel": "WEB", **HOME},
        )
    )
    token = new_cart(client)
    ok(add(client, token, "A1", 2))
    cart = ok(client.get(f"/api/v1/carts/{token}/fulfilment-options", params=HOME))
    assert _summary(page) == _summary(cart)

    by_place = {(o["method"], o["location"]): o for o in page["options"]}
    assert by_place[("ship_to_home", None)]["available"] is True
    # LON2 has 1 of the 2: not "today" there, but after a transfer from DC1 (which has both,
    # so one source beats splitting)
    camden = by_place[("ship_to_store", "LON2")]
    assert (camden["available"], camden["sources"]) == (True, ["DC1"])
    assert camden["promise_date"] == "2026-11-04"
    assert by_place[("ship_to_store", "LON1")]["sources"] == ["DC1"]
    assert by_place[("locker", "LOCK1")]["available"] is True
    assert all(o["method"] != "pickup_in_store" or not o["available"] for o in page["options"])

    none_left = ok(
        client.get(
            "/api/v1/fulfilment-options",
            params={"sku": "A1", "quantity": 9, "channel": "WEB"},
        )
    )
    home = next(o for o in none_left["options"] if o["method"] == "ship_to_home")
    assert home["available"] is False
    # 2 left at DC1 (the cart holds 2) and 1 at LON2: 6 of the 9 cannot be placed
    assert home["detail"] == "not enough stock at eligible locations for 6 x A1"


class _NoSlots:
    """Read slots that refuse to be taken."""

    async def __aenter__(self) -> None:
        raise AssertionError("a read slot was taken")

    async def __aexit__(self, *_exc: object) -> None:
        return None


def test_cart_options_read_in_one_thread_hop_without_a_read_slot(container, client):
    """The cart's options (a hot read of the checkout flow) open and close their unit of work
    on one worker thread: no read slot, no dependency to exit afterwards."""
    make_orders_network(container)
    receive(container, "A1", "DC1", 4)
    token = new_cart(client)
    ok(add(client, token, "A1", 1))
    client.app.state.read_slots = _NoSlots()
    answer = client.get(f"/api/v1/carts/{token}/fulfilment-options", params=HOME)
    assert _summary(ok(answer))
    assert 'sql;desc="' in answer.headers["server-timing"]
    assert 'sql;desc="0"' not in answer.headers["server-timing"]  # counted in the thread
    gone = client.get("/api/v1/carts/nope-nope-nope/fulfilment-options", params=HOME)
    assert gone.status_code == 404
    assert gone.headers["content-type"] == "application/problem+json"
