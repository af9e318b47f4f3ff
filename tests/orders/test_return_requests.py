"""Return requests (return authorisations): a customer starts a return by post or in store and
gets a return code; nothing is refunded until the items are received by code at a location,
through the one return implementation (stock, ledger, refund, events)."""

from __future__ import annotations

import re
import threading
from typing import Any

import pytest
from sqlalchemy import func, select

from omniretail.auth import service as auth
from omniretail.auth.models import Role
from omniretail.auth.schemas import PrincipalCreate
from omniretail.fulfilment import service as fulfilment
from omniretail.fulfilment.models import ReturnRequest
from omniretail.fulfilment.schemas import ReturnRequestCreate
from omniretail.kernel.errors import DomainError
from tests.customers.helpers import make_customer
from tests.orders.network import (
    add,
    advance,
    assert_verified,
    checkout,
    event_data,
    ledger_kinds,
    make_orders_network,
    new_cart,
    ok,
    order_events,
    receive,
    stock,
)

PASSWORD = "correct horse battery"
CODE = re.compile(r"^R-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$")


def _delivered_order(container, client, quantity=3, customer_id=None):
    make_orders_network(container)
    receive(container, "A1", "DC1", 5)
    receive(container, "B2", "DC1", 5)
    token = new_cart(client, customer_id=customer_id)
    ok(add(client, token, "A1", quantity))
    ok(add(client, token, "B2", 1))
    order = ok(checkout(client, token), 201)
    for f in order["fulfilments"]:
        advance(client, f["id"], "accept", "pick", "pack", "ship", "deliver")
    return order["number"]


def _request(client, number, lines, method="in_store", reason="wrong_size", **kw):
    body = {
        "method": method,
        "reason": reason,
        "lines": [{"line_no": n, "quantity": q} for n, q in lines],
    }
    return client.post(f"/api/v1/orders/{number}/return-requests", json=body, **kw)


def _count_requests(container) -> int:
    with container.read_uow() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(ReturnRequest)) or 0)


def test_in_store_request_holds_units_and_is_refunded_when_received(
    container, client, clock, notices
):
    number = _delivered_order(container, client)
    clock.advance(days=3)

    created = ok(_request(client, number, [(1, 2)]), 201)
    assert CODE.match(created["code"]), created["code"]
    assert (created["status"], created["method"], created["destination"]) == (
        "open",
        "in_store",
        None,
    )
    assert created["reason_label"] == "Wrong size or fit"
    assert created["value"] == "40.00"
    assert [(ln["line_no"], ln["sku"], ln["quantity"]) for ln in created["lines"]] == [(1, "A1", 2)]
    assert created["expires_at"].startswith("2026-") or created["expires_at"]
    # Requesting refunds nothing and moves no stock.
    assert ok(client.get(f"/api/v1/orders/{number}"))["payment"]["refunded"] == "0.00"
    assert stock(client, "A1", "LON2") == (0, 0, 0, 0)

    # The two requested units are held: only one more of line 1 can be requested.
    too_many = _request(client, number, [(1, 2)])
    assert too_many.status_code == 409
    assert too_many.headers["content-type"].startswith("application/problem+json")
    assert too_many.json()["returnable"] == 1
    assert "open return request" in too_many.json()["detail"]
    assert _count_requests(container) == 1

    code = created["code"]
    listed = ok(client.get(f"/api/v1/orders/{number}/return-requests"))
    assert [r["code"] for r in listed] == [code]
    # The code is found however it is typed.
    loose = code.replace("-", " ").lower()
    assert ok(client.get(f"/api/v1/return-requests/{loose}"))["code"] == code

    received = ok(
        client.post(
            f"/api/v1/return-requests/{code}/receive",
            json={"location": "LON2", "lines": [{"line_no": 1, "condition": "sellable"}]},
        )
    )
    assert (received["status"], received["received_location"]) == ("received", "LON2")
    order = ok(client.get(f"/api/v1/orders/{number}"))
    assert order["lines"][0]["quantity_returned"] == 2
    assert order["payment"]["refunded"] == "40.00"
    assert stock(client, "A1", "LON2") == (2, 0, 0, 0)
    assert ledger_kinds(client, "A1", "LON2") == ["return_restock"]
    [refund] = event_data(container, "refunded")
    assert (refund["amount"], refund["location"], refund["return_id"]) == (
        "40.00",
        "LON2",
        received["return_id"],
    )
    assert refund["reason"] == "Wrong size or fit"

    again = client.post(f"/api/v1/return-requests/{code}/receive", json={"location": "LON1"})
    assert again.status_code == 409
    assert again.json()["detail"] == f"return request {code} is received"
    assert len(event_data(container, "refunded")) == 1
    assert stock(client, "A1", "LON1") == (0, 0, 0, 0)
    assert_verified(client)
    assert [e for e in order_events(container) if e.startswith(("return", "refunded"))] == [
        "return_requested",
        "refunded",
        "return_request_received",
    ]

    notices.deliver()
    subjects = [s for _, s in notices.subjects()]
    assert subjects[-2:] == [
        f"Your return code for order {number}: {code}",
        f"Refund of £40.00 for order {number}",
    ]
    mail = notices.emails()[-2]
    assert code in mail.text and "Bring the items to any of our stores" in mail.text
    assert "- 2 x Item A1" in mail.text
    assert f"/account/returns/{code}" in mail.text


