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
    "advance_due",
    "archive",
    "browse_sweep",
    "cancel_stock_alert",
    "cart_owner",
    "clicks_of",
    "create_journey",
    "create_message",
    "create_segment",
    "create_stock_alert",
    "delete_message",
    "delete_segment",
    "enter",
    "enter_many",
    "evaluate_customer",
    "follow_link",
    "get_journey",
    "get_message",
    "get_segment",
    "install_classic",
    "journey_figures",
    "journeys_sweep",
    "list_journeys",
    "list_messages",
    "list_segments",
    "mask_name",
    "members",
    "notify_back_in_stock",
    "pause",
    "personal_context",
    "preview",
    "price_changed",
    "publish",
    "queue_refresh",
    "recent_runs",
    "refresh",
    "refresh_batch",
    "render_for",
    "resume",
    "runs",
    "save_draft",
    "start_refresh",
    "stock_alerts",
    "unsubscribe",
    "unsubscribe_target",
    "update_message",
    "update_segment",
    "versions",
    "waiting_alert",
]
