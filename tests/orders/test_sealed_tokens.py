"""The cart's token and the order's tracking token are bearer secrets: the database holds
neither in clear, only their digests (the look-up keys) and vault ciphertext, and everything
that finds or shows them still works (the cart API, the tracking page, the owner's links).
The payment provider's token given at checkout is kept only as vault ciphertext too."""

from __future__ import annotations

from sqlalchemy import text

from omniretail.kernel.ids import token_digest
from tests.customers.helpers import vault
from tests.orders.network import (
    add,
    advance,
    checkout,
    make_customer,
    make_orders_network,
    new_cart,
    ok,
    receive,
    tracking,
)


def _row(container, table: str, key: str, value: object) -> dict[str, object]:
    with container.engine.connect() as conn:
        row = conn.execute(text(f"SELECT * FROM {table} WHERE {key} = :v"), {"v": value}).one()
    return dict(row._mapping)


def _holds(row: dict[str, object], secret: str) -> list[str]:
    return [column for column, value in row.items() if secret in str(value)]


def test_a_checkout_leaves_no_token_in_clear_and_both_still_work(container, client):
    make_orders_network(container)
    receive(container, "A1", "DC1", 5)
    token = new_cart(client)
    ok(add(client, token, "A1", 1))
    order = ok(checkout(client, token), 201)
    tracking_token = order["tracking_url"].rsplit("/", 1)[-1]

    cart_row = _row(container, "carts", "id", order_cart_id(container, order["number"]))
    order_row = _row(container, "orders", "number", order["number"])
    assert _holds(cart_row, token) == [] and _holds(order_row, tracking_token) == []
    assert cart_row["token_digest"] == token_digest(token)
    assert order_row["tracking_token_digest"] == token_digest(tracking_token)
    v = vault(container)
    assert v.decrypt("cart_token", cart_row["token_enc"]) == token
    assert v.decrypt("order_tracking_token", order_row["tracking_token_enc"]) == tracking_token

    # The holders' calls find them by the token.
    assert ok(client.get(f"/api/v1/carts/{token}"))["status"] == "checked_out"
    assert tracking(client, order)["number"] == order["number"]
    page = client.get(order["tracking_url"])
    assert page.status_code == 200 and order["number"] in page.text
    assert client.get(f"/track/{order_row['tracking_token_digest']}").status_code == 404
    assert client.get(f"/api/v1/carts/{cart_row['token_digest']}").status_code == 404
    # The link is built again from the ciphertext for the order's reads.
    assert (
        ok(client.get(f"/api/v1/orders/{order['number']}"))["tracking_url"]
        == (order["tracking_url"])
    )


def test_a_customers_cart_answers_its_token_again(container, client):
    """One cart per customer on every device: the token is opened from its ciphertext."""
    make_orders_network(container)
    receive(container, "A1", "DC1", 5)
    customer = make_customer(container)
    token = new_cart(client, customer_id=customer)
    assert new_cart(client, channel="POS", customer_id=customer) == token
    found = ok(client.get("/api/v1/carts", params={"customer_id": customer}))
    assert found["token"] == token
    assert ok(add(client, found["token"], "A1", 1))["lines"][0]["quantity"] == 1


def order_cart_id(container, number: str) -> str:
    with container.engine.connect() as conn:
        return str(
            conn.execute(
                text("SELECT cart_id FROM orders WHERE number = :n"), {"n": number}
            ).scalar_one()
        )


def test_the_audit_log_names_a_cart_without_its_token(container, client):
    """Every authenticated change is audited with its path; a cart's path holds its token,
    which the audit log (read by every admin) keeps only as the start of its digest."""
    make_orders_network(container)
    receive(container, "A1", "DC1", 5)
    token = new_cart(client)
    ok(add(client, token, "A1", 1))
    ok(checkout(client, token), 201)
    with container.engine.connect() as conn:
        subjects = conn.execute(text("SELECT subject FROM audit_log")).scalars().all()
    on_the_cart = [s for s in subjects if s and s.startswith("/api/v1/carts/")]
    assert on_the_cart and not [s for s in subjects if s and token in s]
    assert f"/api/v1/carts/~{token_digest(token)[:16]}/checkout" in on_the_cart


def test_the_payment_token_is_sealed_and_an_exchange_authorises_with_it(container, client, clock):
    """The provider's token given at checkout is kept only as vault ciphertext; an exchange
    that costs more authorises the difference with it, opened from the ciphertext."""
    make_orders_network(container)
    receive(container, "A1", "DC1", 5)
    receive(container, "B2", "LON2", 1)
    token = new_cart(client)
    ok(add(client, token, "A1", 1))
    card = "tok_visa_sealed_at_checkout"
    order = ok(checkout(client, token, card=card), 201)
    assert "payment_token" not in str(order) and card not in str(order)

    order_row = _row(container, "orders", "number", order["number"])
    assert "payment_token" not in order_row and _holds(order_row, card) == []
    assert vault(container).decrypt("order_payment_token", order_row["payment_token_enc"]) == card

    [f] = order["fulfilments"]
    advance(client, f["id"], "accept", "pick", "pack", "ship", "deliver")
    clock.advance(days=1)
    ok(
        client.post(
            f"/api/v1/orders/{order['number']}/exchanges",
            json={
                "location": "LON2",
                "returns": [{"line_no": 1, "quantity": 1}],
                "new_lines": [{"sku": "B2", "quantity": 1}],
            },
        )
    )
    # The checkout's authorisation, then the exchange's difference with the same token.
    authorised = [(a.token, a.amount) for a in container.payments.authorisations.values()]
    assert authorised == [(card, 20), (card, 15.5)]
