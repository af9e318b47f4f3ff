"""Scopes that depend on stored rows: a store associate acts on their own store's fulfilments,
holds and order lines only; a customer on their own carts and anonymous ones only. A refused
request is a 403 problem+json that writes nothing (no change, no audit row)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from omniretail.app import create_app
from omniretail.bootstrap import Container
from tests.auth.test_role_matrix import PASSWORD
from tests.orders.network import add, checkout, new_cart, ok, step

API = "/api/v1"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def collect_order(client: TestClient, store: str, sku: str = "A1") -> dict[str, Any]:
    """An order (placed by the admin client) picked up where its unit is reserved."""
    token = new_cart(client)
    ok(add(client, token, sku, 1, location=store))
    return dict(ok(checkout(client, token, "pickup_in_store", pickup=store), 201))


def refused(response: Any, *words: str) -> None:
    assert response.status_code == 403, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    detail = response.json()["detail"]
    for word in words:
        assert word in detail, detail


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def status_of(client: TestClient, number: str) -> list[str]:
    return [f["status"] for f in ok(client.get(f"{API}/orders/{number}"))["fulfilments"]]


def audit(client: TestClient, area: str) -> list[tuple[str, str]]:
    rows = ok(client.get(f"{API}/audit", params={"area": area}))
    return [(a["actor"], a["action"]) for a in rows]


# --- store associates ----------------------------------------------------------------------------


def test_an_associate_takes_steps_only_on_their_own_stores_fulfilments(client, who):
    lon = collect_order(client, "LON1")
    man = collect_order(client, "MAN1")
    fid_lon, fid_man = lon["fulfilments"][0]["id"], man["fulfilments"][0]["id"]

    for action, body in [("accept", {}), ("reject", {"reason": "out_of_stock"})]:
        r = client.post(f"{API}/fulfilments/{fid_man}/{action}", headers=who["asha"], json=body)
        refused(r, f"fulfilment {fid_man} is served by MAN1", "store associates of LON1")
    assert status_of(client, man["number"]) == ["created"]
    assert ok(client.get(f"{API}/orders/{man['number']}/log")) == []
    assert audit(client, "fulfilments") == []

    r = client.post(f"{API}/fulfilments/{fid_lon}/accept", headers=who["asha"], json={})
    assert ok(r)["fulfilments"][0]["status"] == "accepted"
    r = client.post(f"{API}/fulfilments/{fid_man}/accept", headers=who["manny"], json={})
    assert ok(r)["fulfilments"][0]["status"] == "accepted"
    assert sorted(audit(client, "fulfilments")) == [
        ("store_associate:asha", "POST /fulfilments/{fid}/accept"),
        ("store_associate:manny", "POST /fulfilments/{fid}/accept"),
    ]


def test_a_missing_fulfilment_is_a_404_for_associates_and_admins(client, who):
    for headers in (who["asha"], {}):
        r = client.post(f"{API}/fulfilments/no-such-id/accept", headers=headers, json={})
        assert r.status_code == 404, r.text
        assert r.json()["type"].endswith("/unknown-fulfilment")


def test_ship_to_store_is_sent_by_its_source_and_received_and_handed_over_by_the_pickup_store(
    client, who
):
    token = new_cart(client)
    ok(add(client, token, "B2", 1))
    order = ok(checkout(client, token, "ship_to_store", pickup="LON1"), 201)
    [f] = order["fulfilments"]
    assert (f["location"], f["pickup_location"]) == ("DC1", "LON1")

    refused(step_as(client, who["asha"], f["id"], "accept"), "served by DC1")
    assert status_of(client, order["number"]) == ["created"]
    for action in ("accept", "pick", "pack"):
        ok(step(client, f["id"], action))
    refused(step_as(client, who["asha"], f["id"], "ship", {"carrier": "van"}), "served by DC1")
    ok(step(client, f["id"], "ship", {"carrier": "van"}))

    refused(step_as(client, who["manny"], f["id"], "ready"), "served by LON1")
    assert status_of(client, order["number"]) == ["shipped"]
    assert ok(step_as(client, who["asha"], f["id"], "ready"))["status"] == "arrived_at_store"
    collected = step_as(client, who["asha"], f["id"], "collect", {"override_reason": "ID seen"})
    assert ok(collected)["status"] == "completed"
    assert audit(client, "fulfilments") == [  # newest first; the refused steps left none
        ("store_associate:asha", "POST /fulfilments/{fid}/collect"),
        ("store_associate:asha", "POST /fulfilments/{fid}/ready"),
        *[
            ("admin:test-admin", f"POST /fulfilments/{{fid}}/{a}")
            for a in ("ship", "pack", "pick", "accept")
        ],
    ]


def step_as(
    client: TestClient, headers: dict[str, str], fid: str, action: str, body: Any = None
) -> Any:
    return client.post(f"{API}/fulfilments/{fid}/{action}", headers=headers, json=body or {})


def test_an_associate_cancels_only_lines_their_store_serves(client, who):
    man = collect_order(client, "MAN1")
    r = client.post(f"{API}/orders/{man['number']}/cancel", headers=who["asha"], json={})
    refused(r, f"line 1 of order {man['number']} is served by MAN1", "store associates of LON1")
    r = client.post(
        f"{API}/orders/{man['number']}/cancel", headers=who["asha"], json={"line_nos": ["1"]}
    )
    refused(r, "served by MAN1")
    assert status_of(client, man["number"]) == ["created"]
    assert audit(client, "orders") == []

    lon = collect_order(client, "LON1")
    r = client.post(f"{API}/orders/{lon['number']}/cancel", headers=who["asha"], json={})
    assert ok(r)["status"] == "cancelled"
    assert audit(client, "orders") == [("store_associate:asha", "POST /orders/{number}/cancel")]
    r = client.post(f"{API}/orders/NO-SUCH/cancel", headers=who["asha"], json={})
    assert r.status_code == 404, r.text
    # Service agents are not tied to a store.
    r = client.post(f"{API}/orders/{man['number']}/cancel", headers=who["sam"], json={})
    assert ok(r)["status"] == "cancelled"


def test_an_associate_releases_only_holds_at_their_store(client, who):
    def reserve(location: str) -> str:
        body = {"sku": "A1", "location": location, "channel": "WEB", "quantity": 1}
        return str(ok(client.post(f"{API}/inventory/reservations", json=body), 201)["id"])

    at_man, at_lon = reserve("MAN1"), reserve("LON1")
    before = audit(client, "inventory")
    r = client.post(f"{API}/inventory/reservations/{at_man}/release", headers=who["asha"])
    refused(r, f"hold {at_man} is at MAN1", "store associates of LON1")
    assert ok(client.get(f"{API}/inventory/reservations/{at_man}"))["status"] == "active"
    assert audit(client, "inventory") == before
    r = client.post(f"{API}/inventory/reservations/{at_lon}/release", headers=who["asha"])
    assert ok(r)["status"] == "released"
    assert audit(client, "inventory") == [
        ("store_associate:asha", "POST /inventory/reservations/{hold_id}/release"),
        *before,
    ]


# --- customers -----------------------------------------------------------------------------------


def test_a_customer_uses_only_their_own_carts_and_anonymous_ones(client, who):
    cara, vic = who["ids"]["cara"], who["ids"]["vic"]
    vics = new_cart(client, customer_id=vic)
    ok(add(client, vics, "A1", 1, location="LON1"))
    before = audit(client, "carts")

    refused(client.get(f"{API}/carts/{vics}", headers=who["cara"]), "another customer")
    r = client.post(
        f"{API}/carts/{vics}/lines", headers=who["cara"], json={"sku": "A1", "quantity": 2}
    )
    refused(r, "another customer")
    r = client.post(f"{API}/carts/{vics}/attach", headers=who["cara"], json={"customer_id": cara})
    refused(r, "another customer")
    r = client.post(
        f"{API}/carts", headers=who["cara"], json={"channel": "WEB", "customer_id": vic}
    )
    refused(r, "for themselves")
    assert vics not in r.text
    cart = ok(client.get(f"{API}/carts/{vics}"))
    assert (cart["customer_id"], [(ln["sku"], ln["quantity"]) for ln in cart["lines"]]) == (
        vic,
        [("A1", 1)],
    )
    assert audit(client, "carts") == before

    # Their own cart, and an anonymous one they hold the token of (attached at login).
    mine = ok(
        client.post(
            f"{API}/carts", headers=who["cara"], json={"channel": "WEB", "customer_id": cara}
        ),
        201,
    )
    assert ok(client.get(f"{API}/carts/{mine['token']}", headers=who["cara"]))["id"] == mine["id"]
    anonymous = new_cart(client)
    r = client.post(
        f"{API}/carts/{anonymous}/lines",
        headers=who["cara"],
        json={"sku": "A1", "quantity": 1, "location": "LON1"},
    )
    assert [ln["sku"] for ln in ok(r)["lines"]] == ["A1"]
    r = client.post(
        f"{API}/carts/{anonymous}/attach", headers=who["cara"], json={"customer_id": cara}
    )
    merged = ok(r)
    assert (merged["token"], merged["customer_id"]) == (mine["token"], cara)
    assert [(ln["sku"], ln["quantity"]) for ln in merged["lines"]] == [("A1", 1)]
    refused(client.get(f"{API}/carts/{mine['token']}", headers=who["vic"]), "another customer")

    # Staff keep access to every cart: associates finish a customer's cart in the store.
    assert ok(client.get(f"{API}/carts/{vics}", headers=who["sam"]))["customer_id"] == vic
    r = client.post(
        f"{API}/carts/{vics}/lines",
        headers=who["asha"],
        json={"sku": "A1", "quantity": 1, "location": "LON1"},
    )
    assert [(ln["sku"], ln["quantity"]) for ln in ok(r)["lines"]] == [("A1", 2)]
    r = client.get(f"{API}/carts/no-such-token", headers=who["cara"])
    assert r.status_code == 404, r.text


def test_a_customer_buys_only_on_the_web_shop_or_the_app(client, who):
    """The till's channel has its own price lists, promotions and no delivery fee: a customer
    naming it (a cart, a line, a checkout) would buy at till prices for home delivery."""
    cara = who["ids"]["cara"]
    refused(client.post(f"{API}/carts", headers=who["cara"], json={"channel": "POS"}), "POS")
    refused(
        client.post(
            f"{API}/carts", headers=who["cara"], json={"channel": "pos", "customer_id": cara}
        ),
        "pos",
    )
    token = ok(client.post(f"{API}/carts", headers=who["cara"], json={"channel": "WEB"}), 201)
    line = {"sku": "A1", "quantity": 1, "location": "LON1"}
    refused(
        client.post(
            f"{API}/carts/{token['token']}/lines",
            headers=who["cara"],
            json={**line, "channel": "POS"},
        ),
        "POS",
    )
    ok(client.post(f"{API}/carts/{token['token']}/lines", headers=who["cara"], json=line))
    refused(
        client.post(
            f"{API}/carts/{token['token']}/checkout",
            headers=who["cara"],
            json={
                "channel": "POS",
                "fulfilment": {"method": "pickup_in_store", "pickup_location": "LON1"},
                "payment": {"provider_token": "tok_visa"},
            },
        ),
        "POS",
    )
    # nor reads the cart, its options or an item's options at the till's prices
    cart = f"{API}/carts/{token['token']}"
    refused(client.get(cart, headers=who["cara"], params={"channel": "POS"}), "POS")
    options = client.get(
        f"{cart}/fulfilment-options", headers=who["cara"], params={"channel": "pos"}
    )
    refused(options, "pos")
    sku_options = {"sku": "A1", "channel": "POS"}
    refused(client.get(f"{API}/fulfilment-options", headers=who["cara"], params=sku_options), "POS")
    assert ok(client.get(cart, headers=who["cara"], params={"channel": "WEB"}))["lines"]
    # staff still sell on the till's channel
    assert ok(client.post(f"{API}/carts", headers=who["asha"], json={"channel": "POS"}), 201)
    assert client.get(cart, headers=who["asha"], params={"channel": "POS"}).status_code == 200


def test_a_signed_in_customers_new_cart_is_always_their_own(client, who):
    """Anonymous carts by the dozen would each hold stock up to the hold caps: a signed-in
    customer asking for a cart gets their own active cart, whatever the body leaves out."""
    first = ok(client.post(f"{API}/carts", headers=who["cara"], json={"channel": "WEB"}), 201)
    again = ok(client.post(f"{API}/carts", headers=who["cara"], json={"channel": "web"}), 201)
    assert first["customer_id"] == again["customer_id"] == who["ids"]["cara"]
    assert again["token"] == first["token"]
    # staff still open anonymous carts (a walk-in at the till)
    walk_in = ok(client.post(f"{API}/carts", headers=who["asha"], json={"channel": "POS"}), 201)
    assert walk_in["customer_id"] is None


def test_a_customer_reads_orders_only_through_their_own_profile_and_tracking_link(client, who):
    cara = who["ids"]["cara"]
    token = ok(
        client.post(
            f"{API}/carts", headers=who["cara"], json={"channel": "WEB", "customer_id": cara}
        ),
        201,
    )["token"]
    ok(
        client.post(
            f"{API}/carts/{token}/lines",
            headers=who["cara"],
            json={"sku": "A1", "quantity": 1, "location": "LON1"},
        )
    )
    r = client.post(
        f"{API}/carts/{token}/checkout",
        headers=who["cara"],
        json={
            "fulfilment": {"method": "pickup_in_store", "pickup_location": "LON1"},
            "payment": {"provider_token": "tok_visa"},
        },
    )
    mine = ok(r, 201)
    assert mine["customer_id"] == cara
    others = collect_order(client, "MAN1")

    for number in (mine["number"], others["number"]):
        refused(client.get(f"{API}/orders/{number}", headers=who["cara"]), "role customer")
        refused(client.get(f"{API}/orders/{number}/log", headers=who["cara"]), "role customer")
    refused(client.get(f"{API}/orders", params={"customer_id": cara}, headers=who["cara"]))
    assert ok(client.get(f"{API}/customers/{cara}", headers=who["cara"]))["id"] == cara
    refused(client.get(f"{API}/customers/{who['ids']['vic']}/360", headers=who["cara"]))
    public = client.get(
        mine["tracking_url"], headers={"Accept": "application/json", "X-API-Key": ""}
    )
    assert ok(public)["number"] == mine["number"]


def test_the_store_app_offers_and_takes_only_the_steps_of_the_associates_store(
    container: Container, client: TestClient, who: dict[str, Any]
) -> None:
    token = new_cart(client)
    ok(add(client, token, "B2", 1))
    number = ok(checkout(client, token, "ship_to_store", pickup="LON1"), 201)["number"]
    fid = ok(client.get(f"{API}/orders/{number}"))["fulfilments"][0]["id"]
    app = create_app(container, background_sweep=False)
    with TestClient(app, follow_redirects=False) as web:
        form = web.get("/signin").text
        data = {"username": "asha", "password": PASSWORD, "csrf_token": csrf_of(form)}
        assert web.post("/signin", data=data).status_code == 303
        page = web.get(f"/store/orders/{number}")
        assert page.status_code == 200
        assert f"/fulfilments/{fid}/" not in page.text  # DC1 accepts it: no buttons at LON1
        r = web.post(
            f"/store/orders/{number}/fulfilments/{fid}/accept",
            data={"csrf_token": csrf_of(page.text)},
        )
        assert r.status_code == 403  # the API's own refusal, word for word
        assert (
            f"fulfilment {fid} is served by DC1: store associates of LON1 may not accept it"
            in r.text
        )
    assert status_of(client, number) == ["created"]
    assert audit(client, "orders") == audit(client, "fulfilments") == []


def test_unscoped_requests_are_decided_without_a_thread_or_a_read(
    client: TestClient, who: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The decision's fast path: an unscoped role (a service agent), or an associate naming
    only their own store, costs the decision no thread hop (so no database read); a scope
    that depends on a stored row takes one. Authentication itself reads the principal in one
    hop (``_authenticate``; on PostgreSQL ``_read_principal``, none once the principal cache
    holds it), so a revoked principal is refused at once."""
    from omniretail.auth import api as auth_api

    hops: list[str] = []

    async def counted(_request: Any, fn: Any, *args: Any) -> Any:
        hops.append(getattr(fn, "__name__", str(fn)))
        return fn(*args)

    monkeypatch.setattr(auth_api, "in_lane", counted)
    count = {"sku": "A1", "location": "LON1", "counted_quantity": 5}
    ok(client.post(f"{API}/inventory/counts", headers=who["asha"], json=count), 201)
    ok(client.get(f"{API}/inventory/stock/A1/LON1", headers=who["sam"]))
    reads = ("_authenticate", "_read_principal")
    assert [h for h in hops if h not in reads] == [] and len(hops) <= 2
    order = collect_order(client, "MAN1")
    hops.clear()
    r = client.post(
        f"{API}/fulfilments/{order['fulfilments'][0]['id']}/accept", headers=who["asha"]
    )
    refused(r, "served by MAN1")
    assert [h for h in hops if h not in reads] == ["run_checks"] and len(hops) <= 2


