"""Marketing use cases (the package's face)."""

from __future__ import annotations

from omniretail.marketing.segments import (
    cart_owner,
    create_segment,
    delete_segment,
    evaluate_customer,
    get_segment,
    list_segments,
    mask_name,
    members,
    preview,
    refresh,
    refresh_batch,
    update_segment,
)

__all__ = [
    "cart_owner",
    "create_segment",
    "delete_segment",
    "evaluate_customer",
    "get_segment",
    "list_segments",
    "mask_name",
    "members",
    "preview",
    "refresh",
    "refresh_batch",
    "update_segment",
]
