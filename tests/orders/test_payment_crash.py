"""kill -9 at each step of a checkout (``crash_checkout.py`` in a subprocess, on the test's
database, SQLite or PostgreSQL): afterwards the sweep leaves no stock held for ever, no money
taken without an order and no order without its authorisation."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from omniretail.orders import service as orders
from omniretail.orders.models import Order, PaymentAttempt
from omniretail.orders.payments import Authorisation, TestPaymentProvider
from tests.conftest import TEST_SECRET_KEY
from tests.orders.network import add, make_orders_network, new_cart, ok, receive, stock

SCRIPT = Path(__file__).with_name("crash_checkout.py")
ROOT = Path(__file__).resolve().parents[2]


class LedgerProvider(TestPaymentProvider):
    """Answers ``lookup`` from the crashed process's ledger file."""

    __test__ = False

    def __init__(self, ledger: Path) -> None:
        super().__init__()
        self.ledger = ledger

    def lookup(self, *, key: str) -> Authorisation | None:
        found = json.loads(self.ledger.read_text()) if self.ledger.exists() else {}
        if key not in found:
            return None
        reference, amount = found[key]
        return Authorisation(reference, Decimal(amount))


def crash(container, token: str, step: str, ledger: Path) -> subprocess.CompletedProcess[str]:
    settings = container.settings
    env = {
        **os.environ,
        "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}",
        "OMNIRETAIL_SECRET_KEY": TEST_SECRET_KEY,
        "OMNIRETAIL_DATA_DIR": str(settings.data_dir),
    }
    args = [
        sys.executable,
        str(SCRIPT),
        settings.resolved_database_url(),
        settings.database_schema or "",
        token,
        step,
        str(ledger),
    ]
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=120)


def rows(container) -> tuple[list[str], list[str]]:
    with container.read_uow() as uow:
        return (
            list(uow.session.scalars(select(Order.status))),
            list(uow.session.scalars(select(PaymentAttempt.status))),
        )


@pytest.mark.parametrize("step", ["after_begin", "after_authorise", "none"])
def test_kill_9_at_each_step_of_a_checkout(container, client, clock, tmp_path, step):
    clock.current = datetime.now(UTC)  # the subprocess has the real clock
    make_orders_network(container)
    receive(container, "A1", "DC1", 3)
    token = new_cart(client)
    ok(add(client, token, "A1", 2))
    ledger = tmp_path / "provider.json"

    done = crash(container, token, step, ledger)
    if step == "none":
        assert done.returncode == 0, done.stderr
    else:
        assert done.returncode == -signal.SIGKILL, done.stderr
    assert stock(client, "A1", "DC1") == (3, 0, 2, 0)  # allocated at every step
    orders_after, attempts_after = rows(container)
    expected_now = {
        "after_begin": (["awaiting_payment"], ["pending"]),
        "after_authorise": (["awaiting_payment"], ["pending"]),
        "none": (["confirmed"], ["authorised"]),
    }[step]
    assert (orders_after, attempts_after) == expected_now

    clock.current = datetime.now(UTC) + timedelta(seconds=121)  # past the allocation's expiry
    provider = LedgerProvider(ledger)
    report = orders.sweep_payment_attempts(container.uow, provider, actor="test")
    authorised = json.loads(ledger.read_text()) if ledger.exists() else {}
    if step == "after_begin":
        assert report == orders.PaymentSweep(released=1)
        assert authorised == {}  # never asked: no money
        assert stock(client, "A1", "DC1") == (3, 0, 0, 0)
        assert rows(container) == ([], ["failed"])
    elif step == "after_authorise":
        assert report == orders.PaymentSweep(confirmed=1)  # money taken -> the order stands
        [(key, (reference, _amount))] = authorised.items()
        with container.read_uow() as uow:
            order = uow.session.scalars(select(Order)).one()
            attempt = uow.session.get(PaymentAttempt, key)
        assert order.payment_reference == reference and attempt is not None
        assert stock(client, "A1", "DC1") == (3, 0, 2, 0)
        assert rows(container) == (["confirmed"], ["authorised"])
    else:
        assert report == orders.PaymentSweep()
        assert rows(container) == (["confirmed"], ["authorised"])