def test_post_request_names_the_returns_desk_and_can_be_cancelled(container, client, clock):
    number = _delivered_order(container, client, quantity=1)
    created = ok(_request(client, number, [(1, 1), (2, 1)], method="post", reason="faulty"), 201)
    assert created["destination"] == {
        "code": "DC1",
        "name": "Midlands DC",
        "address": "Midlands DC, UK",
    }
    assert created["value"] == "55.50"
    assert _request(client, number, [(2, 1)]).status_code == 409  # held

    code = created["code"]
    cancelled = ok(client.post(f"/api/v1/return-requests/{code}/cancel"))
    assert cancelled["status"] == "cancelled"
    again = client.post(f"/api/v1/return-requests/{code}/cancel")
    assert (again.status_code, again.json()["detail"]) == (
        409,
        f"return request {code} is cancelled",
    )
    refused = client.post(f"/api/v1/return-requests/{code}/receive", json={"location": "DC1"})
    assert refused.status_code == 409
    assert stock(client, "A1", "DC1")[0] == 4
    # Cancelled units are free to request again.
    assert ok(_request(client, number, [(2, 1)]), 201)["status"] == "open"
    assert event_data(container, "refunded") == []
    assert [e for e in order_events(container) if e.startswith("return")] == [
        "return_requested",
        "return_request_cancelled",
        "return_requested",
    ]


def test_requests_expire_with_the_return_window(container, client, clock):
    number = _delivered_order(container, client, quantity=1)
    created = ok(_request(client, number, [(1, 1)], method="in_store"), 201)
    code = created["code"]
    clock.advance(days=31)
    assert ok(client.get(f"/api/v1/return-requests/{code}"))["status"] == "expired"
    late = client.post(f"/api/v1/return-requests/{code}/receive", json={"location": "LON2"})
    assert (late.status_code, late.json()["detail"]) == (
        409,
        f"return request {code} is expired",
    )
    assert stock(client, "A1", "LON2") == (0, 0, 0, 0)
    with container.uow() as uow:
        assert fulfilment.expire_return_requests(uow) == 1
    with container.uow() as uow:
        assert fulfilment.expire_return_requests(uow) == 0
    [expired] = event_data(container, "return_request_expired")
    assert (expired["code"], expired["order"]) == (code, number)
    # The window closed for the line, so no new request either.
    closed = _request(client, number, [(1, 1)])
    assert closed.status_code == 409 and "return window closed" in closed.json()["detail"]


def test_requests_outside_the_rules_are_refused_and_write_nothing(container, client):
    make_orders_network(container)
    receive(container, "A1", "DC1", 2)
    token = new_cart(client)
    ok(add(client, token, "A1", 1))
    order = ok(checkout(client, token), 201)
    number = order["number"]
    unshipped = _request(client, number, [(1, 1)])
    assert unshipped.status_code == 409
    assert unshipped.json()["type"].endswith("not-returnable")
    advance(client, order["fulfilments"][0]["id"], "accept", "pick", "pack", "ship", "deliver")
    assert _request(client, number, [(9, 1)]).status_code == 409
    assert _request(client, number, [(1, 1), (1, 1)]).status_code == 409
    assert _request(client, number, [(1, 1)], reason="bored").status_code == 422
    assert _request(client, number, [(1, 1)], method="drone").status_code == 422
    assert _request(client, number, [(1, 0)]).status_code == 422
    assert _request(client, "OR-NOPE", [(1, 1)]).status_code == 404
    missing = client.get("/api/v1/return-requests/R-0000-0000")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    assert _count_requests(container) == 0
    assert [e for e in order_events(container) if e.startswith("return")] == []

    created = ok(_request(client, number, [(1, 1)]), 201)
    wrong_line = client.post(
        f"/api/v1/return-requests/{created['code']}/receive",
        json={"location": "LON2", "lines": [{"line_no": 2, "condition": "damaged"}]},
    )
    assert wrong_line.status_code == 409
    nowhere = client.post(
        f"/api/v1/return-requests/{created['code']}/receive", json={"location": "MAN1"}
    )
    assert (nowhere.status_code, nowhere.json()["field"]) == (409, "location")
    # Neither attempt closed the request or moved anything.
    assert ok(client.get(f"/api/v1/return-requests/{created['code']}"))["status"] == "open"
    assert stock(client, "A1", "MAN1") == (0, 0, 0, 0)
    assert event_data(container, "refunded") == []