def test_an_associate_cancels_part_of_their_own_line_on_a_mixed_order(client, who):
    token = new_cart(client)
    ok(add(client, token, "A1", 2, location="LON1"))
    ok(add(client, token, "B2", 1, location="DC1"))
    order = ok(checkout(client, token), 201)
    sent_from = {f["id"]: f["location"] for f in order["fulfilments"]}
    by_location = {sent_from[ln["fulfilment_id"]]: ln["line_no"] for ln in order["lines"]}
    assert set(by_location) == {"LON1", "DC1"}
    number = order["number"]

    r = client.post(
        f"{API}/orders/{number}/cancel",
        headers=who["asha"],
        json={"lines": [{"line_no": by_location["DC1"], "quantity": 1}]},
    )
    refused(r, "served by DC1")
    # naming only their own line, in the per-quantity form, is allowed
    r = client.post(
        f"{API}/orders/{number}/cancel",
        headers=who["asha"],
        json={"lines": [{"line_no": by_location["LON1"], "quantity": 1}]},
    )
    after = ok(r)
    sent_from = {f["id"]: f["location"] for f in after["fulfilments"]}
    open_at = sorted(
        (sent_from[ln["fulfilment_id"]], ln["quantity"])
        for ln in after["lines"]
        if ln["status"] != "cancelled"
    )
    assert open_at == [("DC1", 1), ("LON1", 1)]


