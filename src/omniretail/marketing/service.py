"""Marketing use cases (the package's face)."""

from __future__ import annotations

# --- messages ------------------------------------------------------------------------------
from omniretail.marketing.messages import (
    clicks_of,
    create_message,
    delete_message,
    follow_link,
    get_message,
    list_messages,
    personal_context,
    render_for,
    unsubscribe,
    unsubscribe_target,
    update_message,
)

# --- segments
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

# --- sending
from omniretail.marketing.sending import (
    SendRequest,
    attributes,
    get_send,
    list_sends,
    queue_sends,
    set_attribute,
)
from omniretail.marketing.sending_cards import cards, dismiss, mark_seen, take_receipt_lines
from omniretail.marketing.sending_delivery import deliver_due
from omniretail.marketing.sending_policy import (
    get_policy,
    list_suppressions,
    put_policy,
    suppress,
    unsuppress,
)

__all__ = [
    "SendRequest",
    "attributes",
    "cards",
    "deliver_due",
    "dismiss",
    "get_policy",
    "get_send",
    "list_sends",
    "list_suppressions",
    "mark_seen",
    "put_policy",
    "queue_sends",
    "set_attribute",
    "suppress",
    "take_receipt_lines",
    "unsuppress",
    "REFRESH_JOB",
    "cart_owner",
    "clicks_of",
    "create_message",
    "create_segment",
    "delete_message",
    "delete_segment",
    "evaluate_customer",
    "follow_link",
    "get_message",
    "get_segment",
    "list_messages",
    "list_segments",
    "mask_name",
    "members",
    "personal_context",
    "preview",
    "queue_refresh",
    "refresh",
    "refresh_batch",
    "render_for",
    "start_refresh",
    "unsubscribe",
    "unsubscribe_target",
    "update_message",
    "update_segment",
]
