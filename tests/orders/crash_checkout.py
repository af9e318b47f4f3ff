"""A checkout in a process of its own that kills itself (SIGKILL) at a chosen step; run by
``test_payment_crash.py``. The provider records its authorisations in a JSON file, so a sweep
in the test's process can ask it by idempotency key after the crash.

    python tests/orders/crash_checkout.py <database url> <schema> <cart token> <step> <ledger>

``step``: ``after_begin`` (transaction 1 committed, the provider not asked), ``after_authorise``
(the provider approved, transaction 2 not run), ``none`` (the checkout completes)."""

from __future__ import annotations

import json
import os
import signal
import sys
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from omniretail.bootstrap import build_container
from omniretail.orders import service as orders
from omniretail.orders.payments import Authorisation, TestPaymentProvider
from omniretail.orders.schemas import CheckoutCreate
from omniretail.routing.service import policy_from
from omniretail.settings import Settings


class FileProvider(TestPaymentProvider):
    __test__ = False

    def __init__(self, ledger: Path, step: str) -> None:
        super().__init__()
        self.ledger, self.step = ledger, step

    def authorise(self, token: str, amount: Decimal, currency: str, *, key: str) -> Authorisation:
        auth = super().authorise(token, amount, currency, key=key)
        self.ledger.write_text(json.dumps({key: [auth.reference, str(auth.amount)]}))
        if self.step == "after_authorise":
            os.kill(os.getpid(), signal.SIGKILL)
        return auth


def main() -> None:
    url, schema, token, step, ledger = sys.argv[1:6]
    container = build_container(
        Settings(database_url=url, database_schema=schema or None, db_pool_size=5)
    )
    provider = FileProvider(Path(ledger), step)
    run = orders.in_transaction(container.uow)

    def begin(fn: Any) -> Any:
        pending = run(fn)
        if step == "after_begin":
            os.kill(os.getpid(), signal.SIGKILL)
        return pending

    order = orders.checkout_paid(
        token,
        CheckoutCreate.model_validate(
            {
                "fulfilment": {"method": "ship_to_home", "latitude": 51.545, "longitude": -0.15},
                "payment": {"provider_token": "tok_visa"},
            }
        ),
        begin=begin,
        settle=run,
        payments=provider,
        policy=policy_from(container.settings),
        actor="crash-test",
        ttl=timedelta(seconds=120),
    )
    print(order.number)


if __name__ == "__main__":
    main()
