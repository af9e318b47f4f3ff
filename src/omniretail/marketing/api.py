"""Marketing's HTTP routes, mounted by ``app.py``."""

from __future__ import annotations

# --- messages ------------------------------------------------------------------------------
from omniretail.marketing.messages_api import links_router as messages_links_router
from omniretail.marketing.messages_api import router as messages_router

__all__ = ["messages_links_router", "messages_router"]
