"""The server sweeps pickups periodically: uncollected orders go back to stock by themselves."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient

from omniretail.app import create_app
from omniretail.fulfilment.schemas import SweepReport
from omniretail.fulfilment.tasks import sweep_pickups_once
from omniretail.routing.service import policy_from
from tests.conftest import admin_api_key
from tests.drain import drain
from tests.orders.network import (
    add,
    advance,
    checkout,
    event_data,
    make_orders_network,
    new_cart,
    ok,
    receive,
    stock,
)


def _ready_pickup(client: TestClient) -> dict:
    token = new_cart(client)
    ok(add(client, token, "A1", 1, location="LON1"))
    order = ok(checkout(client, token, "pickup_in_store", pickup="LON1"), 201)
    advance(client, order["fulfilments"][0]["id"], "accept", "pick", "pack", "ready")
    return order


def test_the_server_returns_uncollected_orders_to_stock(container, client, clock):
    make_orders_network(container)
    receive(container, "A1", "LON1", 2)
    order = _ready_pickup(client)
    clock.advance(days=7, minutes=1)  # past pickup_hold_days
    # The test app (background tasks off) does not sweep: the order waits past its deadline.
    assert ok(client.get(f"/api/v1/orders/{order['number']}"))["status"] == "ready_for_pickup"
    container.settings.pickup_sweep_interval_seconds = 0.05
    app = create_app(
        container, background_sweep=True, background_relay=False, background_intelligence=False
    )

    with TestClient(app, headers={"X-API-Key": admin_api_key(container)}) as server:
        deadline = time.monotonic() + 10
        while True:
            status = ok(server.get(f"/api/v1/orders/{order['number']}"))["status"]
            if status != "ready_for_pickup":
                break
            assert time.monotonic() < deadline, "the pickup sweep never ran"
            time.sleep(0.05)

    # Another round finds nothing to do: nothing happens twice.
    again = sweep_pickups_once(container.uow, policy_from(container.settings))
    drain(container)
    assert again == SweepReport(reminded=0, returned_to_stock=0)
    assert status == "returned_to_stock"
    [cancelled] = event_data(container, "cancelled")
    assert cancelled["reason"] == "not collected within 7 days"
    assert stock(client, "A1", "LON1") == (2, 0, 0, 0)
