"""A card sale at the till holds no transaction and no connection while the card terminal
answers: no pooled connection is checked out, another change of the same store's stock goes
through meanwhile (SQLite's one writer is free), and the sale still completes."""

from __future__ import annotations

import threading
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient

from omniretail.bootstrap import Container
from omniretail.inventory import service as inventory
from omniretail.inventory.schemas import StockChange
from omniretail.orders.service import Authorisation, TestPaymentProvider
from tests.web.conftest import sign_in
from tests.web.seed import ASSOCIATE
from tests.web.test_till import _number, _on_hand, _pay, _ring_up


def test_the_till_holds_no_lock_while_the_card_terminal_answers(
    web: TestClient, container: Container, payments: TestPaymentProvider, monkeypatch: Any
) -> None:
    inside, gate = threading.Event(), threading.Event()
    authorise = payments.authorise

    def gated(token: str, amount: Decimal, currency: str, *, key: str) -> Authorisation:
        inside.set()
        assert gate.wait(60), "the gate was never opened"
        return authorise(token, amount, currency, key=key)

    monkeypatch.setattr(payments, "authorise", gated)
    sign_in(web, ASSOCIATE)
    url = _ring_up(web, ["B2"], customer=False)
    before = _on_hand(container, "B2", "LON1")
    answers: list[Any] = []
    sale = threading.Thread(
        target=lambda: answers.append(_pay(web, url, method="card", provider_token="tok_till"))
    )
    sale.start()
    try:
        assert inside.wait(60), "the sale never reached the card terminal"
        connections_held = container.engine.pool.checkedout()  # type: ignore[attr-defined]

        def receive() -> None:
            with container.uow() as uow:
                inventory.receive_stock(
                    uow, StockChange(sku="B2", location="LON1", quantity=5), actor="test"
                )

        delivery = threading.Thread(target=receive)
        delivery.start()
        delivery.join(20)  # the old design waits here until the terminal answers
        received_while_paying = not delivery.is_alive()
    finally:
        gate.set()
        sale.join(60)
    delivery.join(60)

    assert connections_held == 0
    assert received_while_paying
    _number(answers[0])  # the sale went through: a receipt
    assert _on_hand(container, "B2", "LON1") == before + 5 - 1
