"""Marketing use cases (the package's face)."""

from __future__ import annotations

from omniretail.marketing.segments import (
    REFRESH_JOB,
    cart_owner,
    create_segment,
    delete_segment,
    evaluate_customer,
    get_segment,
    list_segments,
    mask_name,
    members,
    preview,
    queue_refresh,
    refresh,
    refresh_batch,
    start_refresh,
    update_segment,
)

__all__ = [
    "REFRESH_JOB",
    "cart_owner",
    "create_segment",
    "delete_segment",
    "evaluate_customer",
    "get_segment",
    "list_segments",
    "mask_name",
    "members",
    "preview",
    "queue_refresh",
    "refresh",
    "refresh_batch",
    "start_refresh",
    "update_segment",
]