def test_a_cart_opened_at_the_till_is_not_changed_or_checked_out_by_the_customer(
    client, container, who
):
    """The till's cart keeps the till's prices and holds: the customer, naming the web shop or
    nothing, neither adds to it nor checks it out (nor the anonymous one whose QR they scan)."""
    cara = who["ids"]["cara"]
    line = {"sku": "A1", "quantity": 1, "location": "LON1"}
    theirs = ok(
        client.post(
            f"{API}/carts", headers=who["asha"], json={"channel": "POS", "customer_id": cara}
        ),
        201,
    )["token"]
    anonymous = ok(client.post(f"{API}/carts", headers=who["asha"], json={"channel": "POS"}), 201)
    for token in (theirs, anonymous["token"]):
        ok(client.post(f"{API}/carts/{token}/lines", headers=who["asha"], json=line))
        for channel in ({"channel": "WEB"}, {}):
            refused(
                client.post(
                    f"{API}/carts/{token}/lines",
                    headers=who["cara"],
                    json={**line, "sku": "B2", "location": "DC1", **channel},
                ),
                "channel POS",
            )
            refused(
                client.post(
                    f"{API}/carts/{token}/checkout",
                    headers=who["cara"],
                    json={
                        **channel,
                        "fulfilment": {"method": "pickup_in_store", "pickup_location": "LON1"},
                        "payment": {"provider_token": "tok_visa"},
                    },
                ),
                "channel POS",
            )
        refused(client.post(f"{API}/carts/{token}/refresh", headers=who["cara"]), "channel POS")
        refused(
            client.post(
                f"{API}/carts/{token}/attach", headers=who["cara"], json={"customer_id": cara}
            ),
            "channel POS",
        )
        cart = ok(client.get(f"{API}/carts/{token}", headers=who["cara"]))
        assert (cart["channel"], [ln["sku"] for ln in cart["lines"]]) == ("POS", ["A1"])
    assert ok(client.get(f"{API}/orders", params={"customer_id": cara})) == []
    # the till finishes it
    r = client.post(
        f"{API}/carts/{theirs}/checkout",
        headers=who["asha"],
        json={
            "fulfilment": {"method": "pickup_in_store", "pickup_location": "LON1"},
            "payment": {"provider_token": "tok_visa"},
        },
    )
    assert ok(r, 201)["channel"] == "POS"


def test_the_shop_refuses_a_basket_opened_at_the_till(client, container, who):
    """The console's shop decides the same: the basket the till opened is not the shop's."""
    cara = who["ids"]["cara"]
    token = ok(
        client.post(
            f"{API}/carts", headers=who["asha"], json={"channel": "POS", "customer_id": cara}
        ),
        201,
    )["token"]
    ok(
        client.post(
            f"{API}/carts/{token}/lines",
            headers=who["asha"],
            json={"sku": "A1", "quantity": 1, "location": "LON1"},
        )
    )
    app = create_app(container, background_sweep=False)
    shop = TestClient(app, follow_redirects=False)
    form = shop.get("/signin").text
    data = {"username": "cara@example.com", "password": PASSWORD, "csrf_token": csrf_of(form)}
    assert shop.post("/signin", data=data).status_code == 303
    form = shop.get("/shop/basket")
    r = shop.post(
        "/shop/basket/add",
        data={"sku": "B2", "quantity": "1", "csrf_token": csrf_of(form.text)},
    )
    assert r.status_code == 403, r.text
    cart = ok(client.get(f"{API}/carts/{token}"))
    assert [ln["sku"] for ln in cart["lines"]] == ["A1"]
