"""Wrong pickup codes at the counter are counted (a black-box probe: a wrong code was refused
but nothing counted, so a counter could guess on). Each code is counted as a try before it
is compared, in a transaction of its own; after five without the right one the code is
refused (423) until the store hands over with an override and a reason. Each test runs on
SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from omniretail.auth import service as auth
from omniretail.fulfilment import service as fulfilment
from omniretail.fulfilment.errors import PickupCodeLocked, WrongPickupCode
from omniretail.fulfilment.schemas import CollectBody
from tests.concurrency.test_no_oversell import parallel
from tests.orders.network import (
    add,
    advance,
    checkout,
    make_orders_network,
    new_cart,
    ok,
    receive,
    step,
    stock,
    waiting_code,
)


def _waiting(container, client):
    """A click & collect order ready at LON1: (fulfilment id, its code, a wrong code, the
    order's number)."""
    make_orders_network(container)
    receive(container, "A1", "LON1", 2)
    token = new_cart(client)
    ok(add(client, token, "A1", 1, location="LON1"))
    order = ok(checkout(client, token, "pickup_in_store", pickup="LON1"), 201)
    fid = order["fulfilments"][0]["id"]
    order = advance(client, fid, "accept", "pick", "pack", "ready")
    code = waiting_code(container, order)
    return fid, code, "000000" if code != "000000" else "111111", order["number"]


def _tries(container, fid):
    with container.engine.connect() as conn:
        return conn.execute(
            text("SELECT pickup_code_tries FROM fulfilments WHERE id = :f"), {"f": fid}
        ).scalar_one()


def test_five_wrong_codes_lock_the_code_until_an_override(container, client):
    fid, code, wrong, number = _waiting(container, client)
    for left in (4, 3, 2, 1, 0):
        refused = step(client, fid, "collect", {"pickup_code": wrong})
        assert refused.status_code == 409, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        problem = refused.json()
        assert problem["type"].endswith("/wrong-pickup-code")
        assert problem["tries_left"] == left
    assert "the code is refused from now on" in problem["detail"]
    assert _tries(container, fid) == 5

    # now even the right code is refused: the counter cannot tell it from a guess
    for attempt in (wrong, code):
        locked = step(client, fid, "collect", {"pickup_code": attempt})
        assert locked.status_code == 423, locked.text
        assert locked.headers["content-type"].startswith("application/problem+json")
        assert locked.json()["type"].endswith("/pickup-code-locked")
        assert "hand over with an override and a reason" in locked.json()["detail"]
    assert _tries(container, fid) == 5  # refused tries are not counted past the limit
    assert stock(client, "A1", "LON1") == (2, 0, 1, 0)  # nothing handed over
    [f] = ok(client.get(f"/api/v1/orders/{number}"))["fulfilments"]
    assert (f["status"], f["pickup_code_tries"], f["pickup_code_tries_left"]) == (
        "ready_for_pickup",
        5,
        0,
    )

    # the store's override with a reason (after an ID check) hands it over, logged
    done = ok(step(client, fid, "collect", {"override_reason": "ID checked: passport"}))
    assert done["status"] == "completed"
    assert stock(client, "A1", "LON1") == (1, 0, 0, 0)
    log = ok(client.get(f"/api/v1/orders/{done['number']}/log"))
    assert [e["detail"] for e in log if e["action"] == "handover_override"] == [
        {"override": True, "reason": "ID checked: passport"}
    ]
    # every try was audited (the try's own transaction holds the row)
    with container.read_uow() as uow:
        audited = auth.list_audit(uow, area="fulfilments", limit=50)
    collects = [a for a in audited if a.action == "POST /fulfilments/{fid}/collect"]
    assert len(collects) == 6  # five wrong tries and the override; the refused ones none


def test_a_right_code_within_the_tries_hands_over(container, client):
    fid, code, wrong, _number = _waiting(container, client)
    for _ in range(4):
        assert step(client, fid, "collect", {"pickup_code": wrong}).status_code == 409
    order = ok(step(client, fid, "collect", {"pickup_code": code}))
    assert order["status"] == "completed"
    assert order["fulfilments"][0]["pickup_code_tries"] == 5
    assert order["fulfilments"][0]["pickup_code_tries_left"] is None  # no longer waiting


def test_the_tries_left_are_on_the_order(container, client):
    fid, _code, wrong, number = _waiting(container, client)
    [f] = ok(client.get(f"/api/v1/orders/{number}"))["fulfilments"]
    assert (f["pickup_code_tries"], f["pickup_code_tries_left"]) == (0, 5)
    step(client, fid, "collect", {"pickup_code": wrong})
    [f] = ok(client.get(f"/api/v1/orders/{number}"))["fulfilments"]
    assert (f["pickup_code_tries"], f["pickup_code_tries_left"]) == (1, 4)


@pytest.mark.parametrize("backend", ["postgres"])
def test_parallel_wrong_codes_never_get_more_than_five_tries(container, client):
    """Twelve wrong codes at once: five are compared (and refused as wrong), the others are
    refused unseen; the count stops at five."""
    fid, _code, wrong, _number = _waiting(container, client)
    body = CollectBody(pickup_code=wrong)

    def attempt(_i: int) -> str:
        try:
            with container.uow() as uow:
                fulfilment.try_pickup_code(uow, fid)
            with container.uow() as uow:
                fulfilment.collect(uow, fid, body, actor="store_associate:asha", tried=True)
        except WrongPickupCode:
            return "wrong"
        except PickupCodeLocked:
            return "locked"
        return "collected"

    answers = parallel(12, attempt)
    assert (answers.count("wrong"), answers.count("locked")) == (5, 7)
    assert _tries(container, fid) == 5
