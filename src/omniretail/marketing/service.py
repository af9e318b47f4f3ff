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
    "REFRESH_JOB",
    "SendRequest",
    "attributes",
    "cards",
    "cart_owner",
    "clicks_of",
    "create_message",
    "create_segment",
    "delete_message",
    "delete_segment",
    "deliver_due",
    "dismiss",
    "evaluate_customer",
    "follow_link",
    "get_message",
    "get_policy",
    "get_segment",
    "get_send",
    "list_messages",
    "list_segments",
    "list_sends",
    "list_suppressions",
    "mark_seen",
    "mask_name",
    "members",
    "personal_context",
    "preview",
    "put_policy",
    "queue_refresh",
    "queue_sends",
    "refresh",
    "refresh_batch",
    "render_for",
    "set_attribute",
    "start_refresh",
    "suppress",
    "take_receipt_lines",
    "unsubscribe",
    "unsubscribe_target",
    "unsuppress",
    "update_message",
    "update_segment",
]