def _sign_in(client, username):
    r = client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_customers_on_their_own_orders_staff_at_their_own_store(container, client):
    own = make_customer(container, "Cara Customer", email="cara@example.com", verified=True)
    other = make_customer(container, "Vic Other", email="vic@example.com", verified=True)
    number = _delivered_order(container, client, quantity=2, customer_id=own)
    token = new_cart(client, customer_id=other)
    ok(add(client, token, "A1", 1))
    theirs = ok(checkout(client, token), 201)["number"]
    with container.uow() as uow:
        for username, store in (("asha", "LON1"), ("cam", "LON2")):
            auth.create_principal(
                uow,
                PrincipalCreate(
                    username=username,
                    role=Role.STORE_ASSOCIATE,
                    store_code=store,
                    password=PASSWORD,
                ),
            )
        for cid in (own, other):
            auth.create_principal(
                uow, PrincipalCreate(role=Role.CUSTOMER, customer_id=cid, password=PASSWORD)
            )
    cara = _sign_in(client, "cara@example.com")
    vic = _sign_in(client, "vic@example.com")

    # Another customer's order or request answers as an unknown one does, word for word.
    def as_unknown(response: Any, real: str, unknown: str, other: Any) -> None:
        assert response.status_code == 404, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert other.status_code == 404, other.text
        assert response.json()["detail"] == other.json()["detail"].replace(unknown, real)

    as_unknown(
        _request(client, theirs, [(1, 1)], headers=cara),
        theirs,
        "OR-NOSUCH",
        _request(client, "OR-NOSUCH", [(1, 1)], headers=cara),
    )
    created = ok(_request(client, number, [(1, 1)], headers=cara), 201)
    code = created["code"]
    assert ok(client.get(f"/api/v1/return-requests/{code}", headers=cara))["code"] == code
    for method, path in (
        ("GET", "/api/v1/return-requests/{}"),
        ("POST", "/api/v1/return-requests/{}/cancel"),
    ):
        as_unknown(
            client.request(method, path.format(code), headers=vic),
            code,
            "RR-NOSUCH",
            client.request(method, path.format("RR-NOSUCH"), headers=vic),
        )
    as_unknown(
        client.get(f"/api/v1/orders/{number}/return-requests", headers=vic),
        number,
        "OR-NOSUCH",
        client.get("/api/v1/orders/OR-NOSUCH/return-requests", headers=vic),
    )
    # Customers never receive (that refunds); an associate only at their own store.
    body = {"location": "LON2"}
    own_receipt = client.post(f"/api/v1/return-requests/{code}/receive", json=body, headers=cara)
    assert own_receipt.status_code == 403
    asha = _sign_in(client, "asha")
    elsewhere = client.post(f"/api/v1/return-requests/{code}/receive", json=body, headers=asha)
    assert elsewhere.status_code == 403
    assert ok(client.get(f"/api/v1/return-requests/{code}"))["status"] == "open"
    cam = _sign_in(client, "cam")
    received = ok(client.post(f"/api/v1/return-requests/{code}/receive", json=body, headers=cam))
    assert received["status"] == "received"
    assert stock(client, "A1", "LON2") == (1, 0, 0, 0)
    [refund] = event_data(container, "refunded")
    assert refund["location"] == "LON2"


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_parallel_requests_never_hold_more_than_is_returnable(container, client):
    number = _delivered_order(container, client, quantity=3)
    body = ReturnRequestCreate.model_validate(
        {"method": "in_store", "reason": "changed_mind", "lines": [{"line_no": 1, "quantity": 2}]}
    )
    window = container.settings.return_window_days
    barrier = threading.Barrier(4)
    outcomes: list[Any] = []

    def attempt() -> None:
        barrier.wait()
        try:
            with container.uow() as uow:
                made = fulfilment.request_return(
                    uow, number, body, window_days=window, actor="test"
                )
            outcomes.append(made.code)
        except DomainError as exc:
            outcomes.append(exc.slug)

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)

    assert sorted(o for o in outcomes if not CODE.match(o)) == ["not-returnable"] * 3, outcomes
    assert _count_requests(container) == 1
    [only] = ok(client.get(f"/api/v1/orders/{number}/return-requests"))
    assert only["lines"][0]["quantity"] == 2
