"""Moved to ``loyalty.service.rewards``; import these from ``loyalty.service``. This module
stays only for ``api/customer_views.py`` until it moves to ``processes``."""

from __future__ import annotations

from omniretail.loyalty.service.rewards import (
    award_birthday_coupons,
    birthdays_on,
    recompute_balances,
    settle_unmerge,
)

__all__ = ["award_birthday_coupons", "birthdays_on", "recompute_balances", "settle_unmerge"]
