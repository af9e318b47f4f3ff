"""Marketing use cases (the package's face)."""

from __future__ import annotations

# --- journeys
from omniretail.marketing.journeys import (
    archive,
    create_journey,
    enter,
    enter_many,
    get_journey,
    list_journeys,
    pause,
    publish,
    resume,
    runs,
    save_draft,
    versions,
)
from omniretail.marketing.journeys_classics import CLASSICS, install_classic
from omniretail.marketing.journeys_engine import advance_due
from omniretail.marketing.journeys_figures import journey_figures, recent_runs
from omniretail.marketing.journeys_triggers import TRIGGER_EVENTS, journeys_sweep

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

# --- privacy (GDPR export and erasure)
from omniretail.marketing.privacy import forget_customers, personal_data

# --- results
from omniretail.marketing.results import journey_results

# --- segments
from omniretail.marketing.segments import (
    REFRESH_JOB,
    cart_owner,
    cart_owners,
    create_segment,
    delete_segment,
    evaluate_customer,
    evaluate_customers,
    get_segment,
    last_refresh_job,
    list_segments,
    mask_name,
    members,
    preview,
    queue_refresh,
    refresh,
    refresh_batch,
    refresh_segment,
    start_refresh,
    update_segment,
)

# --- sending
from omniretail.marketing.sending import (
    SendRequest,
    attributes,
    count_sends,
    get_send,
    list_sends,
    local_due,
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

# --- retail triggers
from omniretail.marketing.triggers import (
    browse_sweep,
    cancel_stock_alert,
    create_stock_alert,
    notify_back_in_stock,
    price_changed,
    stock_alerts,
    waiting_alert,
)

__all__ = [
    "CLASSICS",
    "REFRESH_JOB",
    "TRIGGER_EVENTS",
    "SendRequest",
    "advance_due",
    "archive",
    "attributes",
    "browse_sweep",
    "cancel_stock_alert",
    "cards",
    "cart_owner",
    "cart_owners",
    "clicks_of",
    "count_sends",
    "create_journey",
    "create_message",
    "create_segment",
    "create_stock_alert",
    "delete_message",
    "delete_segment",
    "deliver_due",
    "dismiss",
    "enter",
    "enter_many",
    "evaluate_customer",
    "evaluate_customers",
    "follow_link",
    "forget_customers",
    "get_journey",
    "get_message",
    "get_policy",
    "get_segment",
    "get_send",
    "install_classic",
    "journey_figures",
    "journey_results",
    "journeys_sweep",
    "last_refresh_job",
    "list_journeys",
    "list_messages",
    "list_segments",
    "list_sends",
    "list_suppressions",
    "local_due",
    "mark_seen",
    "mask_name",
    "members",
    "notify_back_in_stock",
    "pause",
    "personal_context",
    "personal_data",
    "preview",
    "price_changed",
    "publish",
    "put_policy",
    "queue_refresh",
    "queue_sends",
    "recent_runs",
    "refresh",
    "refresh_batch",
    "refresh_segment",
    "render_for",
    "resume",
    "runs",
    "save_draft",
    "set_attribute",
    "start_refresh",
    "stock_alerts",
    "suppress",
    "take_receipt_lines",
    "unsubscribe",
    "unsubscribe_target",
    "unsuppress",
    "update_message",
    "update_segment",
    "versions",
    "waiting_alert",
]
