"""Marketing's HTTP routes, mounted by ``app.py``: ``router`` under the API (segments,
messages) and ``links_router`` outside it (tracked links and unsubscribe: the signed token is
the credential)."""

from __future__ import annotations

from fastapi import APIRouter

from omniretail.marketing.journeys_api import classics_router
from omniretail.marketing.journeys_api import router as journeys_router
from omniretail.marketing.messages_api import links_router
from omniretail.marketing.messages_api import router as messages_router
from omniretail.marketing.results_api import router as results_router
from omniretail.marketing.segments_api import router as segments_router
from omniretail.marketing.sending_api import router as sending_router
from omniretail.marketing.triggers_api import router as triggers_router

router = APIRouter()
router.include_router(segments_router)
router.include_router(messages_router)
router.include_router(triggers_router)
router.include_router(journeys_router)
router.include_router(classics_router)
router.include_router(results_router)
router.include_router(sending_router)

__all__ = ["links_router", "router"]
