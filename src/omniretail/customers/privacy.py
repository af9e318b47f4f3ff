"""Moved to ``customers.service.privacy``: import these from ``customers.service``. This module
stays only for the console and ``api/customer_views.py`` until they do (then delete it)."""

from __future__ import annotations

from omniretail.customers.service.privacy import (
    erase_customer,
    export_personal_data,
    privacy_log,
)

__all__ = [
    "erase_customer",
    "export_personal_data",
    "privacy_log",
]
