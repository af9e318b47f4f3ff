"""Moved to ``customers.service.profile``: import these from ``customers.service``. This module
stays only for the console and ``api/customer_views.py`` until they do (then delete it)."""

from __future__ import annotations

from omniretail.customers.service.profile import (
    customer_360,
)

__all__ = [
    "customer_360",
]
