"""Captures, voids and refunds are recorded with the change and carried out after commit by the
outbox relay, with the instruction's event id as the provider's idempotency key."""

from __future__ import annotations

from decimal import Decimal

import pytest

from omniretail.db.outbox import list_events
from omniretail.fulfilment import service as fulfilment
from omniretail.fulfilment.schemas import ShipBody
from omniretail.messaging import service as messaging
from omniretail.orders.service import PAYMENT_HANDLER as HANDLER
from omniretail.orders.service import ProviderTimeout, TestPaymentProvider
from tests.orders.network import (
    add,
    advance,
    checkout,
    make_orders_network,
    new_cart,
    ok,
    payment_instructions,
    receive,
    stock,
)


def _packed_order(container, client, quantity=2):
    make_orders_network(container)
    receive(container, "A1", "DC1", 5)
    token = new_cart(client)
    ok(add(client, token, "A1", quantity))
    order = ok(checkout(client, token), 201)
    fid = order["fulfilments"][0]["id"]
    advance(client, fid, "accept", "pick", "pack")
    return order, fid


def _authorisation(container):
    [auth] = container.payments.authorisations.values()
    return auth


def _log_actions(client, number):
    return [e["action"] for e in ok(client.get(f"/api/v1/orders/{number}/log"))]


class FlakyProvider(TestPaymentProvider):
    """Captures fail while ``down`` is set."""

    __test__ = False
    down: bool = True

    def capture(self, reference: str, amount: Decimal, *, key: str) -> None:
        if self.down:
            raise ProviderTimeout("the provider did not answer (test)")
        super().capture(reference, amount, key=key)


def test_the_capture_happens_only_after_commit(container, client):
    order, fid = _packed_order(container, client)

    class Boom(Exception):
        pass

    with pytest.raises(Boom), container.uow() as uow:
        fulfilment.ship(uow, fid, ShipBody(carrier="DPD"), actor="test")
        raise Boom  # the transaction fails after the capture was requested
    container.relay().run_until_idle()
    assert _authorisation(container).captured == 0
    assert payment_instructions(container) == []
    assert stock(client, "A1", "DC1") == (5, 0, 2, 0)

    shipped = ok(client.post(f"/api/v1/fulfilments/{fid}/ship", json={"carrier": "DPD"}))
    assert shipped["payment"]["captured"] == "40.00"  # recorded with the shipment...
    assert [(p["action"], p["amount"]) for p in shipped["payment"]["pending"]] == [
        ("capture", "40.00")
    ]
    assert _authorisation(container).captured == 0  # ...carried out after commit
    container.relay().run_until_idle()
    assert _authorisation(container).captured == Decimal("40.00")
    after = ok(client.get(f"/api/v1/orders/{order['number']}"))
    assert after["payment"]["pending"] == []
    assert _log_actions(client, order["number"])[-2:] == ["payment_requested", "payment_confirmed"]


def test_a_replayed_delivery_captures_once(container, client):
    order, fid = _packed_order(container, client)
    ok(client.post(f"/api/v1/fulfilments/{fid}/ship", json={}))
    container.relay().run_until_idle()
    with container.read_uow() as uow:
        [message] = list_events(uow.session, type_prefix="omniretail.orders.payment_")
        event = message.as_cloud_event()
    handler = container.handlers.resolve(HANDLER)
    handler(event, container.uow)  # the relay died after the effect: delivered again
    handler(event, container.uow)

    auth = _authorisation(container)
    assert auth.captured == Decimal("40.00")
    assert container.payments.instructions == {
        event["id"]: ("capture", auth.reference, Decimal("40.00"))
    }
    assert _log_actions(client, order["number"]).count("payment_confirmed") == 1


def test_a_failing_provider_is_retried_then_dead_lettered_and_replayed(container, client, clock):
    provider = FlakyProvider()
    container.payments = provider
    container.settings.relay_max_attempts = 3
    order, fid = _packed_order(container, client)
    ok(client.post(f"/api/v1/fulfilments/{fid}/ship", json={}))
    relay = container.relay()

    first = relay.run_until_idle()
    assert (first.retried, first.dead) == (1, 0)
    clock.advance(seconds=relay.policy.longest_delay(1).total_seconds() + 1)
    assert relay.run_until_idle().retried == 1
    clock.advance(seconds=relay.policy.longest_delay(2).total_seconds() + 1)
    assert relay.run_until_idle().dead == 1
    assert _authorisation(container).captured == 0
    with container.read_uow() as uow:
        [dead] = messaging.list_dead_letters(uow, handler_prefix=HANDLER)
    assert (dead.attempts, dead.last_error) == (
        3,
        "ProviderTimeout: the provider did not answer (test)",
    )
    pending = ok(client.get(f"/api/v1/orders/{order['number']}"))["payment"]["pending"]
    assert [(p["action"], p["amount"]) for p in pending] == [("capture", "40.00")]

    provider.down = False
    with container.uow() as uow:
        messaging.replay_delivery(uow, dead.id, actor="test")
    assert relay.run_until_idle().delivered == 1
    assert _authorisation(container).captured == Decimal("40.00")
    assert ok(client.get(f"/api/v1/orders/{order['number']}"))["payment"]["pending"] == []
