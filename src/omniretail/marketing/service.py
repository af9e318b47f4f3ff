"""Marketing's use cases; import them from here."""

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

__all__ = [
    "clicks_of",
    "create_message",
    "delete_message",
    "follow_link",
    "get_message",
    "list_messages",
    "personal_context",
    "render_for",
    "unsubscribe",
    "unsubscribe_target",
    "update_message",
]
