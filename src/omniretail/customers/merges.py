"""Moved to ``customers.service.merges``: import these from ``customers.service``. This module
stays only for the console and ``api/customer_views.py`` until they do (then delete it)."""

from __future__ import annotations

from omniretail.customers.service.merges import (
    decide_review,
    get_merge,
    list_merges,
    list_reviews,
    merge_customers,
    merge_read,
    review_read,
    undo_merge,
)

__all__ = [
    "decide_review",
    "get_merge",
    "list_merges",
    "list_reviews",
    "merge_customers",
    "merge_read",
    "review_read",
    "undo_merge",
]
