"""Templates ship inside the package, so each Jinja environment that loads them reads a
template's file once: no stat of it on every render (Jinja's ``auto_reload``, on by default,
checks the file's time before each use)."""

from __future__ import annotations

import os

import pytest

from omniretail.fulfilment import web as fulfilment_web
from omniretail.marketing import messages_rendering
from omniretail.notifications import rendering as notifications
from omniretail.web import rendering as console

ENVIRONMENTS = {
    "console": console.environment,
    "notifications": notifications.environment,
    "tracking": fulfilment_web.environment,
    "marketing layout": messages_rendering._layout,
}


@pytest.mark.parametrize("name", sorted(ENVIRONMENTS))
def test_a_package_template_is_not_checked_for_changes_on_every_use(name):
    assert ENVIRONMENTS[name]().auto_reload is False


def test_a_notification_renders_without_touching_its_files_again(monkeypatch):
    context = {
        "order_number": "OR-1",
        "customer_name": "Ann",
        "items": [{"sku": "A1", "name": "Mug", "quantity": 1, "price": "12.50"}],
        "total": "12.50",
        "currency": "GBP",
    }
    first = notifications.render("order_confirmed", "email", context)
    looked = []
    real = os.path.getmtime
    monkeypatch.setattr(os.path, "getmtime", lambda path: looked.append(path) or real(path))
    assert notifications.render("order_confirmed", "email", context) == first
    assert looked == []
